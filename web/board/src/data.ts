// Fills the board from the public API through the typed client. Each part loads on its own: a
// part that fails is shown as unavailable and the rest of the board still renders.
import type { GuildhallClient, Schemas, Status } from "@guildhall/client";
import { last12Months } from "./format";
import type { Board, CurrencyMoney, Decision, Item, Part } from "./model";

function need<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data !== undefined) return r.data;
  const msg = (r.error as Status | undefined)?.message;
  throw new Error(msg ? `${r.response.status}: ${msg}` : `HTTP ${r.response.status}`);
}

async function part<T>(load: () => Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, value: await load() };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}

/** Follows next_page_token; the lists the board reads are short, so 20 pages is a generous bound. */
async function all<T>(page: (token: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
  const out: T[] = [];
  let token = "";
  for (let i = 0; i < 20; i++) {
    const p = await page(token);
    out.push(...p.items);
    if (!p.next) break;
    token = p.next;
  }
  return out;
}

const DAY = 24 * 60 * 60 * 1000;

/** Months of monthly reports → per-currency series, every currency over every month. */
export function perCurrency(reports: Schemas["MonthlyReport"][]): CurrencyMoney[] {
  const codes = [...new Set(reports.flatMap((r) => (r.currencies ?? []).map((c) => c.currencyCode ?? "")))].sort();
  const last = reports[reports.length - 1];
  return codes.map((code) => {
    const now = last?.currencies?.find((c) => c.currencyCode === code);
    return {
      currencyCode: code,
      months: reports.map((r) => {
        const c = r.currencies?.find((x) => x.currencyCode === code);
        return { month: r.month ?? "", income: c?.incomeTotal ?? "0", costs: c?.expenseTotal ?? "0" };
      }),
      cash: now?.cash ?? "0",
      runwayMonths: now?.runwayMonths ?? null,
    };
  });
}

export async function load(api: GuildhallClient, now = new Date()): Promise<Board> {
  const [from, to] = last12Months(now);
  const [roadmap, money, goals, teams, vacancies, decisions] = await Promise.all([
    part(async () => {
      const r = need(await api.GET("/v1/roadmap", { params: { query: { hideEndOfLife: true } } }));
      const byName = new Map<string, Item>();
      for (const rel of r.releases ?? []) for (const it of rel.items ?? []) if (it.item) byName.set(it.item.name ?? "", it.item);
      for (const it of r.backlog ?? []) if (it.item) byName.set(it.item.name ?? "", it.item);
      const pick = (names: string[] | undefined) => (names ?? []).flatMap((n) => byName.get(n) ?? []);
      return {
        now: pick(r.horizons?.now),
        next: pick(r.horizons?.next),
        later: pick(r.horizons?.later),
        releases: (r.releases ?? []).flatMap((rel) => rel.release ?? []),
      };
    }),
    part(async () =>
      perCurrency(need(await api.GET("/v1/reports/monthly:range", { params: { query: { from, to } } })).reports ?? []),
    ),
    part(() =>
      all(async (pageToken) => {
        const r = need(await api.GET("/v1/goals", { params: { query: { pageSize: 100, pageToken } } }));
        return { items: r.goals ?? [], next: r.nextPageToken ?? "" };
      }),
    ),
    part(async () => {
      const [teams, leads] = await Promise.all([
        all(async (pageToken) => {
          const r = need(await api.GET("/v1/teams", { params: { query: { pageSize: 100, pageToken } } }));
          return { items: r.teams ?? [], next: r.nextPageToken ?? "" };
        }),
        all(async (pageToken) => {
          const r = need(
            await api.GET("/v1/teams/{team}/members", {
              params: { path: { team: "-" }, query: { role: "ROLE_LEAD", pageSize: 100, pageToken } },
            }),
          );
          return { items: r.teamMembers ?? [], next: r.nextPageToken ?? "" };
        }),
      ]);
      return teams.map((t) => ({
        name: t.name ?? "",
        displayName: t.displayName,
        memberCount: t.memberCount ?? 0,
        leads: leads.filter((m) => m.name?.startsWith(t.name + "/members/")).map((m) => m.displayName || m.person || ""),
      }));
    }),
    part(() =>
      all(async (pageToken) => {
        const r = need(
          await api.GET("/v1/teams/{team}/positions", {
            params: { path: { team: "-" }, query: { state: "STATE_OPEN", pageSize: 100, pageToken } },
          }),
        );
        return { items: r.positions ?? [], next: r.nextPageToken ?? "" };
      }),
    ),
    part(async () => {
      const proposals = await all(async (pageToken) => {
        const r = need(await api.GET("/v1/proposals", { params: { query: { pageSize: 100, pageToken } } }));
        return { items: r.proposals ?? [], next: r.nextPageToken ?? "" };
      });
      const since = now.getTime() - 90 * DAY;
      const decision = (p: Schemas["Proposal"]): Decision => ({
        name: p.name ?? "",
        question: p.question,
        closeTime: p.closeTime ?? "",
        outcome: p.outcome ?? "",
      });
      return {
        open: proposals.filter((p) => p.state === "STATE_OPEN").map(decision),
        decided: proposals
          .filter((p) => p.state === "STATE_CLOSED" && p.closeTime && Date.parse(p.closeTime) >= since)
          .sort((a, b) => Date.parse(b.closeTime ?? "") - Date.parse(a.closeTime ?? ""))
          .map(decision),
      };
    }),
  ]);
  return { roadmap, money, goals, teams, vacancies, decisions };
}
