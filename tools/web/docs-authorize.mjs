// Drives the docs page (/docs/) in headless Chromium as a person would: Authorize with a
// token, then try a write (create a release). Exits 0 when the write succeeded with the token.
//
// Usage: node docs-authorize.mjs BASE_URL TOKEN RELEASE_ID
// CHROMIUM names the browser binary (default /usr/bin/chromium, Debian's package).
import { chromium } from "playwright-core";

const [base, token, releaseId] = process.argv.slice(2);
if (!base || !token || !releaseId) {
  console.error("usage: node docs-authorize.mjs BASE_URL TOKEN RELEASE_ID");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  const sent = [];
  page.on("request", (r) => {
    if (r.url().includes("/v1/releases")) sent.push({ method: r.method(), auth: r.headers()["authorization"] || "" });
  });
  await page.goto(base + "/docs/");
  // Authorize: the dialog lists the bearer scheme with one value field.
  await page.getByRole("button", { name: "Authorize" }).first().click();
  const dialog = page.locator(".dialog-ux");
  await dialog.locator("input").first().fill(token);
  await dialog.locator("button.modal-btn.authorize").click(); // "Apply credentials"
  await dialog.locator("button.modal-btn.btn-done").click(); // "Close"

  // Open "POST /v1/releases", try it out, fill the id and the body, execute.
  const op = page.locator("#operations-RoadmapService-RoadmapService_CreateRelease");
  await op.locator(".opblock-summary").click();
  await op.getByRole("button", { name: "Try it out" }).click();
  await op.locator('tr[data-param-name="releaseId"] input').fill(releaseId);
  await op.locator("textarea.body-param__text").fill(JSON.stringify({ displayName: "Release from the docs page" }));
  await op.getByRole("button", { name: "Execute" }).click();
  const status = op.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 15000 });
  const code = (await status.innerText()).trim();
  const post = sent.find((r) => r.method === "POST");
  console.log(JSON.stringify({ status: code, authorization: post ? post.auth.replace(token, "<token>") : null }));
  if (code !== "200" || !post || post.auth !== "Bearer " + token) process.exit(1);
} finally {
  await browser.close();
}
