/**
 * Operational logging for the server console: one line per event, with fields that are never
 * payloads (no plaintext, ciphertext, keys or frames ever reach this logger).
 */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function consoleLogger(): Logger {
  const line = (level: string, msg: string, fields?: Record<string, unknown>) =>
    `${new Date().toISOString()} ${level} ${msg}${fields ? " " + JSON.stringify(fields) : ""}`;
  return {
    info: (m, f) => console.log(line("info", m, f)),
    warn: (m, f) => console.warn(line("warn", m, f)),
    error: (m, f) => console.error(line("error", m, f)),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
