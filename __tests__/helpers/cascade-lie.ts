/**
 * A lying Alice for Cascade tests and bench:qkd-lie: the same response, validly encoded, with the
 * middle parity flipped. Parsed and re-encoded with lib/qkd's own Cascade wire format, so the lie
 * is well formed and only its content is wrong.
 */
import { WireReader } from "@/lib/qkd/wire";
import { encodeResponse } from "@/lib/qkd/cascade/wire";

/** The response `resp` (01 02 varint(seq) varint(nBits) packed parities) with its middle parity flipped. */
export function flipOneParity(resp: Uint8Array): Uint8Array {
  const r = new WireReader(resp, (reason) => new Error(`not a Cascade response: ${reason}`));
  r.u8();
  r.u8();
  const seq = r.varint(0xffffffff);
  const nBits = r.varint(0xffffffff);
  const parities = r.rest().slice();
  const j = nBits >>> 1;
  parities[j >>> 3] ^= 1 << (j & 7);
  return encodeResponse(seq, parities, nBits);
}

/** The response `resp` with every parity flipped (padding bits stay zero). */
export function flipAllParities(resp: Uint8Array): Uint8Array {
  const r = new WireReader(resp, (reason) => new Error(`not a Cascade response: ${reason}`));
  r.u8();
  r.u8();
  const seq = r.varint(0xffffffff);
  const nBits = r.varint(0xffffffff);
  const parities = r.rest().slice();
  for (let j = 0; j < nBits; j++) parities[j >>> 3] ^= 1 << (j & 7);
  return encodeResponse(seq, parities, nBits);
}
