/**
 * identity-store (one identity per browser profile): in Node it falls back to memory; in Debian's
 * Chromium a reload, a second tab and two tabs loading at once all get the one stored identity,
 * its private keys stay non-extractable, and its wrapped secret seals a key backup that, opened in
 * a fresh browser context, brings back the same member.
 */
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "@/__tests__/e2e/helpers/browser";
import { serveBundledPage, type BundledPage } from "@/__tests__/helpers/bundle-page";
import { clearIdentity, exportIdentitySecret, identityFromSecret, installIdentity, loadOrCreateIdentity } from "@/lib/crypto";

describe("profile identity in Node", () => {
  it("imports without a browser, keeps one identity per process, and exports a secret that rebuilds it", async () => {
    const a = await loadOrCreateIdentity();
    expect(a.userId).toMatch(/^[0-9a-f]{32}$/);
    expect(await loadOrCreateIdentity()).toBe(a);
    expect(a.signingKeyPair.privateKey.extractable).toBe(false);
    const secret = await exportIdentitySecret();
    expect((await identityFromSecret(secret)).userId).toBe(a.userId);
    await clearIdentity();
    const b = await loadOrCreateIdentity();
    expect(b.userId).not.toBe(a.userId);
    expect((await installIdentity(secret)).userId).toBe(a.userId);
    expect((await loadOrCreateIdentity()).userId).toBe(a.userId);
  });

  it("refuses a secret whose private key does not match its public key", async () => {
    const one = await exportIdentitySecret();
    await clearIdentity();
    await loadOrCreateIdentity();
    const two = await exportIdentitySecret();
    await expect(identityFromSecret({ ...one, signingPrivate: two.signingPrivate })).rejects.toThrow(/does not (import|match)/);
    await expect(identityFromSecret({ ...one, agreementPrivate: two.agreementPrivate })).rejects.toThrow(/does not (import|match)/);
    await expect(identityFromSecret({ ...one, signingPrivate: "AAAA" })).rejects.toThrow(/32 bytes/);
  });
});

describe("profile identity in Chromium", () => {
  let site: BundledPage | undefined;
  let origin = "";
  let browser: Browser;

  beforeAll(async () => {
    site = await serveBundledPage(`import * as c from "@/lib/crypto"; (window as any).qsec = c;`);
    origin = site.origin;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  const load = (page: Page) =>
    page.evaluate(async () => {
      const q = (window as any).qsec;
      const id = await q.loadOrCreateIdentity();
      let exportFails = false;
      try {
        await crypto.subtle.exportKey("pkcs8", id.signingKeyPair.privateKey);
      } catch {
        exportFails = true;
      }
      return { userId: id.userId as string, agreementKey: id.agreementKey as string, exportFails };
    });

  it("a reload, a second tab and two tabs loading at once all get the one profile identity", async () => {
    const ctx = await browser.newContext();
    const [p1, p2] = await Promise.all([ctx.newPage(), ctx.newPage()]);
    await Promise.all([p1.goto(origin), p2.goto(origin)]);
    const [a, b] = await Promise.all([load(p1), load(p2)]); // both find no record and race to store one
    expect(a.userId).toMatch(/^[0-9a-f]{32}$/);
    expect(b.userId).toBe(a.userId);
    expect(b.agreementKey).toBe(a.agreementKey);
    expect(a.exportFails).toBe(true);
    await p1.reload();
    const reloaded = await load(p1);
    expect(reloaded).toEqual(a);
    const p3 = await ctx.newPage();
    await p3.goto(origin);
    expect((await load(p3)).userId).toBe(a.userId);
    // Chromium's import of a mismatched secret is refused too (by import or by the pair check).
    const mismatch = await p3.evaluate(async () => {
      const q = (window as any).qsec;
      const mine = await q.exportIdentitySecret();
      const { secret: other } = await q.generateIdentityWithSecret();
      const tries = [
        { ...mine, signingPrivate: other.signingPrivate },
        { ...mine, agreementPrivate: other.agreementPrivate },
      ];
      const out: string[] = [];
      for (const t of tries)
        out.push(
          await q.identityFromSecret(t).then(
            () => "accepted",
            (e: Error) => e.message,
          ),
        );
      return out;
    });
    for (const m of mismatch) expect(m).toMatch(/does not (import|match)/);
    // Another browser profile is another member.
    const other = await browser.newContext();
    const o = await other.newPage();
    await o.goto(origin);
    expect((await load(o)).userId).not.toBe(a.userId);
    await other.close();
    await ctx.close();
  });

  it("a backup sealed with the wrapped secret restores the same member in a fresh context; a wrong key says so", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(origin);
    const me = await load(page);
    const sealed = await page.evaluate(async () => {
      const q = (window as any).qsec;
      const key = q.newRecoveryKey();
      const code = await q.encodeRecoveryCode(key);
      const backupId = await q.recoveryBackupId(key);
      const payload = { v: 1, identity: await q.exportIdentitySecret(), epochKeys: [], rooms: [], createdAt: Date.now() };
      const blob = await q.sealBackup(payload, await q.kekFromRecoveryKey(key), { kind: "recovery" }, backupId);
      return { code, backupId, blob: q.toB64url(blob) };
    });
    // The sealed blob never holds the private key in the clear.
    const secretD = await page.evaluate(async () => (await (window as any).qsec.exportIdentitySecret()).signingPrivate);
    expect(Buffer.from(sealed.blob, "base64url").includes(Buffer.from(secretD, "base64url"))).toBe(false);
    await ctx.close();

    const fresh = await browser.newContext();
    const f = await fresh.newPage();
    await f.goto(origin);
    const before = await load(f);
    expect(before.userId).not.toBe(me.userId);
    const wrong = await f.evaluate(async (s) => {
      const q = (window as any).qsec;
      const other = await q.encodeRecoveryCode(q.newRecoveryKey());
      try {
        await q.openBackup(q.fromB64url(s.blob), await q.kekFromRecoveryKey(await q.decodeRecoveryCode(other)), s.backupId);
        return "opened";
      } catch (e: any) {
        return `${e.name}:${e.reason}:${e.message}`;
      }
    }, sealed);
    expect(wrong).toMatch(/^BackupError:wrong-secret:Wrong passphrase or recovery key/);
    const restored = await f.evaluate(async (s) => {
      const q = (window as any).qsec;
      const key = await q.decodeRecoveryCode(s.code.toLowerCase().replace(/-/g, " "));
      const payload = await q.openBackup(q.fromB64url(s.blob), await q.kekFromRecoveryKey(key), await q.recoveryBackupId(key));
      return (await q.installIdentity(payload.identity)).userId;
    }, sealed);
    expect(restored).toBe(me.userId);
    await f.reload();
    const after = await load(f);
    expect(after.userId).toBe(me.userId); // stored in this profile now
    expect(after.exportFails).toBe(true); // and non-extractable again
    await fresh.close();
  });
});
