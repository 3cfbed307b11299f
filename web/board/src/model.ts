// The board's view of the community: what render.ts draws. data.ts fills it from the
// transparency report.
import type { Schemas } from "@guildhall/client";

/** A part of the board: its figures, or why they are missing (its service did not answer). */
export type Part<T> = { ok: true; value: T } | { ok: false; message: string };

export type Item = Schemas["Item"];

export interface Roadmap {
  now: Item[];
  next: Item[];
  later: Item[];
  /** Items per horizon before the report's cap. */
  counts: { now: number; next: number; later: number };
  releases: Schemas["Release"][];
}

export interface MonthFigures {
  month: string; // YYYY-MM, UTC
  income: string; // minor units
  costs: string; // minor units
}

export interface CurrencyMoney {
  currencyCode: string;
  months: MonthFigures[]; // oldest first
  cash: string; // minor units
  runwayMonths: number | null;
}

export interface Team {
  name: string;
  displayName: string;
  memberCount: number;
  leads: string[];
}

export interface Decision {
  name: string;
  question: string;
  closeTime: string;
  outcome: string;
}

export interface Decisions {
  open: Decision[];
  /** Reached in the last 90 days, latest first. */
  decided: Decision[];
}

export interface Vacancies {
  positions: Schemas["Position"][];
  openCount: number;
}

export interface Packages {
  seekingMaintainer: Schemas["Package"][];
  count: number;
}

export interface Board {
  roadmap: Part<Roadmap>;
  money: Part<CurrencyMoney[]>;
  goals: Part<Schemas["Goal"][]>;
  teams: Part<Team[]>;
  vacancies: Part<Vacancies>;
  volunteers: Part<Schemas["VolunteerStats"]>;
  packages: Part<Packages>;
  decisions: Part<Decisions>;
}
