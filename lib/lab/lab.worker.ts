/** The lab's Web Worker: runs one job (a sweep or a link curve) and reports every point as it is done. */
import { runJob, type LabWorkerMessage, type LabWorkerRequest } from "./jobs";

const scope = self as unknown as {
  postMessage(m: LabWorkerMessage): void;
  addEventListener(t: "message", l: (ev: MessageEvent<LabWorkerRequest>) => void): void;
};

scope.addEventListener("message", (ev) => {
  if (ev.data?.op === "run") runJob(ev.data.job, (m) => scope.postMessage(m));
  else scope.postMessage({ type: "error", message: "lab worker: unknown request" });
});
