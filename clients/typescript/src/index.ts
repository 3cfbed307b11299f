// The typed Guildhall client: openapi-fetch over the types openapi-typescript
// generates from /openapi.json (src/schema.d.ts, `npm run generate`).
//
// JSON policy (the gateway's protojson with EmitUnpopulated): every scalar,
// list and map field of an answer is present, zero values included; a message
// field that is not set is null (so its type includes null); int64 values are
// strings; enums are strings and include their *_UNSPECIFIED value.
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
export type Schemas = components["schemas"];
export type Status = Schemas["Status"];
export type ErrorReason = Schemas["ErrorReason"];
export type GuildhallClient = Client<paths>;

export interface Options {
  /** The gateway, e.g. "https://guildhall.example.org" (no trailing /v1). */
  baseUrl: string;
  /** A Guildhall token, sent as `Authorization: Bearer <token>`. */
  token?: string;
  fetch?: typeof globalThis.fetch;
}

/** Creates a client; every call returns `{ data, error, response }` with typed data and errors. */
export function createGuildhallClient(opts: Options): GuildhallClient {
  const client = createClient<paths>({ baseUrl: opts.baseUrl, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  if (opts.token) {
    const token = opts.token;
    client.use({
      onRequest({ request }) {
        request.headers.set("Authorization", `Bearer ${token}`);
        return request;
      },
    });
  }
  return client;
}

/** The ErrorInfo reason of an error, e.g. "ETAG_MISMATCH". */
export function errorReason(status: Status | undefined): ErrorReason | undefined {
  for (const d of status?.details ?? []) {
    if (d["@type"] === "type.googleapis.com/google.rpc.ErrorInfo") return d.reason;
  }
  return undefined;
}

/**
 * Maps a 400's field violations to form fields. Violations name fields as the
 * client sent them (JSON names): `person.displayName` for the body of a
 * create whose body is the person, `personId` for a query parameter. Pass the
 * body's name ("person") to get the form's own names ("displayName").
 */
export function fieldErrors(status: Status | undefined, body?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of status?.details ?? []) {
    if (d["@type"] !== "type.googleapis.com/google.rpc.BadRequest") continue;
    for (const v of d.fieldViolations) {
      const field = body && v.field.startsWith(body + ".") ? v.field.slice(body.length + 1) : v.field;
      out[field] ??= v.description;
    }
  }
  return out;
}
