/**
 * A bare socket.io-client that speaks the protocol by hand: honest when the test wants, hostile
 * when it doesn't. It authenticates with a real WebCrypto identity.
 */
import { io, type Socket } from "socket.io-client";
import { generateIdentity, signAuth, type Identity } from "@/lib/crypto";
import type { Ack, ClientToServerEvents, ServerToClientEvents } from "@/lib/protocol";

export type RawSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface RawClient {
  socket: RawSocket;
  identity: Identity;
  userId: string;
  /** Sends any event name with any arguments and resolves with the ack (or "no-ack" after 1 s). */
  call(event: string, ...args: unknown[]): Promise<Ack<any> | "no-ack">;
  /** Everything this socket received, by event name. */
  received: Map<string, unknown[]>;
  close(): void;
}

export async function connectRaw(url: string, opts: { authenticate?: boolean; identity?: Identity } = {}): Promise<RawClient> {
  const socket: RawSocket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
  const received = new Map<string, unknown[]>();
  socket.onAny((event: string, payload: unknown) => {
    if (!received.has(event)) received.set(event, []);
    received.get(event)!.push(payload);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  const call = (event: string, ...args: unknown[]) =>
    new Promise<Ack<any> | "no-ack">((resolve) => {
      const t = setTimeout(() => resolve("no-ack"), 1000);
      (socket as unknown as { emit(...a: unknown[]): void }).emit(event, ...args, (res: Ack<any>) => {
        clearTimeout(t);
        resolve(res);
      });
    });
  const identity = opts.identity ?? (await generateIdentity());
  const client: RawClient = { socket, identity, userId: identity.userId, call, received, close: () => socket.close() };
  if (opts.authenticate !== false) {
    const hello = (await call("auth:hello", {})) as Ack<{ nonce: string }>;
    if (!hello.ok) throw new Error("auth:hello failed");
    const proof = await call("auth:prove", {
      signingKey: identity.signingKey,
      agreementKey: identity.agreementKey,
      agreementSig: identity.agreementSig,
      signature: await signAuth(identity, hello.data.nonce),
    });
    if (proof === "no-ack" || !proof.ok) throw new Error("auth:prove failed: " + JSON.stringify(proof));
  }
  return client;
}
