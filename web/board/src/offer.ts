// The "help wanted" form: a volunteer offer (POST /v1/volunteers), anonymous or, when signed in,
// sent with the session so the offer is the person's to follow ("Your offers"). It shows the
// API's acknowledgement, or its field violations beside the fields they name.
import { fieldErrors, type Schemas } from "@guildhall/client";
import { refreshOwnOffers } from "./own";
import { client, session } from "./session";

// Form field names are the Volunteer's JSON names; errors for "skills[2]" belong to "skills".
const FIELDS = ["displayName", "contact", "skills", "hoursPerMonth", "interests"] as const;
type Field = (typeof FIELDS)[number];

export function wireOffer(form: HTMLFormElement): void {
  const result = form.querySelector<HTMLElement>("#offer-result")!;
  const button = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
  // One request id per distinct offer: a retry of the same offer (a double click, a flaky
  // network) is answered once; an edited offer is a new request.
  let last = { body: "", requestId: "" };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    result.textContent = "";
    result.className = "";

    const values = new FormData(form);
    const text = (k: Field) => String(values.get(k) ?? "").trim();
    const hoursText = text("hoursPerMonth");
    if (hoursText !== "" && !/^\d+$/.test(hoursText)) {
      showErrors(form, { hoursPerMonth: "a whole number of hours, e.g. 10" });
      return;
    }
    const volunteer: Schemas["Volunteer"] = {
      displayName: text("displayName"),
      contact: text("contact"),
      skills: text("skills")
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
      hoursPerMonth: hoursText === "" ? 0 : Number(hoursText),
      interests: text("interests"),
    };
    const signedIn = session();
    const body = JSON.stringify([signedIn?.person ?? "", volunteer]);
    if (body !== last.body) last = { body, requestId: crypto.randomUUID() };

    button.disabled = true;
    try {
      const { data, error, response } = await client().POST("/v1/volunteers", {
        params: { query: { requestId: last.requestId } },
        body: volunteer,
      });
      if (data) {
        result.className = "ack";
        result.textContent = data.message ?? "Thank you!";
        form.reset();
        last = { body: "", requestId: "" };
        if (signedIn) void refreshOwnOffers();
        return;
      }
      const byField = fieldErrors(error, "volunteer");
      const mapped: Partial<Record<Field, string>> = {};
      const other: string[] = [];
      for (const [field, msg] of Object.entries(byField)) {
        const base = field.replace(/\[\d+\]$/, "") as Field;
        if (FIELDS.includes(base)) mapped[base] ??= msg;
        else other.push(`${field}: ${msg}`);
      }
      showErrors(form, mapped);
      result.className = "problem";
      result.textContent =
        response.status === 400
          ? `Please check the highlighted fields.${other.length ? " " + other.join("; ") : ""}`
          : response.status === 429
            ? "Too many offers from here just now; please try again in a minute."
            : `Your offer could not be sent (${response.status}${error?.message ? ": " + error.message : ""}).`;
    } catch {
      result.className = "problem";
      result.textContent = "Your offer could not be sent: the server could not be reached.";
    } finally {
      button.disabled = false;
    }
  });
}

function clearErrors(form: HTMLFormElement): void {
  for (const f of FIELDS) {
    const input = form.elements.namedItem(f) as HTMLInputElement | null;
    input?.removeAttribute("aria-invalid");
    const err = input ? document.getElementById(`${input.id}-error`) : null;
    if (err) err.textContent = "";
  }
}

function showErrors(form: HTMLFormElement, errors: Partial<Record<Field, string>>): void {
  let first: HTMLInputElement | null = null;
  for (const f of FIELDS) {
    const msg = errors[f];
    if (!msg) continue;
    const input = form.elements.namedItem(f) as HTMLInputElement | null;
    if (!input) continue;
    input.setAttribute("aria-invalid", "true");
    const err = document.getElementById(`${input.id}-error`);
    if (err) err.textContent = msg;
    first ??= input;
  }
  first?.focus();
}
