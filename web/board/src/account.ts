// The account area in the page header: a "Sign in" button that opens a small form asking for an
// email address (POST /v1/signIn:request, whose answer is the same for every address), or, once
// signed in through the mailed link, who is signed in and a "Sign out" button.
import { fieldErrors } from "@guildhall/client";
import { h } from "./dom";
import { onSession, problem, requestLink, signOut, type Session } from "./session";

export function wireAccount(area: HTMLElement, panel: HTMLElement): void {
  const toggle = h("button", { type: "button", class: "signin-toggle", "aria-expanded": "false", "aria-controls": panel.id }, "Sign in");
  const input = h("input", {
    id: "signin-email",
    name: "email",
    type: "email",
    autocomplete: "email",
    required: true,
    "aria-describedby": "signin-email-hint signin-email-error",
  });
  const err = h("p", { class: "error", id: "signin-email-error" });
  const result = h("div", { id: "signin-result", role: "status", "aria-live": "polite" });
  const send = h("button", { type: "submit" }, "Email me a sign-in link");
  const form = h(
    "form",
    { id: "signin", "aria-labelledby": "signin-h", novalidate: true },
    h("h2", { id: "signin-h" }, "Sign in"),
    h("p", {}, "We will email you a link that signs you in on this page. There is no password."),
    h(
      "div",
      { class: "field" },
      h("label", { for: "signin-email" }, "Email address"),
      input,
      h("p", { class: "hint", id: "signin-email-hint" }, "The address on your profile."),
      err,
    ),
    h("div", { class: "actions" }, send, h("button", { type: "button", class: "secondary", "data-close": true }, "Cancel")),
    result,
  );
  panel.replaceChildren(form);

  const open = (yes: boolean) => {
    panel.hidden = !yes;
    toggle.setAttribute("aria-expanded", String(yes));
    if (yes) input.focus();
  };
  toggle.addEventListener("click", () => open(panel.hidden));
  form.querySelector("[data-close]")!.addEventListener("click", () => {
    open(false);
    toggle.focus();
  });
  panel.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      open(false);
      toggle.focus();
    }
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    input.removeAttribute("aria-invalid");
    err.textContent = "";
    result.textContent = "";
    result.className = "";
    const email = input.value.trim();
    if (!email) {
      input.setAttribute("aria-invalid", "true");
      err.textContent = "Type the email address on your profile.";
      input.focus();
      return;
    }
    send.disabled = true;
    try {
      const r = await requestLink(email);
      if (r.message !== undefined) {
        result.className = "ack";
        result.textContent = r.message;
        return;
      }
      const byField = fieldErrors(r.error);
      if (r.status === 400 && byField["email"]) {
        input.setAttribute("aria-invalid", "true");
        err.textContent = byField["email"];
        input.focus();
        return;
      }
      result.className = "problem";
      result.textContent =
        r.status === 429
          ? `Too many sign-in requests just now; please try again${r.retryAfter ? ` in ${r.retryAfter} seconds` : " later"}.`
          : `No link could be sent (${problem(r.status, r.error)}).`;
    } catch {
      result.className = "problem";
      result.textContent = "No link could be sent: the server could not be reached.";
    } finally {
      send.disabled = false;
    }
  });

  const out = h("button", { type: "button", class: "signout" }, "Sign out");
  out.addEventListener("click", () => {
    void signOut();
    toggle.focus(); // the sign-out button is gone; the sign-in button takes its place
  });

  onSession((s: Session | null) => {
    if (s) {
      panel.hidden = true;
      area.replaceChildren(h("p", { class: "who" }, "Signed in as ", h("strong", {}, s.displayName)), out);
    } else {
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
      area.replaceChildren(toggle);
    }
  });
}
