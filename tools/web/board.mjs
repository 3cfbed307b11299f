// Drives the reference board (/board/) in headless Chromium as a person would, against a
// Guildhall loaded with the SME seed, and checks it against the API:
//   1. / leads to the board, which loads with no token and no CSP violation or script error;
//   2. the figures on screen equal the API's (the script reads the same API itself);
//   3. the volunteer form shows the API's field errors for bad input (nothing stored) and the
//      acknowledgement for good input (the offer stored, once);
//   4. axe-core finds no serious or critical violation, at desktop and at phone width;
//   5. screenshots at desktop and phone widths go to ARTIFACTS_DIR;
//   6. a person signs in by email: "Sign in" opens a labelled form that asks for a link and shows
//      the API's neutral acknowledgement; LINK_URL (served by the Go test) answers with the link
//      from the mail, which a new tab opens: the code leaves the address, the page says who is
//      signed in and keeps the session in memory only; a vote on an item raises its count by one,
//      as the API counts it; an offer made signed in shows under "Your offers" as New; axe again,
//      a screenshot, and signing out.
// Prints one JSON summary line (naming the item voted for and the signed-in offer, which the Go
// test looks up in the databases); exits 1 on any failed check.
//
// Usage: node board.mjs BASE_URL ADMIN_TOKEN ARTIFACTS_DIR VOLUNTEER_NAME LINK_URL EMAIL PERSON
// CHROMIUM names the browser binary (default /usr/bin/chromium, Debian's package).
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, token, artifacts, volunteerName, linkURL, signInEmail, signInPerson] = process.argv.slice(2);
if (!base || !token || !artifacts || !volunteerName || !linkURL || !signInEmail || !signInPerson) {
  console.error("usage: node board.mjs BASE_URL ADMIN_TOKEN ARTIFACTS_DIR VOLUNTEER_NAME LINK_URL EMAIL PERSON");
  process.exit(2);
}
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const LOCALE = "en-US";

const failures = [];
let checked = 0;
function check(ok, what) {
  checked++;
  if (!ok) failures.push(what);
}
function same(got, want, what) {
  check(JSON.stringify(got) === JSON.stringify(want), `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

// --- the API, read directly -------------------------------------------------------------------
async function api(path, init = {}) {
  const res = await fetch(base + path, init);
  const body = await res.json();
  return { status: res.status, body };
}

// Money as the reader sees it, formatted independently of the board's code: exact decimal from
// minor units, then Intl (which formats decimal strings exactly).
function amount(currency, minor) {
  const digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  const neg = minor.startsWith("-");
  const abs = (neg ? minor.slice(1) : minor).padStart(digits + 1, "0");
  const dec = digits ? `${abs.slice(0, -digits)}.${abs.slice(-digits)}` : abs;
  return new Intl.NumberFormat(LOCALE, { style: "currency", currency }).format((neg ? "-" : "") + dec);
}
function monthLabel(ym) {
  const [y, m] = ym.split("-").map(Number);
  return new Intl.DateTimeFormat(LOCALE, { month: "short", year: "numeric", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, 1)));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const summary = { checked: 0, axe: {}, screenshots: [], failures };
try {
  const context = await browser.newContext({ locale: LOCALE, timezoneId: "UTC", viewport: { width: 1280, height: 900 } });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const errors = [];
  const watch = (p) => {
    p.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    p.on("console", (m) => {
      // The one error expected: the browser logs the 400 that the bad offer gets.
      const badOffer = m.location().url.includes("/v1/volunteers") && m.text().includes("status of 400");
      if (m.type() === "error" && !badOffer) errors.push(`console: ${m.text()} (${m.location().url})`);
    });
    return p;
  };
  const page = watch(await context.newPage());
  const apiCalls = [];
  page.on("request", (r) => {
    if (r.url().includes("/v1/")) apiCalls.push({ url: r.url(), auth: r.headers()["authorization"] ?? "" });
  });

  // 1. Load: / leads to the board; it is ready when the status line has cleared.
  await page.goto(base + "/");
  same(new URL(page.url()).pathname, "/board/", "/ leads to the board");
  await page.waitForFunction(() => document.body.dataset.state, null, { timeout: 30000 });
  same(await page.evaluate(() => document.body.dataset.state), "ready", "the board loaded");
  same((await page.getByRole("status").first().innerText()).trim(), "", "no part failed to load");
  check(apiCalls.length > 0 && apiCalls.every((c) => c.auth === ""), "the board reads the API with no token");

  // 2. Figures: every part on screen against the API's own answer. The landing page is one call.
  same(apiCalls.map((c) => new URL(c.url).pathname), ["/v1/transparencyReport"], "the board's API calls");
  const report = (await api("/v1/transparencyReport")).body;
  for (const [key, p] of Object.entries(report)) same(p.availability, "AVAILABILITY_AVAILABLE", `report part ${key}`);
  const teams = report.roster.teams;
  const teamName = (name) => teams.find((t) => name.startsWith(t.team + "/"))?.displayName;

  const roadmapRegion = page.getByRole("region", { name: "Roadmap" });
  for (const [key, title] of [["now", "Now"], ["next", "Next"], ["later", "Later"]]) {
    const col = roadmapRegion.getByRole("region", { name: new RegExp(`^${title}\\b`) });
    const want = report.roadmap[key];
    same(await col.getByRole("listitem").getByRole("heading").allInnerTexts(), want.map((i) => i.title), `${title}: items`);
    same(await col.getByRole("heading", { level: 3 }).innerText(), `${title} (${report.roadmap[key + "Count"]})`, `${title}: count`);
    for (const it of want) {
      const card = col.getByRole("listitem").filter({ has: page.getByRole("heading", { name: it.title, exact: true }) });
      const text = await card.innerText();
      same(await card.getByRole("progressbar").getAttribute("value"), String(it.donePercent), `${it.title}: % done bar`);
      check(text.includes(`${it.donePercent}% done`), `${it.title}: shows ${it.donePercent}% done`);
      for (const [field, word] of [["fundedPercent", "funded"], ["staffedPercent", "staffed"]]) {
        if (it[field] != null) check(text.includes(`${it[field]}% ${word}`), `${it.title}: shows ${it[field]}% ${word}`);
        else check(!text.includes(`% ${word}`), `${it.title}: no ${word} badge without a figure`);
      }
    }
  }
  check(
    [...report.roadmap.now, ...report.roadmap.next].some((i) => i.fundedPercent != null && i.staffedPercent != null),
    "the seed gives some item both a funded and a staffed figure",
  );
  for (const rel of report.roadmap.releases) {
    const li = roadmapRegion
      .getByRole("region", { name: "Releases" })
      .getByRole("listitem")
      .filter({ has: page.getByRole("heading", { name: rel.displayName, exact: true }) });
    check((await li.innerText()).includes(`${rel.doneCount} of ${rel.itemCount} items done`), `${rel.displayName}: release progress`);
    same(await li.getByRole("progressbar").getAttribute("value"), String(Math.round(rel.progress * 100)), `${rel.displayName}: progress bar`);
  }

  const currencies = report.money.currencies;
  check(currencies.length > 0, "the seed has money in at least one currency");
  for (const c of currencies) {
    const code = c.currencyCode;
    same(c.months.length, 12, `${code}: the report has 12 months`);
    const table = page.getByRole("table", { name: `Income and costs per month, ${code}` });
    const rows = await table.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));
    same(rows, c.months.map((m) => [monthLabel(m.month), amount(code, m.income), amount(code, m.costs)]), `${code}: 12 months of income and costs`);
    // The report's figures are the ledger's: the monthly reports of the same months agree.
    const range = (await api(`/v1/reports/monthly:range?from=${c.months[0].month}&to=${c.months[11].month}`)).body.reports;
    same(
      range.map((r) => {
        const x = r.currencies.find((y) => y.currencyCode === code);
        return [r.month, x?.incomeTotal ?? "0", x?.expenseTotal ?? "0"];
      }),
      c.months.map((m) => [m.month, m.income, m.costs]),
      `${code}: the report agrees with the monthly reports`,
    );
    const chart = page.getByRole("img", { name: new RegExp(`income and costs per month in ${code}`) });
    const box = await chart.boundingBox();
    check(box && box.width > 100 && box.height > 100, `${code}: the chart is drawn (${JSON.stringify(box)})`);
    const section = page.getByRole("region", { name: code, exact: true });
    check((await section.innerText()).includes(amount(code, c.cash)), `${code}: cash ${amount(code, c.cash)}`);
  }

  const goals = report.money.goals;
  check(goals.length > 0, "the seed has goals");
  const goalsRegion = page.getByRole("region", { name: "Funding goals" });
  same(await goalsRegion.getByRole("listitem").getByRole("heading").allInnerTexts(), goals.map((g) => g.displayName), "goals");
  for (const g of goals) {
    const li = goalsRegion.getByRole("listitem").filter({ has: page.getByRole("heading", { name: g.displayName, exact: true }) });
    const text = `${amount(g.progress.currencyCode, g.progress.minorUnits)} of ${amount(g.target.currencyCode, g.target.minorUnits)}`;
    check((await li.innerText()).includes(text), `${g.displayName}: shows "${text}"`);
  }

  const teamsRegion = page.getByRole("region", { name: "Teams" });
  same(await teamsRegion.getByRole("listitem").getByRole("heading").allInnerTexts(), teams.map((t) => t.displayName), "teams");
  for (const t of teams) {
    const names = t.leads.map((l) => l.displayName);
    const li = teamsRegion.getByRole("listitem").filter({ has: page.getByRole("heading", { name: t.displayName, exact: true }) });
    const text = await li.innerText();
    check(names.length ? text.includes(`Led by ${names.join(", ")}`) : text.includes("Looking for a lead"), `${t.displayName}: leads ${names}`);
    check(text.includes(`${t.memberCount} member`), `${t.displayName}: ${t.memberCount} members`);
  }

  const open = report.vacancies.positions;
  check(open.length > 0, "the seed has open positions");
  const help = page.getByRole("region", { name: "Help wanted" });
  same(
    await help.getByRole("list").first().getByRole("listitem").getByRole("heading").allInnerTexts(),
    open.map((p) => `${p.title} ${teamName(p.name)}`),
    "open positions with their teams",
  );
  const st = report.volunteers.stats;
  check(
    (await help.innerText()).includes(`${st.total} people have offered help so far; ${Math.round(st.conversionRate * 100)}% of offers became active helpers.`),
    `volunteer figures: ${st.total} offers, ${st.conversionRate} active`,
  );
  const pkgs = help.getByRole("heading", { name: "Packages seeking a maintainer" });
  check(await pkgs.isVisible(), "packages seeking a maintainer are shown");
  for (const pk of report.packages.seekingMaintainer) {
    check(await help.getByRole("heading", { name: pk.displayName, exact: true }).isVisible(), `package ${pk.displayName} shown`);
  }

  const decisions = page.getByRole("region", { name: "Decisions" });
  same(
    await decisions.locator("li .q").allInnerTexts(),
    [...report.decisions.open, ...report.decisions.decided].map((p) => p.question),
    "open and recent decisions",
  );

  // Keyboard: the first Tab reaches the skip link; a vacancy's call to action takes focus to the form.
  await page.keyboard.press("Tab");
  same(await page.evaluate(() => document.activeElement?.textContent), "Skip to the board", "first Tab stop");
  await help.getByRole("button", { name: "I can help with this" }).first().focus();
  await page.keyboard.press("Enter");
  same(await page.evaluate(() => document.activeElement?.id), "offer-name", "the call to action focuses the form");
  same(await page.getByLabel("What would you like to work on?").inputValue(), `${open[0].title} (${teamName(open[0].name)})`, "the call to action names the vacancy");

  // 3. The volunteer form: bad input gets the API's field errors, and nothing is stored.
  const adminList = async () => {
    const out = [];
    let pageToken = "";
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${base}/v1/volunteers?pageSize=100&pageToken=${encodeURIComponent(pageToken)}`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`list volunteers: ${res.status} ${JSON.stringify(body)}`);
      out.push(...body.volunteers);
      if (!body.nextPageToken) break;
      pageToken = body.nextPageToken;
    }
    return out;
  };
  const before = (await adminList()).length;
  const form = page.getByRole("form", { name: "Offer help" });
  const bad = { displayName: volunteerName, contact: "not-an-address", hoursPerMonth: 800 };
  await form.getByLabel("Your name").fill(bad.displayName);
  await form.getByLabel("Email or handle").fill(bad.contact);
  await form.getByLabel("Hours a month").fill(String(bad.hoursPerMonth));
  await form.getByRole("button", { name: "Send my offer" }).click();
  await page.getByText("Please check the highlighted fields.").waitFor({ timeout: 15000 });
  // What the API says about the same body, field by field.
  const apiBad = await api("/v1/volunteers", { method: "POST", body: JSON.stringify({ ...bad, skills: [], interests: "" }) });
  same(apiBad.status, 400, "the API refuses the bad offer");
  const violations = apiBad.body.details.find((d) => d["@type"].endsWith("BadRequest")).fieldViolations;
  const labels = { "volunteer.contact": "Email or handle", "volunteer.hoursPerMonth": "Hours a month" };
  same(violations.map((v) => v.field).sort(), Object.keys(labels).sort(), "the API's violations for the bad offer");
  for (const v of violations) {
    const input = form.getByLabel(labels[v.field]);
    same(await input.getAttribute("aria-invalid"), "true", `${v.field} marked invalid`);
    const errId = (await input.getAttribute("aria-describedby")).split(" ").find((id) => id.endsWith("-error"));
    same((await page.locator(`[id="${errId}"]`).innerText()).trim(), v.description, `${v.field}: the API's message beside the field`);
  }
  same(await page.evaluate(() => document.activeElement?.id), "offer-contact", "focus moves to the first field in error");
  summary.axe.formErrors = await axe(page);
  same((await adminList()).length, before, "a bad offer stores nothing");

  // Good input: the acknowledgement, and the offer stored once with what was typed.
  const good = { contact: "board-tester@example.org", skills: "testing, docs", hours: "6", interests: "the wiki" };
  await form.getByLabel("Email or handle").fill(good.contact);
  await form.getByLabel("Skills").fill(good.skills);
  await form.getByLabel("Hours a month").fill(good.hours);
  await form.getByLabel("What would you like to work on?").fill(good.interests);
  await form.getByRole("button", { name: "Send my offer" }).click();
  await page.getByText(/^Thank you/).waitFor({ timeout: 15000 });
  check((await form.getByLabel("Email or handle").getAttribute("aria-invalid")) === null, "no field stays marked invalid");
  const stored = (await adminList()).filter((v) => v.displayName === volunteerName);
  same(stored.length, 1, "the good offer is stored once");
  if (stored[0]) {
    same(
      { contact: stored[0].contact, skills: stored[0].skills, hoursPerMonth: stored[0].hoursPerMonth, interests: stored[0].interests },
      { contact: good.contact, skills: ["testing", "docs"], hoursPerMonth: 6, interests: good.interests },
      "the stored offer is what was typed",
    );
  }

  // 4 and 5. axe at desktop width and a screenshot; then the same at phone width.
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 30000 });
  mkdirSync(artifacts, { recursive: true });
  summary.axe.desktop = await axe(page);
  await shot(page, "board-desktop.png");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200); // Chart.js redraws on resize
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `no sideways scrolling at phone width (${overflow}px too wide)`);
  summary.axe.phone = await axe(page);
  await shot(page, "board-phone.png");

  const csp = await page.evaluate(() => window.__csp);
  same(csp, [], "CSP violations");

  // 6. Signing in by email.
  await page.setViewportSize({ width: 1280, height: 900 });
  const signInButton = page.getByRole("banner").getByRole("button", { name: "Sign in" });
  same(await signInButton.getAttribute("aria-expanded"), "false", "the sign-in form starts closed");
  await signInButton.click();
  same(await signInButton.getAttribute("aria-expanded"), "true", "Sign in opens the form");
  const signInForm = page.getByRole("form", { name: "Sign in" });
  same(await page.evaluate(() => document.activeElement?.id), "signin-email", "the email field takes focus");
  // An empty address is refused in the page, beside the field.
  await signInForm.getByRole("button", { name: "Email me a sign-in link" }).click();
  same(await signInForm.getByLabel("Email address").getAttribute("aria-invalid"), "true", "an empty address is marked invalid");
  await signInForm.getByLabel("Email address").fill(signInEmail);
  await signInForm.getByRole("button", { name: "Email me a sign-in link" }).click();
  const ack = signInForm.getByRole("status");
  await ack.filter({ hasText: /\S/ }).waitFor({ timeout: 15000 });
  // The acknowledgement is the API's, the same as for an address nobody has.
  const neutral = await api("/v1/signIn:request", { method: "POST", body: JSON.stringify({ email: "nobody-here@example.org" }) });
  same((await ack.innerText()).trim(), neutral.body.message, "the page shows the API's neutral acknowledgement");
  same(await signInForm.getByLabel("Email address").getAttribute("aria-invalid"), null, "the address is no longer marked invalid");
  summary.axe.signInForm = await axe(page);

  // The mail arrives; the Go test hands its link over. A mail client opens it in a new tab.
  const linkRes = await fetch(linkURL);
  const link = await linkRes.text();
  check(linkRes.status === 200 && /\/board\/#signin=[a-z0-9]+$/.test(link), `the sign-in link: ${linkRes.status} ${link}`);
  const tab = watch(await context.newPage());
  const tabCalls = [];
  tab.on("request", (r) => {
    if (r.url().includes("/v1/")) tabCalls.push({ path: new URL(r.url()).pathname, auth: r.headers()["authorization"] ?? "" });
  });
  await tab.goto(link);
  await tab.waitForFunction(() => document.body.dataset.state, null, { timeout: 30000 });
  same(await tab.evaluate(() => document.body.dataset.state), "ready", "the board loaded from the link");
  same(await tab.evaluate(() => window.location.hash), "", "the code is removed from the address");
  check(!(await tab.evaluate(() => window.location.href)).includes("signin"), "no trace of the code in the address");
  const who = (await api(`/v1/${signInPerson}`)).body.displayName;
  const banner = tab.getByRole("banner");
  same((await banner.getByText("Signed in as").innerText()).trim(), `Signed in as ${who}`, "the page says who is signed in");
  check(await banner.getByRole("button", { name: "Sign out" }).isVisible(), "a sign-out button");
  same(
    await tab.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]),
    [0, 0, ""],
    "the session is kept in memory only",
  );
  same((await context.cookies()).length, 0, "no cookies");
  check(tabCalls.some((c) => c.path === "/v1/caller" && c.auth.startsWith("Bearer gh_")), "the page asks who it is with the session");

  // A vote on an open item: the count rises by one, as the API counts it.
  const votable = [...report.roadmap.now, ...report.roadmap.next, ...report.roadmap.later].find(
    (i) => i.state !== "STATE_DONE" && i.state !== "STATE_DECLINED",
  );
  const esc = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const votesBefore = (await api(`/v1/${votable.name}`)).body.voteCount;
  const count = (n) => (n === 1 ? "1 vote" : `${n} votes`);
  const roadmapNow = tab.getByRole("region", { name: "Roadmap" });
  const voteButton = roadmapNow.getByRole("button", { name: `Vote for ${votable.title} · ${count(votesBefore)}`, exact: true });
  check(await voteButton.isVisible(), `a vote button for ${votable.title} showing ${count(votesBefore)}`);
  await voteButton.focus();
  await tab.keyboard.press("Enter"); // keyboard-usable
  const voted = roadmapNow.getByRole("button", { name: new RegExp(`^Voted for ${esc(votable.title)} · `) });
  await voted.waitFor({ timeout: 15000 });
  const votesAfter = (await api(`/v1/${votable.name}`)).body.voteCount;
  same(votesAfter, votesBefore + 1, "the API counts the vote");
  check(
    await roadmapNow.getByRole("button", { name: `Voted for ${votable.title} · ${count(votesAfter)}`, exact: true }).isVisible(),
    `the button shows the API's count, ${count(votesAfter)}: ${await voted.innerText()}`,
  );
  same(await voted.getAttribute("aria-pressed"), "true", "the button is pressed");
  same(await tab.evaluate(() => document.activeElement?.getAttribute("aria-pressed")), "true", "focus stays on the vote button");
  summary.votedItem = votable.name;

  // An offer made signed in is the person's: it shows under "Your offers", as New.
  const own = tab.getByRole("region", { name: "Your offers" });
  await own.getByText("You have not offered help while signed in yet.").waitFor({ timeout: 15000 });
  const offerName = `${volunteerName} signed in`;
  const tabForm = tab.getByRole("form", { name: "Offer help" });
  await tabForm.getByLabel("Your name").fill(offerName);
  await tabForm.getByLabel("Email or handle").fill(signInEmail);
  await tabForm.getByLabel("What would you like to work on?").fill("testing v11");
  await tabForm.getByRole("button", { name: "Send my offer" }).click();
  await tab.getByText(/^Thank you/).waitFor({ timeout: 15000 });
  const mine = own.getByRole("listitem");
  await mine.first().waitFor({ timeout: 15000 });
  same(await mine.getByRole("heading").allInnerTexts(), [offerName], "Your offers lists exactly the new offer");
  check((await mine.first().innerText()).includes("State: New"), `the offer shows its state: ${await mine.first().innerText()}`);
  summary.signedInOffer = offerName;

  summary.axe.signedIn = await axe(tab);
  await shot(tab, "board-signed-in.png");
  await tab.setViewportSize({ width: 390, height: 844 });
  await tab.waitForTimeout(200);
  const tabOverflow = await tab.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(tabOverflow <= 0, `signed in: no sideways scrolling at phone width (${tabOverflow}px too wide)`);
  summary.axe.signedInPhone = await axe(tab);

  // Signing out: the page is anonymous again and the sign-in button has the focus.
  await tab.getByRole("button", { name: "Sign out" }).click();
  await tab.getByRole("banner").getByRole("button", { name: "Sign in" }).waitFor({ timeout: 15000 });
  same(await tab.evaluate(() => document.activeElement?.textContent), "Sign in", "focus moves to Sign in");
  check(await own.isHidden(), "Your offers is hidden once signed out");
  await tab.waitForLoadState("networkidle");
  same(await tab.evaluate(() => window.__csp), [], "CSP violations (signed in)");

  for (const [where, r] of Object.entries(summary.axe)) {
    check(r.serious + r.critical === 0, `axe (${where}): ${r.serious} serious, ${r.critical} critical: ${r.ids.join(", ")}`);
  }
  same(errors, [], "script errors");
} catch (e) {
  failures.push(`stopped: ${e.stack || e}`);
} finally {
  await browser.close();
}
summary.checked = checked;
console.log(JSON.stringify(summary));
process.exit(failures.length ? 1 : 0);

// axe-core in the page (evaluated over the DevTools protocol, which the page's CSP does not
// govern): violations by impact, with the ids of the serious and critical ones.
async function axe(page) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })));
  const by = (impact) => violations.filter((v) => v.impact === impact).length;
  return {
    critical: by("critical"),
    serious: by("serious"),
    moderate: by("moderate"),
    minor: by("minor"),
    ids: violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}(${v.nodes})`),
  };
}

async function shot(page, name) {
  const path = join(artifacts, name);
  await page.screenshot({ path, fullPage: true });
  summary.screenshots.push(path);
}
