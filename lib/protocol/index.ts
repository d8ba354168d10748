export * from "./events";
export * from "./errors";
export * from "./limits";
export * from "./log-events";
export * from "./commands";
export * from "./text";
export * from "./confusables";
export * from "./backup";
