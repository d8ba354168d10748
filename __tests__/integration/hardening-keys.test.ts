/**
 * Issue 10, finding 8, against the real server: the identity point with the signature
 * (R = identity, S = 0) used to authenticate without any private key.
 */
import { connectRaw } from "../helpers/raw-client";
import { serverPerTest } from "../helpers/per-test";
import { generateIdentity, sign, signAuth, toB64url, transcript, LABEL_XKEY } from "@/lib/crypto";

const t = serverPerTest();

const le = (n: bigint) => {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    b[i] = Number(n & 255n);
    n >>= 8n;
  }
  return b;
};

test("the identity point with (R = identity, S = 0) does not authenticate", async () => {
  const c = await connectRaw(t.srv.url, { authenticate: false });
  t.clients.push(c);
  const honest = await generateIdentity();
  const identityPoint = toB64url(le(1n));
  const forged = new Uint8Array(64);
  forged.set(le(1n), 0);
  const hello = (await c.call("auth:hello", {})) as any;
  expect(hello.ok).toBe(true);
  const r = await c.call("auth:prove", {
    signingKey: identityPoint,
    agreementKey: honest.agreementKey,
    agreementSig: toB64url(forged),
    signature: toB64url(forged),
  });
  expect(r).toMatchObject({ ok: false, error: { code: "AUTH_FAILED" } });
  expect(await c.call("room:join", { roomId: "x", displayName: "eve" })).toMatchObject({ ok: false, error: { code: "NOT_AUTHENTICATED" } });
});

test("a properly signed small-order agreement key does not authenticate", async () => {
  const c = await connectRaw(t.srv.url, { authenticate: false });
  t.clients.push(c);
  const id = await generateIdentity();
  const raw = le(325606250916557431795983626356110631294008115727848805560023387167927233504n);
  const agreementKey = toB64url(raw);
  const agreementSig = await sign(id, transcript(LABEL_XKEY, raw));
  const hello = (await c.call("auth:hello", {})) as any;
  const bad = { ...id, agreementKey };
  const r = await c.call("auth:prove", { signingKey: id.signingKey, agreementKey, agreementSig, signature: await signAuth(bad, hello.data.nonce) });
  expect(r).toMatchObject({ ok: false, error: { code: "AUTH_FAILED" } });
});

test("honest identities still authenticate", async () => {
  const c = await connectRaw(t.srv.url);
  t.clients.push(c);
  expect(await c.call("room:join", { roomId: "ok", displayName: "alice" })).toMatchObject({ ok: true });
});
