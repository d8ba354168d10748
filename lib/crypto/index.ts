/** lib/crypto: WebCrypto-only primitives for QSEC (browser and Node 20). See README.md. */
export * from "./errors";
export * from "./encoding";
export * from "./subtle";
export * from "./identity";
export * from "./keys-check";
export * from "./identity-store";
export * from "./hkdf";
export * from "./pairwise";
export * from "./roomkey";
export * from "./message";
export * from "./fingerprint";
export * from "./bb84-frames";
export * from "./tab-identity-store";
export * from "./identity-secret";
export * from "./argon2-params";
export * from "./recovery-code";
export * from "./backup";
