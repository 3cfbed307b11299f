// The reference board: one page that shows a community's plan, people and money, read from the
// public API with the typed client (clients/typescript). It needs no token.
import "./style.css";
import { createGuildhallClient } from "@guildhall/client";
import { load } from "./data";
import { render } from "./render";
import { wireOffer } from "./offer";

const api = createGuildhallClient({ baseUrl: window.location.origin });

wireOffer(api, document.getElementById("offer") as HTMLFormElement);

const status = document.getElementById("status")!;
load(api)
  .then((data) => {
    const failed = render(data);
    status.textContent = failed.length
      ? `Some parts could not be loaded: ${failed.join(", ")}.`
      : "";
    document.body.dataset.state = "ready";
  })
  .catch((e: unknown) => {
    status.textContent = `The board could not be loaded: ${e instanceof Error ? e.message : String(e)}`;
    document.body.dataset.state = "failed";
  });
