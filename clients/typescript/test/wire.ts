// Checks a JSON answer against its schema in the served OpenAPI document, so
// a field that arrives as a type its declaration forbids (null where the type
// says string, a value outside an enum, an undeclared property) fails.
type Schema = {
  $ref?: string; type?: string; enum?: unknown[]; nullable?: boolean; allOf?: Schema[]; oneOf?: Schema[];
  properties?: Record<string, Schema>; required?: string[]; items?: Schema;
  additionalProperties?: boolean | Schema; format?: string;
};
export type Doc = { components: { schemas: Record<string, Schema> } };

export function checkWire(doc: Doc, schemaName: string, value: unknown): string[] {
  const errors: string[] = [];
  check(doc, { $ref: "#/components/schemas/" + schemaName }, value, "$", errors);
  return errors;
}

function resolve(doc: Doc, s: Schema): Schema {
  while (s.$ref) {
    const name = s.$ref.replace("#/components/schemas/", "");
    const next = doc.components.schemas[name];
    if (!next) throw new Error("no schema " + name);
    s = next;
  }
  return s;
}

function check(doc: Doc, schema: Schema, v: unknown, at: string, errors: string[]): void {
  const nullable = schema.nullable === true;
  const s = resolve(doc, schema);
  if (v === null) {
    if (!nullable && !s.nullable) errors.push(`${at}: null, but the schema does not allow null`);
    return;
  }
  if (s.allOf) {
    for (const part of s.allOf) check(doc, { ...part, nullable: true }, v, at, errors);
    return;
  }
  if (s.oneOf) {
    const matches = s.oneOf.filter((o) => { const e: string[] = []; check(doc, o, v, at, e); return e.length === 0; });
    if (matches.length !== 1) errors.push(`${at}: matches ${matches.length} of oneOf`);
    return;
  }
  if (s.enum && !s.enum.includes(v)) errors.push(`${at}: ${JSON.stringify(v)} is not one of the enum`);
  switch (s.type) {
    case "string":
      if (typeof v !== "string") errors.push(`${at}: ${typeof v}, want string`);
      if (s.format === "int64" && typeof v === "string" && !/^-?\d+$/.test(v)) errors.push(`${at}: ${v} is not an int64`);
      return;
    case "integer":
      if (!Number.isInteger(v)) errors.push(`${at}: ${JSON.stringify(v)}, want integer`);
      return;
    case "number":
      if (typeof v !== "number") errors.push(`${at}: ${typeof v}, want number`);
      return;
    case "boolean":
      if (typeof v !== "boolean") errors.push(`${at}: ${typeof v}, want boolean`);
      return;
    case "array":
      if (!Array.isArray(v)) { errors.push(`${at}: want array`); return; }
      v.forEach((item, i) => check(doc, s.items ?? {}, item, `${at}[${i}]`, errors));
      return;
  }
  if (s.type === "object" || s.properties) {
    if (typeof v !== "object" || Array.isArray(v)) { errors.push(`${at}: want object`); return; }
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) errors.push(`${at}.${r}: required but absent`);
    for (const [k, val] of Object.entries(o)) {
      const p = s.properties?.[k];
      if (p) check(doc, p, val, `${at}.${k}`, errors);
      else if (typeof s.additionalProperties === "object") check(doc, s.additionalProperties, val, `${at}.${k}`, errors);
      else if (s.additionalProperties === false || s.properties) errors.push(`${at}.${k}: not declared`);
    }
  }
}
