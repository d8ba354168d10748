export {
  ChatClient,
  type ChatClientOptions,
  type ChatClientEvents,
  type ClientWarning,
  type ClientSocket,
  type CommandPayload,
  type CommandData,
} from "./chat-client";
export { ClientError, type ClientErrorCode } from "./errors";
export { MemoryStorage, webStorage, type KeyValueStorage, type WebStorageLike } from "./storage";
export { TypedEmitter, type Listener } from "./emitter";
export { rejectionReason } from "./reasons";
export type { ChatMessage, ClientState, ConnectionState, HistoryView, MemberView, MessageStatus, RoomView } from "./types";
export type { ChatState } from "./chat-client";
export {
  MemoryCounterStore,
  MemoryEpochKeyStore,
  MemoryPairKeyStore,
  type CounterStore,
  type EpochKeyStore,
  type EpochKeyExport,
  type ExportableEpochKeyStore,
  type PairKeyStore,
  type SharedPairKey,
  type SharedPairKeys,
} from "./persist";
