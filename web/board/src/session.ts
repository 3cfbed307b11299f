// The signed-in person, if any. The session's secret lives in this module's memory only: never
// in localStorage, sessionStorage or a cookie (docs/signin.md), so a reload or a closed tab
// signs out, and nothing the browser sends on its own carries it. A sign-in link opens the
// board at /board/#signin=<code>; the code is taken from the address at once and exchanged for
// a session (POST /v1/signIn:complete), which is renewed while the page is open and revoked on
// sign-out.
import { createGuildhallClient, type GuildhallClient, type Status } from "@guildhall/client";

export interface Session {
  /** `people/{person}`. */
  person: string;
  displayName: string;
  /** The session token's name, `people/{person}/tokens/{token}`. */
  token: string;
  expireTime: string;
}

const base = window.location.origin;
/** The anonymous client: what the board reads with. */
export const anonymous: GuildhallClient = createGuildhallClient({ baseUrl: base });

let secret = "";
let current: Session | null = null;
let authed: GuildhallClient = anonymous;
let renewal: number | undefined;
const listeners: ((s: Session | null) => void)[] = [];

/** The signed-in session, or null. */
export function session(): Session | null {
  return current;
}

/** The client to call with: the session's bearer token when signed in. */
export function client(): GuildhallClient {
  return authed;
}

/** Calls fn now and whenever the session starts or ends. */
export function onSession(fn: (s: Session | null) => void): void {
  listeners.push(fn);
  fn(current);
}

function set(s: Session | null, newSecret: string): void {
  secret = newSecret;
  current = s;
  authed = s ? createGuildhallClient({ baseUrl: base, token: secret }) : anonymous;
  window.clearTimeout(renewal);
  if (s) scheduleRenewal(s.expireTime);
  for (const fn of listeners) fn(current);
}

/** The error message of an answer, for people. */
export function problem(status: number, error: Status | undefined): string {
  return `${status}${error?.message ? ": " + error.message : ""}`;
}

/** Asks for a sign-in link; resolves to the server's neutral acknowledgement. */
export async function requestLink(email: string): Promise<{ message?: string; status: number; error?: Status; retryAfter?: string }> {
  const { data, error, response } = await anonymous.POST("/v1/signIn:request", { body: { email } });
  return { message: data?.message, status: response.status, error, retryAfter: response.headers.get("Retry-After") ?? undefined };
}

/**
 * Completes a sign-in if the address carries a link's code. The fragment is removed first, so
 * the code stays neither in the address bar nor in the history. Resolves to an error message,
 * or "" when there was nothing to do or it worked.
 */
export async function completeFromLink(): Promise<string> {
  const m = /^#signin=([A-Za-z0-9_-]{1,128})$/.exec(window.location.hash);
  if (!m) return "";
  history.replaceState(history.state, "", window.location.pathname + window.location.search);
  const { data, error, response } = await anonymous.POST("/v1/signIn:complete", { body: { code: m[1]! } });
  if (!data?.secret || !data.token?.name) {
    return response.status === 401
      ? "This sign-in link has expired or was already used. Ask for a new one."
      : `Signing in failed (${problem(response.status, error)}).`;
  }
  const who = createGuildhallClient({ baseUrl: base, token: data.secret });
  const caller = await who.GET("/v1/caller");
  const person = caller.data?.person ?? "";
  if (!person) return `Signing in failed (${problem(caller.response.status, caller.error)}).`;
  const profile = await who.GET("/v1/people/{person}", { params: { path: { person: person.replace("people/", "") } } });
  set(
    { person, displayName: profile.data?.displayName || person, token: data.token.name, expireTime: data.token.expireTime ?? "" },
    data.secret,
  );
  return "";
}

/** Revokes the session and forgets it; the page is anonymous again even if the revocation failed. */
export async function signOut(): Promise<void> {
  const s = current;
  const c = authed;
  set(null, "");
  if (!s) return;
  const [, person, , token] = s.token.split("/");
  try {
    await c.POST("/v1/people/{person}/tokens/{token}:revoke", { params: { path: { person: person!, token: token! } }, body: {} });
  } catch {
    // Offline: the session expires by itself within the hour.
  }
}

/** Renews the session when half its lifetime is left, as docs/signin.md advises. */
function scheduleRenewal(expireTime: string): void {
  const left = Date.parse(expireTime) - Date.now();
  if (!Number.isFinite(left) || left <= 0) return;
  renewal = window.setTimeout(async () => {
    const s = current;
    if (!s) return;
    const [, person, , token] = s.token.split("/");
    const { data } = await authed.POST("/v1/people/{person}/tokens/{token}:renew", {
      params: { path: { person: person!, token: token! } },
      body: {},
    });
    if (current !== s) return;
    if (data?.expireTime) {
      current = { ...s, expireTime: data.expireTime };
      scheduleRenewal(data.expireTime);
    }
  }, left / 2);
}
