/**
 * tab-identity-store ("Join as someone else in this tab"): in Node it must import and fall back to an in-memory identity; in a real browser
 * (Debian's Chromium through playwright-core) a reload keeps the identity, a
 * new tab gets a new one, and a duplicated tab (sessionStorage copied) gets a fresh one while the
 * original keeps its own.
 */
import { launchChromium } from "@/__tests__/e2e/helpers/browser";
import { serveBundledPage, type BundledPage } from "@/__tests__/helpers/bundle-page";
import { clearTabIdentity, currentTabId, loadOrCreateTabIdentity } from "@/lib/crypto";

describe("tab-identity-store in Node", () => {
  it("imports without a browser and returns a working in-memory identity", async () => {
    const a = await loadOrCreateTabIdentity();
    expect(a.userId).toMatch(/^[0-9a-f]{32}$/);
    expect(await loadOrCreateTabIdentity()).toBe(a); // cached for the page's lifetime
    expect(currentTabId()).toBeNull();
    await clearTabIdentity();
    const b = await loadOrCreateTabIdentity();
    expect(b.userId).not.toBe(a.userId);
  });
});

// Never skipped: a missing browser is a setup error (.ci/run installs Debian's chromium).
const browserIt = it;

describe("tab-identity-store in Chromium", () => {
  let site: BundledPage | undefined;
  let origin = "";
  let browser: import("playwright-core").Browser;

  beforeAll(async () => {
    site = await serveBundledPage(`import * as c from "@/lib/crypto"; (window as any).qsec = c;`);
    origin = site.origin;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  type Loaded = { userId: string; tabId: string | null; extractable: boolean; exportFails: boolean };
  const load = (page: import("playwright-core").Page) =>
    page.evaluate(async (): Promise<Loaded> => {
      const q = (window as any).qsec;
      const id = await q.loadOrCreateTabIdentity();
      let exportFails = false;
      try {
        await crypto.subtle.exportKey("pkcs8", id.signingKeyPair.privateKey);
      } catch {
        exportFails = true;
      }
      return {
        userId: id.userId,
        tabId: q.currentTabId(),
        extractable: id.signingKeyPair.privateKey.extractable || id.agreementKeyPair.privateKey.extractable,
        exportFails,
      };
    });

  browserIt("keeps the identity across a reload, separates tabs, and gives a duplicated tab a fresh one", async () => {
    const ctx = await browser.newContext();
    const tab1 = await ctx.newPage();
    await tab1.goto(origin);
    const first = await load(tab1);
    expect(first.userId).toMatch(/^[0-9a-f]{32}$/);
    expect(first.extractable).toBe(false);
    expect(first.exportFails).toBe(true);

    await tab1.reload();
    const reloaded = await load(tab1);
    expect(reloaded.userId).toBe(first.userId); // same tab, same member
    expect(reloaded.exportFails).toBe(true); // still non-extractable after IndexedDB

    const tab2 = await ctx.newPage();
    await tab2.goto(origin);
    const second = await load(tab2);
    expect(second.userId).not.toBe(first.userId); // two tabs, two members

    // A duplicated tab starts with a copy of tab1's sessionStorage.
    const dup = await ctx.newPage();
    await dup.addInitScript((tabId) => sessionStorage.getItem("qsec.tabId") ?? sessionStorage.setItem("qsec.tabId", tabId), first.tabId!);
    await dup.goto(origin);
    const duplicated = await load(dup);
    expect(duplicated.userId).not.toBe(first.userId);
    expect(duplicated.tabId).not.toBe(first.tabId);
    await tab1.reload();
    expect((await load(tab1)).userId).toBe(first.userId); // the original keeps its identity

    // Once tab1 is gone, a page with its tab id (a restored tab) gets its identity back.
    const tabId1 = first.tabId!;
    await tab1.close();
    const restored = await ctx.newPage();
    await restored.addInitScript((tabId) => sessionStorage.getItem("qsec.tabId") ?? sessionStorage.setItem("qsec.tabId", tabId), tabId1);
    await restored.goto(origin);
    expect((await load(restored)).userId).toBe(first.userId);

    // clearTabIdentity: the next load makes a new one, and a reload keeps that one.
    await restored.evaluate(() => (window as any).qsec.clearTabIdentity());
    const fresh = await load(restored);
    expect(fresh.userId).not.toBe(first.userId);
    await restored.reload();
    expect((await load(restored)).userId).toBe(fresh.userId);
    await ctx.close();
  });

  browserIt("two copies of one tab id loading at once end up with different identities", async () => {
    const ctx = await browser.newContext();
    const seed = await ctx.newPage();
    await seed.goto(origin);
    const s = await load(seed);
    await seed.close();
    const [p1, p2] = await Promise.all([ctx.newPage(), ctx.newPage()]);
    for (const p of [p1, p2]) await p.addInitScript((tabId) => sessionStorage.getItem("qsec.tabId") ?? sessionStorage.setItem("qsec.tabId", tabId), s.tabId!);
    await Promise.all([p1.goto(origin), p2.goto(origin)]);
    const [a, b] = await Promise.all([load(p1), load(p2)]);
    expect(a.userId).not.toBe(b.userId);
    expect([a.userId, b.userId]).toContain(s.userId);
    await ctx.close();
  });
});
