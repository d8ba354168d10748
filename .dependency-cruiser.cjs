/**
 * dependency-cruiser: the layering rules of the architecture (docs/architecture.md, "What each folder
 * may import"). Run with
 * `npm run lint:deps`. It reads tsconfig.json, so `@/…` imports resolve like they do for tsc, and
 * it counts type-only imports too: a layer must not even know another's types.
 */
/** Frameworks and I/O the pure core (lib/crypto, lib/qkd) must stay free of. */
const FRAMEWORKS = "^node_modules/(react|react-dom|next|socket\\.io|socket\\.io-client|socket\\.io-parser|engine\\.io[^/]*|zustand|@prisma/[^/]+|\\.prisma)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import circle makes load order matter and the modules one unit; cut it with an interface or a shared lower module.",
      from: {},
      to: { circular: true },
    },
    {
      name: "lib-not-to-server-or-app",
      severity: "error",
      comment: "lib/ is shared by browser and server; it never depends on the custom server or the pages.",
      from: { path: "^lib/" },
      to: { path: "^(server|app)/" },
    },
    {
      name: "server-not-to-app",
      severity: "error",
      comment: "The custom server serves the pages through Next's handler, it never imports them.",
      from: { path: "^server/" },
      to: { path: "^app/" },
    },
    {
      name: "pure-core-not-to-client-or-ui",
      severity: "error",
      comment: "lib/crypto and lib/qkd are pure logic tested without a server: nothing from the chat client or the UI.",
      from: { path: "^lib/(crypto|qkd)/" },
      to: { path: "^lib/(client|ui)/" },
    },
    {
      name: "pure-core-not-to-frameworks",
      severity: "error",
      comment: "lib/crypto and lib/qkd run in Node, browsers and Web Workers alike: no React, Next, Socket.IO, zustand or Prisma.",
      from: { path: "^lib/(crypto|qkd)/" },
      to: { path: FRAMEWORKS },
    },
    {
      name: "client-not-to-ui",
      severity: "error",
      comment: "lib/client is the framework-free chat client (browser and Node); the UI sits on top of it, never under it.",
      from: { path: "^lib/client/" },
      to: { path: "^lib/ui/" },
    },
    {
      name: "client-not-to-react",
      severity: "error",
      comment: "lib/client runs headless in Node (tests, benchmarks): no React, Next or zustand.",
      from: { path: "^lib/client/" },
      to: { path: "^node_modules/(react|react-dom|next|zustand)/" },
    },
    {
      name: "lab-is-framework-free",
      severity: "error",
      comment: "lib/lab (the BB84 lab's jobs and worker) runs in a Web Worker and in Node (bench:lab): lib/qkd only, no chat client, UI store or React.",
      from: { path: "^lib/lab/" },
      to: { path: "^lib/(client|ui|crypto|protocol|admin)/|^node_modules/(react|react-dom|next|zustand)/" },
    },
    {
      name: "protocol-is-a-leaf",
      severity: "error",
      comment: "lib/protocol is the wire contract both sides import; it may only name things from lib/qkd's leaf files (variant and stage names).",
      from: { path: "^lib/protocol/" },
      to: { path: "^lib/(client|ui|crypto|admin)/|^lib/qkd/(?!cascade/variants\\.ts$|stages\\.ts$)" },
    },
    {
      name: "server-not-to-browser-layers",
      severity: "error",
      comment: "The server relays and stores; it never runs the chat client or the UI store.",
      from: { path: "^server/" },
      to: { path: "^lib/(client|ui)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|\\.next|\\.next-[^/]*|data|coverage)/" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
      extensions: [".ts", ".tsx", ".d.ts", ".js", ".mjs", ".cjs", ".json"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
