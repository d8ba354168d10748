/**
 * A bare socket.io-client that speaks the protocol by hand: honest when the test wants, hostile
 * when it doesn't. It authenticates with a real WebCrypto identity.
 */
import { io, type Socket } from "socket.io-client";
import { generateIdentity, signAuth, type Identity } from "@/lib/crypto";
import type { Ack, ClientToServerEvents, ServerToClientEvents } from "@/lib/protocol";
import { spreadUrl } from "./spread";

export type RawSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface RawClient {
  socket: RawSocket;
  identity: Identity;
  userId: string;
  /** Sends any event name with any arguments and resolves with the ack (or "no-ack" on a close or after ACK_TIMEOUT_MS). */
  call(event: string, ...args: unknown[]): Promise<Ack<any> | "no-ack">;
  /** Everything this socket received, by event name. */
  received: Map<string, unknown[]>;
  close(): void;
}

const ACK_TIMEOUT_MS = 10_000;

export async function connectRaw(
  url: string,
  opts: { authenticate?: boolean; identity?: Identity; /** e.g. X-Forwarded-For, as a load balancer sets it */ headers?: Record<string, string> } = {},
): Promise<RawClient> {
  const socket: RawSocket = io(spreadUrl(url), {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    ...(opts.headers && { extraHeaders: opts.headers }),
  });
  const received = new Map<string, unknown[]>();
  socket.onAny((event: string, payload: unknown) => {
    if (!received.has(event)) received.set(event, []);
    received.get(event)!.push(payload);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  // The server acknowledges every command, refusals included: "no-ack" means the socket closed or no
  // answer came within ACK_TIMEOUT_MS (generous, so a loaded CI machine is not read as a refusal).
  const call = (event: string, ...args: unknown[]) =>
    new Promise<Ack<any> | "no-ack">((resolve) => {
      const done = (res: Ack<any> | "no-ack") => {
        clearTimeout(t);
        socket.off("disconnect", closed);
        resolve(res);
      };
      const closed = () => done("no-ack");
      const t = setTimeout(closed, ACK_TIMEOUT_MS);
      socket.once("disconnect", closed);
      (socket as unknown as { emit(...a: unknown[]): void }).emit(event, ...args, (res: Ack<any>) => done(res));
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
