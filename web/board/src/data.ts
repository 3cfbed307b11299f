// Fills the board from one call: the transparency report (GET /v1/transparencyReport), which
// the gateway assembles from the three services and caches briefly, so it is cheap enough for a
// landing page. A part whose service did not answer comes back marked unavailable; the board
// shows that part as such and the rest as usual.
import type { GuildhallClient, Schemas, Status } from "@guildhall/client";
import type { Board, Decision, Part } from "./model";

const UNAVAILABLE = "its service did not answer";

function part<T>(p: { availability?: Schemas["Availability"] } | null | undefined, value: () => T): Part<T> {
  if (p?.availability !== "AVAILABILITY_AVAILABLE") return { ok: false, message: UNAVAILABLE };
  return { ok: true, value: value() };
}

const decision = (p: Schemas["ProposalSummary"]): Decision => ({
  name: p.name ?? "",
  question: p.question ?? "",
  closeTime: p.closeTime ?? "",
  outcome: p.outcome ?? "",
});

/** Reads the report; throws when there is none at all (every service down, or no network). */
export async function load(api: GuildhallClient): Promise<Board> {
  const { data, error, response } = await api.GET("/v1/transparencyReport");
  if (!data) {
    const msg = (error as Status | undefined)?.message;
    throw new Error(msg ? `${response.status}: ${msg}` : `HTTP ${response.status}`);
  }
  const { roadmap: r, money: m, roster, vacancies: v, volunteers, packages, decisions: d } = data;
  return {
    roadmap: part(r, () => ({
      now: r?.now ?? [],
      next: r?.next ?? [],
      later: r?.later ?? [],
      counts: { now: r?.nowCount ?? 0, next: r?.nextCount ?? 0, later: r?.laterCount ?? 0 },
      releases: r?.releases ?? [],
    })),
    money: part(m, () =>
      (m?.currencies ?? []).map((c) => ({
        currencyCode: c.currencyCode ?? "",
        months: (c.months ?? []).map((x) => ({ month: x.month ?? "", income: x.income ?? "0", costs: x.costs ?? "0" })),
        cash: c.cash ?? "0",
        runwayMonths: c.runwayMonths ?? null,
      })),
    ),
    goals: part(m, () => m?.goals ?? []),
    teams: part(roster, () =>
      (roster?.teams ?? []).map((t) => ({
        name: t.team ?? "",
        displayName: t.displayName ?? "",
        memberCount: t.memberCount ?? 0,
        leads: (t.leads ?? []).map((l) => l.displayName || l.person || ""),
      })),
    ),
    vacancies: part(v, () => ({ positions: v?.positions ?? [], openCount: v?.openCount ?? 0 })),
    volunteers: part(volunteers, () => volunteers?.stats ?? {}),
    packages: part(packages, () => ({
      seekingMaintainer: packages?.seekingMaintainer ?? [],
      count: packages?.seekingMaintainerCount ?? 0,
    })),
    decisions: part(d, () => ({ open: (d?.open ?? []).map(decision), decided: (d?.decided ?? []).map(decision) })),
  };
}
