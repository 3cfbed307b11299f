// Votes on roadmap items. Every card shows its item's vote count; a signed-in person gets a
// button per open item that votes (POST /v1/{item}:vote) and, once voted, takes the vote back
// (:unvote). The count shown is always the one the API answered with.
import type { Schemas } from "@guildhall/client";
import { h } from "./dom";
import { client, onSession, problem, session } from "./session";

interface Vote {
  title: string;
  count: number;
  open: boolean;
  /** Known only after this page voted or unvoted; the board does not ask who voted for what. */
  voted?: boolean;
  message?: string;
}

const votes = new Map<string, Vote>();

/** Registers the items on the board and draws their vote slots. */
export function trackVotes(items: Schemas["Item"][]): void {
  for (const it of items) {
    if (!it.name || votes.has(it.name)) continue;
    votes.set(it.name, {
      title: it.title ?? "",
      count: it.voteCount ?? 0,
      open: it.state !== "STATE_DONE" && it.state !== "STATE_DECLINED",
    });
  }
  drawAll();
}

let wired = false;
export function wireVotes(): void {
  if (wired) return;
  wired = true;
  onSession(() => drawAll());
}

const countText = (n: number) => (n === 1 ? "1 vote" : `${n} votes`);

function drawAll(): void {
  for (const slot of document.querySelectorAll<HTMLElement>("[data-vote]")) draw(slot);
}

function draw(slot: HTMLElement): void {
  const name = slot.dataset.vote!;
  const v = votes.get(name);
  if (!v) return;
  if (!session() || !v.open) {
    slot.replaceChildren(h("p", { class: "meta votes" }, countText(v.count)));
    return;
  }
  const button = h(
    "button",
    { type: "button", class: "vote", "aria-pressed": v.voted === undefined ? undefined : String(v.voted) },
    v.voted ? "Voted" : "Vote",
    h("span", { class: "sr-only" }, ` for ${v.title}`),
    ` · ${countText(v.count)}`,
  );
  button.addEventListener("click", () => void cast(name, slot));
  slot.replaceChildren(button);
  if (v.message) slot.append(h("p", { class: "error", role: "alert" }, v.message));
}

async function cast(name: string, slot: HTMLElement): Promise<void> {
  const v = votes.get(name)!;
  const item = name.replace("items/", "");
  const button = slot.querySelector("button");
  if (button) button.disabled = true;
  const path = { params: { path: { item } }, body: {} };
  try {
    const { data, error, response } = v.voted
      ? await client().POST("/v1/items/{item}:unvote", path)
      : await client().POST("/v1/items/{item}:vote", path);
    if (data) {
      votes.set(name, { ...v, count: data.voteCount ?? v.count, voted: !v.voted, message: undefined });
    } else {
      votes.set(name, { ...v, message: `Your vote was not counted (${problem(response.status, error)}).` });
    }
  } catch {
    votes.set(name, { ...v, message: "Your vote was not counted: the server could not be reached." });
  }
  draw(slot);
  slot.querySelector("button")?.focus(); // the button was redrawn; keep the keyboard where it was
}
