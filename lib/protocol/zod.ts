/**
 * zod as QSEC's schemas use it. In a browser (a page or a Web Worker) zod is told not to compile
 * validators with `new Function`: the pages' Content-Security-Policy forbids eval (docs/security.md,
 * "Browser hardening"), and zod's test of whether it may (a `new Function("")` in a try) would be
 * refused and reported as a violation on every page. Node (the server) keeps the compiled fast path.
 * Every module that builds or runs schemas on the browser's side imports z from here, so this runs
 * before the first parse.
 */
import { z } from "zod";

const scope = globalThis as { document?: unknown; WorkerGlobalScope?: unknown };
if (scope.document !== undefined || scope.WorkerGlobalScope !== undefined) z.config({ jitless: true });

export { z };
