/**
 * A page for browser tests of library code: `contents` (TypeScript importing from "@/…") is bundled
 * with esbuild and served with an empty HTML page at http://localhost:<port> (localhost: a secure
 * context, so WebCrypto and IndexedDB behave as on the real site).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

export interface BundledPage {
  origin: string;
  close(): Promise<void>;
}

export async function serveBundledPage(contents: string): Promise<BundledPage> {
  const esbuild = await import("esbuild");
  const root = path.resolve(__dirname, "../..");
  const out = await esbuild.build({
    stdin: { contents, loader: "ts", resolveDir: root },
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2022",
    alias: { "@": root },
    tsconfig: path.join(root, "tsconfig.json"),
    logLevel: "silent",
  });
  const js = out.outputFiles[0].text;
  const server = http.createServer((req, res) => {
    if (req.url === "/bundle.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(js);
    } else {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><script src="/bundle.js"></script>`);
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    origin: `http://localhost:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
