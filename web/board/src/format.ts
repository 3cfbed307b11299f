// Formatting for people: money from exact minor units (never through a float), percentages and
// UTC months. Everything uses the reader's locale.
import type { Schemas } from "@guildhall/client";

export type Money = Schemas["Money"];

/** The number of minor-unit digits of an ISO 4217 currency (JPY 0, EUR 2, BHD 3). */
export function exponent(currency: string): number {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Minor units as an exact decimal string: ("-1205", 2) → "-12.05". */
export function decimal(minorUnits: string, digits: number): string {
  const neg = minorUnits.startsWith("-");
  const abs = BigInt(neg ? minorUnits.slice(1) : minorUnits).toString();
  if (digits === 0) return (neg ? "-" : "") + abs;
  const padded = abs.padStart(digits + 1, "0");
  return (neg ? "-" : "") + padded.slice(0, -digits) + "." + padded.slice(-digits);
}

/** Money as the reader writes it, e.g. "$5,000.00" or "€25.00"; exact for any int64. */
export function money(m: Money | null | undefined): string {
  if (!m || !m.currencyCode) return "—";
  return amount(m.currencyCode, m.minorUnits ?? "0");
}

/** An amount of minor units in a currency, formatted exactly. */
export function amount(currency: string, minorUnits: string): string {
  const nf = new Intl.NumberFormat(undefined, { style: "currency", currency });
  // Intl formats a decimal string exactly (no float on the way).
  return nf.format(decimal(minorUnits, exponent(currency)) as Intl.StringNumericLiteral);
}

/** Minor units as a number of major units, for charts only (never for figures shown as text). */
export function major(currency: string, minorUnits: string): number {
  return Number(decimal(minorUnits, exponent(currency)));
}

/** A share 0..1 as a whole percentage, e.g. "48%". */
export function percent(share: number): string {
  return new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0 }).format(share);
}

/** "2026-11" → "Nov 2026". */
export function month(yyyymm: string): string {
  const [y, m] = yyyymm.split("-").map(Number);
  const d = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, 1));
  return new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric", timeZone: "UTC" }).format(d);
}

/** An RFC 3339 time as a UTC calendar date, e.g. "29 Dec 2026". */
export function day(time: string | null | undefined): string {
  if (!time) return "";
  return new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(
    new Date(time),
  );
}

/** An enum value as words: "STATE_IN_PROGRESS" → "In progress". */
export function enumWords(value: string | undefined, prefix: string): string {
  if (!value) return "";
  const words = value.replace(prefix, "").toLowerCase().replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
