// The reference board: one page that shows a community's plan, people and money, read from the
// public API with the typed client (clients/typescript). It needs no token; a person who signs
// in (by a mailed link, see session.ts) may also vote on roadmap items and follow their offers.
import "./style.css";
import { wireAccount } from "./account";
import { load } from "./data";
import { wireOffer } from "./offer";
import { wireOwnOffers } from "./own";
import { render } from "./render";
import { anonymous, completeFromLink } from "./session";
import { trackVotes, wireVotes } from "./votes";

const status = document.getElementById("status")!;
const accountStatus = document.getElementById("account-status")!;

wireAccount(document.getElementById("account")!, document.getElementById("signin-panel")!);
wireOffer(document.getElementById("offer") as HTMLFormElement);
wireVotes();
wireOwnOffers();

// A sign-in link's code is taken from the address before anything else happens.
const signingIn = completeFromLink()
  .then((msg) => {
    accountStatus.textContent = msg;
  })
  .catch(() => {
    accountStatus.textContent = "Signing in failed: the server could not be reached.";
  });

// A link opened in a tab that already shows the board changes only the fragment.
window.addEventListener("hashchange", () => {
  if (!window.location.hash.startsWith("#signin=")) return;
  completeFromLink()
    .then((msg) => {
      accountStatus.textContent = msg;
    })
    .catch(() => {
      accountStatus.textContent = "Signing in failed: the server could not be reached.";
    });
});

load(anonymous)
  .then(async (data) => {
    const failed = render(data);
    if (data.roadmap.ok) trackVotes([...data.roadmap.value.now, ...data.roadmap.value.next, ...data.roadmap.value.later]);
    status.textContent = failed.length
      ? `Some parts could not be loaded: ${failed.join(", ")}.`
      : "";
    await signingIn;
    document.body.dataset.state = "ready";
  })
  .catch((e: unknown) => {
    status.textContent = `The board could not be loaded: ${e instanceof Error ? e.message : String(e)}`;
    document.body.dataset.state = "failed";
  });
