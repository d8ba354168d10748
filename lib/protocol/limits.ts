/**
 * Size and rate limits, enforced by the server on every inbound event (documented in docs/protocol.md).
 * Socket.IO's own frame cap (maxHttpBufferSize) sits just above the largest event so an oversize
 * frame is refused by the transport before it is parsed.
 */
export const LIMITS = {
  /** Largest Socket.IO frame accepted, bytes. */
  maxFrameBytes: 1_100_000,
  /** Encrypted chat message: ciphertext bytes (a 16 KiB text plus JSON framing fits comfortably). */
  maxMessageCiphertextBytes: 65_536,
  /** One wrapped room key share (32-byte key + 16-byte tag). */
  maxWrappedKeyBytes: 128,
  /** Connections (tabs) one identity may hold at once; a newer one closes the oldest. */
  maxSocketsPerIdentity: 8,
  /**
   * Envelopes one history:fetch returns at most, and without a limit. Each row asked is charged to
   * the history budget below, so a large page costs what as many small ones would; clients page
   * back 200 at a time while scrolling and ask the maximum when loading the whole history.
   */
  maxHistoryFetch: 1000,
  defaultHistoryFetch: 100,
  /** Ceiling for a room's history days (the server's QSEC_HISTORY_DAYS may cap lower). */
  maxHistoryDays: 3650,
  /** Default history days for a new room (capped by QSEC_HISTORY_DAYS). */
  defaultHistoryDays: 30,
  /** Default membership TTL in days (QSEC_MEMBER_TTL_DAYS): a member away longer is removed. */
  defaultMemberTtlDays: 7,
  /** Epochs one roomkey:ack may name. */
  maxKeyAckEpochs: 64,
  /** Members in one room (also the ceiling for a capacity set by the first joiner). */
  maxRoomMembers: 64,
  /** One BB84 relay frame (opaque, encrypted by the pair): 1 MiB. */
  maxBb84FrameBytes: 1_048_576,
  /** Qubits one BB84 session may ask for (bb84:start). */
  bb84MinQubits: 1024,
  bb84MaxQubits: 1 << 22,
  /** BB84 sessions one member may be running at once (as Alice or Bob). */
  maxBb84SessionsPerMember: 4,
  /** BB84 worker connections (bb84:ticket / bb84:attach) one member connection may have, tickets not yet used included. */
  maxBb84LinksPerConnection: 4,
  /**
   * A BB84 frame may also travel as base64url text up to this many bytes (decoded): one WebSocket
   * message instead of Socket.IO's two (header + binary attachment) per frame and direction.
   */
  maxBb84TextFrameBytes: 16_384,
  /** A bb84:ticket not used by a bb84:attach within this long is void. */
  bb84TicketTtlMs: 30_000,
  /** A session neither party finished within this long is ended by the server as timed out. */
  bb84SessionTimeoutMs: 10 * 60_000,
  /** Log rows returned by one logs:fetch. */
  maxLogFetch: 500,
  /** Rows logs:fetch and bb84:list return without a limit. */
  defaultLogFetch: 200,
  defaultBb84List: 100,
  /**
   * Rows of expensive reads (logs:fetch, bb84:list: their `limit`) per socket and per remote
   * address: sustained rate and burst. A client joining 16 rooms reads 16 × (200 + 100) at once.
   */
  readRowsPerSecond: 1_000,
  readRowBurst: 5_000,
  addressReadRowsPerSecond: 2_500,
  addressReadRowBurst: 10_000,
  /**
   * history:fetch has its own row budget (it is not charged to the one above, and pays one command
   * token a page): per socket a burst of 12,000 rows, so a member reads a 10,000-message room at
   * full speed (10 pages of 1,000, or 50 of 200), then 2,000 rows/s; per remote address 24,000 rows, then 4,000/s.
   * A page is at most maxHistoryFetch rows (one indexed range query), so a hostile address makes
   * the server read at most 4,000 rows/s once its burst is spent, whatever its socket count.
   */
  historyRowsPerSecond: 2_000,
  historyRowBurst: 12_000,
  addressHistoryRowsPerSecond: 4_000,
  addressHistoryRowBurst: 24_000,
  /** Token bucket per socket for commands: sustained rate and burst. */
  commandsPerSecond: 50,
  commandBurst: 100,
  /** Separate bucket for BB84 frames (large, bursty during a session). */
  bb84FramesPerSecond: 200,
  bb84FrameBurst: 400,
  /** BB84 bytes per socket: sustained rate and burst (a 10^6-qubit session is a few MiB). */
  bb84BytesPerSecond: 16 * 1024 * 1024,
  bb84ByteBurst: 32 * 1024 * 1024,
  /**
   * Bytes the server may hold queued for one receiving socket. Past it, a direct message or BB84
   * frame to that socket is refused (RATE_LIMITED) and a room message disconnects the slow reader,
   * so a client that stops reading cannot grow the server's memory.
   */
  maxReceiverBacklogBytes: 4 * 1024 * 1024,
  /**
   * Ceiling for everything queued to one connection (replies and notifications included): past it
   * the connection is closed. Above maxReceiverBacklogBytes, so relays are refused first.
   */
  maxSocketBacklogBytes: 8 * 1024 * 1024,
  /** The same ceiling for all connections of one remote address together. */
  maxAddressBacklogBytes: 32 * 1024 * 1024,
  /** Rooms one connection may be in at once. */
  maxRoomsPerSocket: 16,
  /** Authentication must complete within this many ms of connecting. */
  authTimeoutMs: 10_000,
  /** Socket.IO connections (main namespace) one remote address may hold at once. */
  maxConnectionsPerAddress: 128,
  /** Transport connections (engine.io) one address may hold open without a Socket.IO connection. */
  maxPendingPerAddress: 32,
  /** The same, over all addresses. */
  maxPendingTotal: 2048,
  /** A transport connection that has not joined a namespace within this many ms is closed. */
  connectTimeoutMs: 5_000,
} as const;

export const ROOM_ID_RE = /^[A-Za-z0-9_-]{1,32}$/;
export const DISPLAY_NAME_MAX = 28;
