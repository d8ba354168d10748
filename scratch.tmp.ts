import { launchChromium } from "./__tests__/e2e/helpers/browser";
(async () => {
  const b = await launchChromium();
  const ctx = await b.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.log("PAGEERR", e.message));
  page.on("console", (m) => { if (m.type() === "error" || m.type()==="warning") console.log("CONSOLE", m.text().slice(0, 300)); });
  await page.goto("http://127.0.0.1:3917/lab?ldmax=200&lstep=20", { timeout: 120000 });
  await page.getByTestId("run-link").click();
  const t = Date.now();
  await page.waitForFunction(() => document.querySelector('[data-testid="job-link"]')?.getAttribute("data-status") === "done", null, { timeout: 200000 });
  console.log("link done", Date.now() - t, await page.getByTestId("link-max-table").textContent());
  const [dl] = await Promise.all([page.waitForEvent("download"), page.getByTestId("png-link-rate").click()]);
  await dl.saveAs("/tmp/lab-dev/link.png");
  await page.getByTestId("link-panel").screenshot({ path: "/tmp/lab-dev/linkpanel.png" });
  await b.close();
})();
