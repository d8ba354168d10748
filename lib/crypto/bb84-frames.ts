/**
 * BB84 relay frames: each engine message is cut into chunks, and each chunk travels as one frame
 * sealed with AES-256-GCM under the session's frame key (deriveBb84FrameKey). The 6-byte header is
 * authenticated (AAD), together with the room, session and direction, so the relay can neither
 * read, alter, reorder, replay nor redirect a frame without the receiver noticing.
 *
 *   frame = version (1) ‖ flags (1: bit 0 = last chunk of a message) ‖ seq (u32 BE) ‖ IV (12) ‖ ciphertext+tag
 *   AAD   = transcript(label, roomId, sessionId, from, to) ‖ header
 */
import { CryptoError } from "./errors";
import { buf, concatBytes, transcript } from "./encoding";
import { randomBytes, subtle } from "./subtle";

export const BB84_FRAME_VERSION = 1;
export const BB84_FRAME_HEADER = 6;
export const BB84_FRAME_OVERHEAD = BB84_FRAME_HEADER + 12 + 16;
const LABEL = "QSEC-BB84-FRAME-v1";

export interface FrameContext {
  roomId: string;
  sessionId: string;
  from: string;
  to: string;
}

export interface OpenedFrame {
  seq: number;
  last: boolean;
  chunk: Uint8Array;
}

function aad(ctx: FrameContext, header: Uint8Array): Uint8Array {
  return concatBytes(transcript(LABEL, ctx.roomId, ctx.sessionId, ctx.from, ctx.to), header);
}

export async function sealFrame(key: CryptoKey, ctx: FrameContext, seq: number, last: boolean, chunk: Uint8Array): Promise<Uint8Array> {
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) throw new RangeError("frame sequence out of range");
  const header = new Uint8Array(BB84_FRAME_HEADER);
  header[0] = BB84_FRAME_VERSION;
  header[1] = last ? 1 : 0;
  new DataView(header.buffer).setUint32(2, seq, false);
  const iv = randomBytes(12);
  const ct = new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv, additionalData: buf(aad(ctx, header)) }, key, buf(chunk)));
  const out = new Uint8Array(BB84_FRAME_HEADER + 12 + ct.length);
  out.set(header, 0);
  out.set(iv, BB84_FRAME_HEADER);
  out.set(ct, BB84_FRAME_HEADER + 12);
  return out;
}

/** Opens a frame; throws CryptoError (decrypt-failed) when it fails authentication. */
export async function openFrame(key: CryptoKey, ctx: FrameContext, frame: Uint8Array): Promise<OpenedFrame> {
  if (frame.length < BB84_FRAME_OVERHEAD) throw new CryptoError("decrypt-failed", "frame too short");
  const header = frame.subarray(0, BB84_FRAME_HEADER);
  if (header[0] !== BB84_FRAME_VERSION) throw new CryptoError("decrypt-failed", `unknown frame version ${header[0]}`);
  if (header[1] & ~1) throw new CryptoError("decrypt-failed", "unknown frame flags");
  const iv = frame.subarray(BB84_FRAME_HEADER, BB84_FRAME_HEADER + 12);
  let chunk: Uint8Array;
  try {
    chunk = new Uint8Array(
      await subtle().decrypt({ name: "AES-GCM", iv: buf(iv), additionalData: buf(aad(ctx, header)) }, key, buf(frame.subarray(BB84_FRAME_HEADER + 12))),
    );
  } catch {
    throw new CryptoError("decrypt-failed", "frame failed authentication");
  }
  const seq = new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(2, false);
  return { seq, last: (header[1] & 1) === 1, chunk };
}
