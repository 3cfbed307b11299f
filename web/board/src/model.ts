// The board's view of the community: what render.ts draws. data.ts fills it from the public API.
import type { Schemas } from "@guildhall/client";

export type Part<T> = { ok: true; value: T } | { ok: false; message: string };

export type Item = Schemas["Item"] & {
  // Progress figures, whole percent 0..100 (see Item in the API reference).
  fundedPercent?: number | null;
  staffedPercent?: number | null;
  donePercent?: number;
};

export interface Roadmap {
  now: Item[];
  next: Item[];
  later: Item[];
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

export interface Board {
  roadmap: Part<Roadmap>;
  money: Part<CurrencyMoney[]>;
  goals: Part<Schemas["Goal"][]>;
  teams: Part<Team[]>;
  vacancies: Part<Schemas["Position"][]>;
  decisions: Part<Decisions>;
}
