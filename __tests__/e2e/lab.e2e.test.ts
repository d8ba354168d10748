/**
 * The BB84 lab in Debian's Chromium, on a dev server and on a production build, each opened on
 * http://127.0.0.1 and http://localhost: the page loads from the landing page without a room, the
 * walkthrough steps by keyboard, a sweep runs to the end in its worker with a progress bar, cancel
 * stops one, an exported CSV holds exactly the run's points (compared with the same seeded sweep
 * run here in Node), a URL restores a setup, the real-link curve runs, axe finds nothing serious,
 * and a phone-width page does not scroll sideways.
 */
import { mkdirSync, readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { parseCsv } from "@/lib/lab/csv";
import { runSweep, sweepTable } from "@/lib/qkd/sweeps";
import { buildApp, startAppServer, type AppServer } from "./helpers/app-server";
import { launchChromium } from "./helpers/browser";
import { axe, contentPastRightEdge, horizontalOverflow, seriousOf, sizedPage, SHOTS } from "./helpers/ux";

jest.setTimeout(300_000);

const MODES = [
  { name: "dev", distDir: ".next-e2e-lab", production: false },
  { name: "production", distDir: ".next-e2e-lab-prod", production: true },
] as const;

let browser: Browser;
beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close().catch(() => undefined);
});

async function jobDone(page: Page, id: string, timeout = 120_000) {
  await page.waitForFunction((i) => ["done", "error"].includes(document.querySelector(`[data-testid="job-${i}"]`)?.getAttribute("data-status") ?? ""), id, {
    timeout,
  });
  expect(await page.getByTestId(`job-${id}`).getAttribute("data-status")).toBe("done");
}

async function downloadText(page: Page, testid: string): Promise<{ name: string; text: string }> {
  const [dl] = await Promise.all([page.waitForEvent("download"), page.getByTestId(testid).click()]);
  const path = await dl.path();
  return { name: dl.suggestedFilename(), text: readFileSync(path, "utf8") };
}

describe.each(MODES)("the lab, $name build", (mode) => {
  let server: AppServer;
  let hosts: { name: string; base: string }[];

  beforeAll(async () => {
    if (mode.production) await buildApp(mode.distDir);
    server = await startAppServer({ distDir: mode.distDir, production: mode.production, readyTimeoutMs: 120_000 });
    hosts = [
      { name: "localhost", base: server.url.replace("//127.0.0.1:", "//localhost:") },
      { name: "127.0.0.1", base: server.url.replace("//localhost:", "//127.0.0.1:") },
    ];
    // The dev server compiles the page and the lab worker on first use (minutes on a busy machine):
    // do that once here, so the scenarios' timeouts measure the lab, not the compiler.
    for (const h of hosts) {
      const page = await sizedPage(browser, 1280, 900);
      await page.goto(`${h.base}/lab?eq=1000&epts=1`, { timeout: 300_000 });
      await page.getByTestId("run-eve").click({ timeout: 300_000 });
      await page.waitForFunction(() => document.querySelector('[data-testid="job-eve"]')?.getAttribute("data-status") === "done", null, { timeout: 300_000 });
      await page.context().close();
    }
  }, 1_500_000);
  afterAll(async () => {
    await server?.stop();
  }, 30_000);

  test("opens from the landing page without a room, on both loopback names", async () => {
    for (const h of hosts) {
      const page = await sizedPage(browser, 1280, 900);
      await page.goto(`${h.base}/`, { timeout: 150_000 });
      await page.getByTestId("lab-link").click();
      await page.getByTestId("lab-page").waitFor({ timeout: 150_000 });
      expect(new URL(page.url()).pathname).toBe("/lab");
      expect(await page.getByTestId("walk-row").count()).toBe(16);
      await page.context().close();
    }
  });

  test("the walkthrough steps with the keyboard, and the step is in the URL", async () => {
    const page = await sizedPage(browser, 1280, 900);
    await page.goto(`${hosts[1].base}/lab?weve=0.5`, { timeout: 150_000 });
    await page.getByTestId("walk-table").waitFor();
    const step = async () => Number(await page.getByTestId("walkthrough").getAttribute("data-step"));
    // Tab from the last walkthrough input reaches the step buttons; Enter presses Next.
    await page.getByTestId("in-weve").focus();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("walk-next");
    await page.keyboard.press("Enter");
    expect(await step()).toBe(1);
    expect(await page.getByTestId("walk-step-title").textContent()).toContain("Eve");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    expect(await step()).toBe(3);
    expect(await page.locator("th", { hasText: "Bases match" }).count()).toBe(1);
    await page.keyboard.press("ArrowLeft");
    expect(await step()).toBe(2);
    await page.keyboard.press("End");
    expect(await step()).toBe(7);
    expect(await page.getByTestId("walk-step-title").textContent()).toContain("Privacy amplification");
    // Next stays focused (aria-disabled) at the end, so the keys keep working.
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("walk-next");
    await page.waitForFunction(() => new URL(location.href).searchParams.get("wstep") === "7");
    await page.keyboard.press("Home");
    expect(await step()).toBe(0);
    await page.context().close();
  });

  test("a Qubits value out of range says why under its field and leaves the row's other fields where they were", async () => {
    const page = await sizedPage(browser, 1280, 900);
    await page.goto(`${hosts[0].base}/lab`, { timeout: 150_000 });
    await page.getByTestId("walk-table").waitFor();
    const tops = () =>
      page.evaluate(() =>
        ["in-wq", "in-wseed", "in-wnoise", "in-weve"].map((id) => document.querySelector(`[data-testid="${id}"]`)!.getBoundingClientRect().top),
      );
    const before = await tops();
    await page.getByTestId("in-wq").fill("100");
    await page.locator('[data-testid="in-wq"][aria-invalid="true"]').waitFor();
    const why = await page.getByTestId("in-wq").getAttribute("aria-describedby");
    expect(await page.locator(`[id="${why}"]`).textContent()).toBe("8–64, whole");
    // The four inputs stay on one line (the error line used to lift Qubits above the others).
    expect(await tops()).toEqual(before);
    expect(new Set(before).size).toBe(1);
    await page.context().close();
  });

  test("an eavesdropper sweep runs to the end with its progress bar, and its CSV is the run's points", async () => {
    const page = await sizedPage(browser, 1280, 900);
    await page.goto(`${hosts[0].base}/lab?eq=20000&epts=6&seed=77`, { timeout: 150_000 });
    await page.getByTestId("run-eve").waitFor();
    // Record every progress value the bar shows.
    await page.evaluate(() => {
      const bar = document.querySelector('[data-testid="progress-eve"]')!;
      const seen: string[] = [];
      (window as unknown as { __seen: string[] }).__seen = seen;
      new MutationObserver(() => seen.push(bar.getAttribute("aria-valuenow") ?? "")).observe(bar, { attributes: true, attributeFilter: ["aria-valuenow"] });
    });
    await page.getByTestId("run-eve").click();
    await jobDone(page, "eve");
    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen.map(Number));
    expect(seen.at(-1)).toBe(6);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId("progress-eve").getAttribute("aria-valuemax")).toBe("6");
    expect(await page.getByTestId("chart-eve").getAttribute("data-rows")).toBe("6");
    expect(await page.locator('[data-testid="chart-eve"] .recharts-scatter-symbol').count()).toBe(6);

    const { name, text } = await downloadText(page, "csv-eve");
    expect(name).toBe("qsec-lab-eve.csv");
    const csv = parseCsv(text);
    const spec = { kind: "eve" as const, qubits: 20_000, noise: 0.02, fMax: 1, points: 6, seed: 77 };
    const expected = sweepTable(spec, runSweep(spec));
    expect(csv[0]).toEqual(expected.columns);
    expect(csv.slice(1)).toHaveLength(6);
    csv.slice(1).forEach((row, i) =>
      row.forEach((cell, j) => {
        const want = expected.rows[i][j];
        if (typeof want === "number") expect(Number(cell)).toBeCloseTo(want, 12);
        else expect(cell).toBe(want === null ? "" : String(want));
      }),
    );
    // The flagged count shown is the CSV's.
    const flagged = csv.slice(1).filter((r) => r[expected.columns.indexOf("outside_ci")] === "true").length;
    expect(await page.getByTestId("outside-count").getAttribute("data-count")).toBe(String(flagged));

    const [dl] = await Promise.all([page.waitForEvent("download"), page.getByTestId("png-eve").click()]);
    const bytes = readFileSync(await dl.path());
    expect([...bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(bytes.length).toBeGreaterThan(5000);
    await page.context().close();
  });

  test("cancel stops a running sweep, and another run works afterwards", async () => {
    const page = await sizedPage(browser, 1280, 900);
    await page.goto(`${hosts[1].base}/lab?cbits=1000000&cpts=41`, { timeout: 150_000 });
    const job = page.getByTestId("job-cascade");
    // Run stays disabled until the page has hydrated, so this click waits for it instead of being lost.
    await page.getByTestId("run-cascade").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="job-cascade"]')?.getAttribute("data-status") === "running", null, {
      timeout: 60_000,
    });
    await page.waitForTimeout(1000);
    await page.getByTestId("cancel-cascade").click();
    expect(await job.getAttribute("data-status")).toBe("cancelled");
    const doneAt = Number(await job.getAttribute("data-done"));
    expect(doneAt).toBeLessThan(7 * 41);
    // The worker is gone: no point arrives after the cancel.
    await page.waitForTimeout(2000);
    expect(Number(await job.getAttribute("data-done"))).toBe(doneAt);
    expect(await page.getByTestId("status-cascade").textContent()).toContain("cancelled");
    // A new run starts a new worker and finishes.
    await page.getByTestId("in-cbits").fill("2000");
    await page.getByTestId("in-cpts").fill("2");
    await page.getByTestId("run-cascade").click();
    await jobDone(page, "cascade");
    expect(await job.getAttribute("data-total")).toBe(String(7 * 2));
    await page.context().close();
  });

  test("a shared URL restores the setup; a bad parameter is named and ignored", async () => {
    const page = await sizedPage(browser, 1280, 900);
    const q = "wq=24&wseed=5&weve=0.5&wstep=2&enoise=0.03&kblocks=1000,20000&lblocks=10000,100000&ldet=0.2&cvars=original,option7&epts=banana";
    await page.goto(`${hosts[0].base}/lab?${q}`, { timeout: 150_000 });
    await page.getByTestId("walk-table").waitFor();
    expect(await page.getByTestId("walk-row").count()).toBe(24);
    expect(await page.getByTestId("walkthrough").getAttribute("data-step")).toBe("2");
    expect(await page.getByTestId("in-wseed").inputValue()).toBe("5");
    expect(await page.getByTestId("in-enoise").inputValue()).toBe("0.03");
    expect(await page.getByTestId("in-epts").inputValue()).toBe("11");
    expect(await page.getByTestId("in-kblocks").inputValue()).toBe("1000, 20000");
    expect(await page.getByTestId("in-link-detectorEfficiency").inputValue()).toBe("0.2");
    expect(await page.getByTestId("cvar-original").isChecked()).toBe(true);
    expect(await page.getByTestId("cvar-yanetal").isChecked()).toBe(false);
    expect(await page.getByTestId("lab-ignored").textContent()).toContain("epts");
    // Editing a field rewrites the URL, which opens the same setup elsewhere.
    await page.getByTestId("in-efmax").fill("0.5");
    await page.waitForFunction(() => new URL(location.href).searchParams.get("efmax") === "0.5");
    const shared = page.url();
    const other = await sizedPage(browser, 1280, 900);
    await other.goto(shared.replace("//localhost:", "//127.0.0.1:"), { timeout: 150_000 });
    await other.getByTestId("walk-table").waitFor();
    expect(await other.getByTestId("in-efmax").inputValue()).toBe("0.5");
    expect(await other.getByTestId("walk-row").count()).toBe(24);
    // Same seed, same photons: the two pages show the same table.
    expect(await other.getByTestId("walk-table").textContent()).toBe(await page.getByTestId("walk-table").textContent());
    await other.context().close();
    await page.context().close();
  });

  test("the real-link curve runs in the worker and lists a maximum distance per block size", async () => {
    const page = await sizedPage(browser, 1280, 900);
    await page.goto(`${hosts[1].base}/lab?ldmax=40&lstep=20&lblocks=10000,1000000`, { timeout: 150_000 });
    await page.getByTestId("run-link").click();
    await jobDone(page, "link", 180_000);
    const { text } = await downloadText(page, "csv-link-rate");
    const rows = parseCsv(text);
    expect(rows[0][0]).toBe("block_nX");
    expect(rows.slice(1).map((r) => [r[0], r[1]])).toEqual([
      ["10000", "0"],
      ["10000", "20"],
      ["10000", "40"],
      ["1000000", "0"],
      ["1000000", "20"],
      ["1000000", "40"],
    ]);
    // Longer blocks give more key per pulse and reach further.
    expect(Number(rows[4][2])).toBeGreaterThan(Number(rows[1][2]));
    const km = async (b: number) => parseFloat((await page.getByTestId(`link-max-${b}`).textContent()) ?? "");
    expect(await km(10000)).toBeGreaterThan(50);
    expect(await km(1000000)).toBeGreaterThan(await km(10000));
    await page.context().close();
  });

  test("axe finds no serious violation, light and dark, with charts drawn", async () => {
    for (const scheme of ["light", "dark"] as const) {
      const page = await sizedPage(browser, 1280, 900, scheme);
      await page.goto(`${hosts[0].base}/lab?eq=5000&epts=3&wstep=4&weve=0.3`, { timeout: 150_000 });
      await page.getByTestId("run-eve").click();
      await jobDone(page, "eve");
      const problems = seriousOf(await axe(page));
      await page.screenshot({ path: `${SHOTS}/lab-${mode.name}-${scheme}.png`, fullPage: true });
      expect(problems).toEqual([]);
      expect(await page.locator("main").count()).toBe(1);
      expect(await page.locator("h1").count()).toBe(1);
      await page.context().close();
    }
  });

  test("phone width: no sideways scroll; the qubit table scrolls in its own box", async () => {
    const page = await sizedPage(browser, 390, 844);
    await page.goto(`${hosts[1].base}/lab?wstep=7&wq=64`, { timeout: 150_000 });
    await page.getByTestId("walk-table").waitFor();
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    expect(await contentPastRightEdge(page)).toEqual({ px: 0, what: [] });
    const wrap = await page.getByTestId("walk-table-wrap").evaluate((el) => ({ client: el.clientWidth, scroll: el.scrollWidth }));
    expect(wrap.client).toBeLessThanOrEqual(390);
    await page.getByTestId("walk-next").scrollIntoViewIfNeeded();
    expect(await page.getByTestId("walk-next").isVisible()).toBe(true);
    await page.screenshot({ path: `${SHOTS}/lab-${mode.name}-phone.png`, fullPage: true });
    await page.context().close();
  });
});
