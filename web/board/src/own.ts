// "Your offers": a signed-in person's own offers of help and where each stands
// (GET /v1/volunteers?mine=true: coordinators and leads would otherwise get everyone's).
import type { Schemas } from "@guildhall/client";
import { fill, h } from "./dom";
import { day, enumWords } from "./format";
import { client, onSession, problem, session } from "./session";

const ID = "own-offers-body";

export function wireOwnOffers(): void {
  onSession(() => void refreshOwnOffers());
}

/** Reads the signed-in person's offers again and draws them; hides the part when signed out. */
export async function refreshOwnOffers(): Promise<void> {
  const box = document.getElementById("own-offers")!;
  const s = session();
  if (!s) {
    box.hidden = true;
    fill(ID);
    return;
  }
  box.hidden = false;
  fill(ID, h("p", { class: "meta" }, "Loading your offers…"));
  const mine: Schemas["Volunteer"][] = [];
  let failure = "";
  let pageToken = "";
  for (let i = 0; i < 10; i++) {
    const { data, error, response } = await client().GET("/v1/volunteers", { params: { query: { pageSize: 100, pageToken, mine: true } } });
    if (session() !== s) return; // signed out meanwhile
    if (!data) {
      failure = problem(response.status, error);
      break;
    }
    mine.push(...(data.volunteers ?? []));
    pageToken = data.nextPageToken ?? "";
    if (!pageToken) break;
  }
  if (failure) {
    fill(ID, h("p", { class: "unavailable" }, `Your offers could not be loaded (${failure}).`));
    return;
  }
  fill(
    ID,
    mine.length
      ? h(
          "ul",
          { class: "offers-list" },
          mine.map((v) =>
            h(
              "li",
              { "data-volunteer": v.name },
              h("h4", {}, v.displayName),
              h("p", {}, "State: ", h("strong", { class: "state" }, enumWords(v.state, "STATE_"))),
              v.interests && h("p", {}, v.interests),
              h("p", { class: "meta" }, `Offered ${day(v.createTime)}`),
            ),
          ),
        )
      : h("p", { class: "empty" }, "You have not offered help while signed in yet."),
  );
}
