// The contract test: the generated client, type-checked by tsc, against a live
// gateway loaded with the SME seed (GUILDHALL_URL, GUILDHALL_TOKEN). Every
// answer is also checked against the served document's schemas (test/wire.ts).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, test } from "node:test";

import { createGuildhallClient, errorReason, fieldErrors, type Schemas } from "../src/index.js";
import { checkWire, type Doc } from "./wire.js";

const baseUrl = process.env.GUILDHALL_URL ?? "";
const token = process.env.GUILDHALL_TOKEN ?? "";
const api = createGuildhallClient({ baseUrl, token });
const anonymous = createGuildhallClient({ baseUrl });
let doc: Doc;

before(async () => {
  assert.ok(baseUrl && token, "set GUILDHALL_URL and GUILDHALL_TOKEN");
  doc = (await (await fetch(baseUrl + "/openapi.json")).json()) as Doc;
});

function wire(schema: string, value: unknown): void {
  assert.deepEqual(checkWire(doc, schema, value), [], `${schema} does not match the wire`);
}

test("list with paging: pages of 5 cover everyone once", async () => {
  const seen = new Set<string>();
  let pageToken: string | undefined;
  let pages = 0;
  do {
    const { data, error } = await anonymous.GET("/v1/people", { params: { query: { pageSize: 5, ...(pageToken ? { pageToken } : {}) } } });
    assert.equal(error, undefined);
    assert.ok(data);
    wire("ListPeopleResponse", data);
    assert.ok((data.people ?? []).length <= 5);
    for (const p of data.people ?? []) {
      const name: string | undefined = p.name;
      assert.ok(name && !seen.has(name), `duplicate or missing ${name}`);
      seen.add(name);
    }
    pageToken = data.nextPageToken || undefined;
    pages++;
  } while (pageToken && pages < 100);
  assert.ok(seen.size >= 10 && pages >= 3, `${seen.size} people in ${pages} pages`);
  assert.ok(seen.has("people/jcrisp"), "the SME seed is loaded");
});

test("create with a request id: a retry returns the first answer", async () => {
  const requestId = randomUUID();
  const releaseId = "v" + Date.now().toString(36);
  const body: Schemas["Release"] = { displayName: "SME Server 11", targetDate: "2028-06-30" };
  const first = await api.POST("/v1/releases", { params: { query: { releaseId, requestId } }, body });
  const again = await api.POST("/v1/releases", { params: { query: { releaseId, requestId } }, body });
  assert.equal(first.response.status, 200, JSON.stringify(first.error));
  assert.deepEqual(again.data, first.data);
  wire("Release", first.data);
  // The same id with another body is refused with a typed reason.
  const other = await api.POST("/v1/releases", { params: { query: { releaseId, requestId } }, body: { displayName: "Other" } });
  assert.equal(other.response.status, 409);
  assert.equal(errorReason(other.error), "REQUEST_ID_REUSED");
});

test("a Money write: a donation in exact minor units", async () => {
  const { data, error, response } = await api.POST("/v1/donations", {
    params: { query: { requestId: randomUUID() } },
    body: {
      amount: { currencyCode: "USD", minorUnits: "2500" },
      donorName: "A grateful user",
      visibility: "VISIBILITY_PUBLIC",
      channel: "CHANNEL_BANK",
    },
  });
  assert.equal(response.status, 200, JSON.stringify(error));
  wire("Donation", data);
  assert.equal(data?.amount?.minorUnits, "2500");
  assert.equal(data?.amount?.currencyCode, "USD");
});

test("an update with etag and mask", async () => {
  const got = await anonymous.GET("/v1/releases/{release}", { params: { path: { release: "v9" } } });
  assert.equal(got.response.status, 200);
  const etag = got.data?.etag ?? "";
  const tag = got.response.headers.get("ETag") ?? "";
  assert.ok(tag.startsWith(`"${etag}.`), `ETag ${tag} is built on the body etag ${etag}`);
  const notes = "Beta " + Date.now();
  const upd = await api.PATCH("/v1/releases/{release}", {
    params: { path: { release: "v9" }, query: { updateMask: "notes" } },
    body: { notes, etag, displayName: "ignored: not in the mask" },
  });
  assert.equal(upd.response.status, 200, JSON.stringify(upd.error));
  wire("Release", upd.data);
  assert.equal(upd.data?.notes, notes);
  assert.equal(upd.data?.displayName, got.data?.displayName);
  // The old etag is now stale: 409 in the body, 412 as If-Match.
  const stale = await api.PATCH("/v1/releases/{release}", {
    params: { path: { release: "v9" }, query: { updateMask: "notes" } }, body: { notes: "x", etag },
  });
  assert.equal(stale.response.status, 409);
  assert.equal(errorReason(stale.error), "ETAG_MISMATCH");
  const staleIfMatch = await api.PATCH("/v1/releases/{release}", {
    params: { path: { release: "v9" }, query: { updateMask: "notes" }, header: { "If-Match": tag } }, body: { notes: "x" },
  });
  assert.equal(staleIfMatch.response.status, 412);
});

test("a filtered list (AIP-160)", async () => {
  const { data, error } = await anonymous.GET("/v1/items", { params: { query: { filter: 'release = "releases/v9"', pageSize: 100 } } });
  assert.equal(error, undefined);
  wire("ListItemsResponse", data);
  const items = data?.items ?? [];
  assert.ok(items.length > 0, "v9 has items in the SME seed");
  for (const i of items) assert.equal(i.release, "releases/v9");
  const same = await anonymous.GET("/v1/items", { params: { query: { release: "releases/v9", pageSize: 100 } } });
  assert.deepEqual(same.data, data, "the filter and the parameter select the same items");
  const bad = await anonymous.GET("/v1/items", { params: { query: { filter: 'relase = "releases/v9"' } } });
  assert.equal(bad.response.status, 400);
  assert.ok("filter" in fieldErrors(bad.error), "a bad filter is a violation on filter");
  const unknown = await anonymous.GET("/v1/items", { params: { query: { relase: "releases/v9" } as never } });
  assert.equal(unknown.response.status, 400, "a misspelt parameter is refused, not ignored");
});

test("a 400 whose field violations map to form fields", async () => {
  const { error, response } = await api.POST("/v1/people", {
    params: { query: { personId: "Not_Valid" } },
    body: { displayName: "", email: "not-an-email" },
  });
  assert.equal(response.status, 400);
  wire("Status", error);
  assert.equal(errorReason(error), "INVALID_ARGUMENT");
  const form = fieldErrors(error, "person");
  assert.ok("personId" in form, JSON.stringify(form));
  assert.ok("email" in form || "displayName" in form, JSON.stringify(form));
  for (const f of Object.keys(form)) assert.ok(!f.includes("_"), `${f} is not a JSON name`);
});

test("the CSV export", async () => {
  const { data, response } = await api.GET("/v1/transactions:export", { params: { query: { from: "2000-01-01" } }, parseAs: "text" });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("Content-Type") ?? "", /^text\/csv/);
  const lines = (data ?? "").trimEnd().split("\n");
  assert.equal(lines[0], "transaction,effective_time,source,description,reverses,account,currency,amount_minor_units,account_balance_minor_units");
  assert.ok(lines.length > 10, `${lines.length} lines`);
  // Its errors have the shape of every other route's.
  const denied = await anonymous.GET("/v1/transactions:export", { params: { query: {} }, parseAs: "text" });
  assert.equal(denied.response.status, 401);
  wire("Status", denied.error);
});

test("every resource read round-trips against its schema", async () => {
  const reads: Array<[string, Promise<{ data?: unknown; response: Response }>]> = [
    ["ListTeamsResponse", anonymous.GET("/v1/teams", {})],
    ["ListPackagesResponse", anonymous.GET("/v1/packages", {})],
    ["ListReleasesResponse", anonymous.GET("/v1/releases", {})],
    ["ListProposalsResponse", anonymous.GET("/v1/proposals", {})],
    ["ListAccountsResponse", anonymous.GET("/v1/accounts", {})],
    ["ListGoalsResponse", anonymous.GET("/v1/goals", {})],
    ["ListDonationsResponse", api.GET("/v1/donations", {})],
    ["ListExpensesResponse", api.GET("/v1/expenses", {})],
    ["ListTransactionsResponse", api.GET("/v1/transactions", {})],
    ["ListSubscriptionsResponse", api.GET("/v1/subscriptions", {})],
    ["ListSponsorshipsResponse", api.GET("/v1/sponsorships", {})],
    ["ListTiersResponse", api.GET("/v1/tiers", {})],
    ["ListBudgetsResponse", api.GET("/v1/budgets", {})],
    ["ListVolunteersResponse", api.GET("/v1/volunteers", {})],
    ["Roadmap", anonymous.GET("/v1/roadmap", {})],
    ["Person", api.GET("/v1/people/{person}", { params: { path: { person: "jcrisp" } } })],
  ];
  for (const [schema, p] of reads) {
    const { data, response } = await p;
    assert.equal(response.status, 200, schema);
    wire(schema, data);
  }
});
