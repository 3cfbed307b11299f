// Draws the board from its model. Every figure shown comes from the API as it answered; the
// only arithmetic is a goal's share (raised / target) for its bar.
import type { Schemas } from "@guildhall/client";
import { incomeChart } from "./chart";
import { bar, fill, h } from "./dom";
import { amount, day, enumWords, money, month, percent } from "./format";
import type { Board, CurrencyMoney, Decision, Item, Packages, Part, Roadmap, Team, Vacancies } from "./model";

/** Renders every part; returns the names of the parts that could not be loaded. */
export function render(b: Board): string[] {
  const failed: string[] = [];
  const teams = new Map((b.teams.ok ? b.teams.value : []).map((t) => [t.name, t.displayName]));
  section("roadmap-body", "the roadmap", b.roadmap, failed, roadmap);
  section("money-body", "income and costs", b.money, failed, moneyPart);
  section("goals-body", "funding goals", b.goals, failed, goals);
  section("teams-body", "teams", b.teams, failed, teamList);
  section("help-body", "vacancies", b.vacancies, failed, (v) => vacancies(v, teams));
  section("volunteers-body", "volunteer figures", b.volunteers, failed, volunteerFigures);
  section("packages-body", "packages", b.packages, failed, packages);
  section("decisions-body", "decisions", b.decisions, failed, decisions);
  return failed;
}

function section<T>(id: string, what: string, p: Part<T>, failed: string[], draw: (v: T) => Node | Node[]): void {
  if (!p.ok) {
    failed.push(what);
    fill(id, h("p", { class: "unavailable" }, `This part is unavailable just now (${p.message}).`));
    return;
  }
  fill(id, draw(p.value));
}

const empty = (text: string) => h("p", { class: "empty" }, text);

function roadmap(r: Roadmap): Node[] {
  const column = (key: "now" | "next" | "later", title: string, blurb: string, items: Item[]) =>
    h(
      "section",
      { class: "horizon", "aria-labelledby": `h-${key}` },
      h("h3", { id: `h-${key}` }, title, " ", h("span", { class: "count" }, `(${r.counts[key]})`)),
      h("p", { class: "blurb" }, blurb),
      items.length ? h("ul", { class: "cards" }, items.map(itemCard)) : empty("Nothing here yet."),
      r.counts[key] > items.length && h("p", { class: "meta" }, `and ${r.counts[key] - items.length} more`),
    );
  return [
    h(
      "div",
      { class: "horizons" },
      column("now", "Now", "Being worked on.", r.now),
      column("next", "Next", "Planned, up next.", r.next),
      column("later", "Later", "Ideas and proposals.", r.later),
    ),
    h(
      "section",
      { "aria-labelledby": "h-releases" },
      h("h3", { id: "h-releases" }, "Releases"),
      r.releases.length ? h("ul", { class: "releases" }, r.releases.map(release)) : empty("No releases yet."),
    ),
  ];
}

function itemCard(it: Item): HTMLElement {
  const badges = [
    it.fundedPercent != null && h("span", { class: "badge funded" }, `${it.fundedPercent}% funded`),
    it.staffedPercent != null && h("span", { class: "badge staffed" }, `${it.staffedPercent}% staffed`),
  ];
  return h(
    "li",
    { class: "card", "data-item": it.name },
    h("h4", {}, it.title),
    h("p", { class: "meta" }, enumWords(it.state, "STATE_"), it.release ? ` · ${it.release.replace("releases/", "")}` : ""),
    it.donePercent != null && bar(`${it.title}: done`, it.donePercent / 100, `${it.donePercent}% done`),
    badges.some(Boolean) && h("p", { class: "badges" }, badges),
    h("div", { class: "vote-slot", "data-vote": it.name }), // votes.ts fills it
  );
}

function release(r: Schemas["Release"]): HTMLElement {
  const done = r.doneCount ?? 0;
  const total = r.itemCount ?? 0;
  return h(
    "li",
    { class: "release" },
    h("h4", {}, r.displayName),
    h("p", { class: "meta" }, enumWords(r.state, "STATE_")),
    bar(`${r.displayName}: items done`, r.progress ?? 0, `${done} of ${total} items done`),
  );
}

function moneyPart(currencies: CurrencyMoney[]): Node[] {
  if (!currencies.length) return [empty("No money has moved yet.")];
  return currencies.map((c) => {
    const canvas = h("canvas", {
      role: "img",
      "aria-label": `Bar chart of income and costs per month in ${c.currencyCode}; the figures are in the table below.`,
    });
    const last = c.months[c.months.length - 1];
    const block = h(
      "section",
      { class: "currency", "aria-labelledby": `cur-${c.currencyCode}` },
      h("h3", { id: `cur-${c.currencyCode}` }, c.currencyCode),
      h(
        "dl",
        { class: "figures" },
        h("div", {}, h("dt", {}, "Cash"), h("dd", {}, amount(c.currencyCode, c.cash))),
        h(
          "div",
          {},
          h("dt", {}, "Runway"),
          h("dd", {}, c.runwayMonths == null ? "no costs yet" : `${c.runwayMonths.toFixed(1)} months`),
        ),
        last && h("div", {}, h("dt", {}, `Income, ${month(last.month)}`), h("dd", {}, amount(c.currencyCode, last.income))),
        last && h("div", {}, h("dt", {}, `Costs, ${month(last.month)}`), h("dd", {}, amount(c.currencyCode, last.costs))),
      ),
      h("div", { class: "chart" }, canvas),
      h(
        "table",
        { class: "months" },
        h("caption", {}, `Income and costs per month, ${c.currencyCode}`),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Month"), h("th", { scope: "col" }, "Income"), h("th", { scope: "col" }, "Costs"))),
        h(
          "tbody",
          {},
          c.months.map((m) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, month(m.month)),
              h("td", {}, amount(c.currencyCode, m.income)),
              h("td", {}, amount(c.currencyCode, m.costs)),
            ),
          ),
        ),
      ),
    );
    // Chart.js measures its container, so it is drawn once the block is in the page.
    queueMicrotask(() =>
      incomeChart(canvas, {
        currency: c.currencyCode,
        months: c.months.map((m) => m.month),
        income: c.months.map((m) => m.income),
        costs: c.months.map((m) => m.costs),
      }),
    );
    return block;
  });
}

/** raised / target as a share, exact on int64 minor units. */
function share(raised: string, target: string): number {
  const t = BigInt(target || "0");
  if (t <= 0n) return 0;
  return Number((BigInt(raised || "0") * 10000n) / t) / 10000;
}

function goals(gs: Schemas["Goal"][]): Node {
  if (!gs.length) return empty("No funding goals yet.");
  return h(
    "ul",
    { class: "goals" },
    gs.map((g) => {
      const s = share(g.progress?.minorUnits ?? "0", g.target?.minorUnits ?? "0");
      return h(
        "li",
        { class: "goal" },
        h("h3", {}, g.displayName),
        g.description && h("p", {}, g.description),
        bar(`${g.displayName}: raised`, s, `${money(g.progress)} of ${money(g.target)} (${percent(s)})`),
        g.period !== "PERIOD_ONE_OFF" && h("p", { class: "meta" }, enumWords(g.period, "PERIOD_")),
      );
    }),
  );
}

function teamList(ts: Team[]): Node {
  if (!ts.length) return empty("No teams yet.");
  return h(
    "ul",
    { class: "teams" },
    ts.map((t) =>
      h(
        "li",
        { class: "team" },
        h("h3", {}, t.displayName),
        h("p", {}, t.leads.length ? `Led by ${t.leads.join(", ")}` : "Looking for a lead"),
        h("p", { class: "meta" }, t.memberCount === 1 ? "1 member" : `${t.memberCount} members`),
      ),
    ),
  );
}

function vacancies(v: Vacancies, teams: Map<string, string>): Node {
  const ps = v.positions;
  if (!ps.length) return empty("No open positions just now — but offers of help are always welcome.");
  return h(
    "ul",
    { class: "vacancies" },
    ps.map((p) => {
      const team = (p.name ?? "").split("/positions/")[0] ?? "";
      const teamName = teams.get(team) ?? team.replace("teams/", "");
      const cta = h("button", { type: "button", class: "cta" }, "I can help with this");
      cta.addEventListener("click", () => offerFor(`${p.title} (${teamName})`));
      return h(
        "li",
        { class: "vacancy" },
        h("h3", {}, p.title, " ", h("span", { class: "meta" }, teamName)),
        p.description && h("p", {}, p.description),
        (p.skills ?? []).length > 0 && h("p", {}, "Skills: ", (p.skills ?? []).join(", ")),
        (p.hoursPerMonth ?? 0) > 0 && h("p", { class: "meta" }, `About ${p.hoursPerMonth} hours a month`),
        cta,
      );
    }),
  );
}

/** The call to action: the offer form, with the vacancy as what they would like to work on. */
function offerFor(what: string): void {
  const interests = document.getElementById("offer-interests") as HTMLTextAreaElement;
  if (!interests.value.trim()) interests.value = what;
  const name = document.getElementById("offer-name") as HTMLInputElement;
  name.scrollIntoView({ block: "center" });
  name.focus();
}

function decisions(d: { open: Decision[]; decided: Decision[] }): Node[] {
  return [
    h("h3", {}, "Open for votes"),
    d.open.length
      ? h(
          "ul",
          { class: "decisions" },
          d.open.map((p) => h("li", {}, h("p", { class: "q" }, p.question), p.closeTime && h("p", { class: "meta" }, `Voting closes ${day(p.closeTime)}`))),
        )
      : empty("No open decisions."),
    h("h3", {}, "Decided in the last 90 days"),
    d.decided.length
      ? h(
          "ul",
          { class: "decisions" },
          d.decided.map((p) =>
            h(
              "li",
              {},
              h("p", { class: "q" }, p.question),
              h("p", {}, h("strong", {}, "Outcome: "), p.outcome || "not written up yet"),
              h("p", { class: "meta" }, `Closed ${day(p.closeTime)}`),
            ),
          ),
        )
      : empty("No decisions reached in the last 90 days."),
  ];
}

function volunteerFigures(st: Schemas["VolunteerStats"]): Node {
  const total = st.total ?? 0;
  if (!total) return h("p", {}, "Be the first to offer help.");
  return h(
    "p",
    {},
    total === 1 ? "1 person has offered help so far" : `${total} people have offered help so far`,
    `; ${percent(st.conversionRate ?? 0)} of offers became active helpers.`,
  );
}

function packages(p: Packages): Node {
  return h(
    "div",
    {},
    h("h3", {}, "Packages seeking a maintainer"),
    p.seekingMaintainer.length
      ? h(
          "ul",
          { class: "packages" },
          p.seekingMaintainer.map((pk) => h("li", {}, h("h4", {}, pk.displayName), pk.description && h("p", {}, pk.description))),
        )
      : empty("Every package has a maintainer."),
    p.count > p.seekingMaintainer.length && h("p", { class: "meta" }, `and ${p.count - p.seekingMaintainer.length} more`),
  );
}
