/** Jest: TypeScript through SWC; unit, integration (real server on port 0) and e2e (real Chromium). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts", "**/*.test.tsx"],
  transform: {
    "^.+\\.(t|j)sx?$": [
      "@swc/jest",
      { jsc: { parser: { syntax: "typescript", tsx: true }, target: "es2022", transform: { react: { runtime: "automatic" } } }, module: { type: "commonjs" } },
    ],
  },
  // jose ships only ES modules; compile it to CommonJS like our own code.
  transformIgnorePatterns: ["/node_modules/(?!jose/)"],
  moduleNameMapper: { "^@/(.*)$": "<rootDir>/$1" },
  globalSetup: "<rootDir>/__tests__/helpers/global-setup.js",
  testTimeout: 60000,
};
