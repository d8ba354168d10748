/** Both Cascade parties in one process (tests, benchmarks, the tuning script). */
import { BitArray } from "../bits";
import { CascadeAlice } from "./alice";
import { CascadeBob } from "./bob";
import { CascadeConfig, CascadeProtocolError, CascadeResult } from "./schedule";

/** Run both parties in one process. */
export function runCascadeLocal(alice: BitArray, bob: BitArray, cfg: CascadeConfig): CascadeResult {
  if (alice.length !== bob.length) throw new CascadeProtocolError("Cascade: key lengths differ");
  const A = new CascadeAlice(alice, cfg);
  const B = new CascadeBob(bob, cfg);
  for (let req = B.nextRequest(); req; req = B.nextRequest()) B.handleResponse(A.respond(req));
  const res = B.result();
  if (res.disclosedBits !== A.disclosedBits) throw new Error("Cascade: disclosed-bit accounting mismatch");
  return res;
}
