/**
 * Issue 10, finding 7: the replay guard no longer forgets. An evicted (sender, scope) window
 * leaves the sender a lower bound, so a relay that floods windows cannot get an old DM accepted
 * again; and the client ignores members beyond a room's cap.
 */
import { ReplayGuard } from "@/lib/crypto";
import { capRoomMembers } from "@/lib/client/chat/member-cap";
import { LIMITS, type MemberInfo, type RoomState } from "@/lib/protocol";

test("a DM seen before its window was evicted is still rejected", () => {
  const g = new ReplayGuard(4);
  expect(g.accept("alice", "room/dm", 1000)).toBe(true);
  // A hostile relay adds members of its own and floods signed messages: alice's window is evicted.
  for (let i = 0; i < 10; i++) expect(g.accept(`sybil${i}`, "room/e1", 5)).toBe(true);
  expect(g.size).toBeLessThanOrEqual(4);
  expect(g.accept("alice", "room/dm", 1000)).toBe(false); // the replay (accepted before this fix)
  expect(g.accept("alice", "room/dm", 999)).toBe(false); // older ones too
  expect(g.accept("alice", "room/e7", 1000)).toBe(false); // in any scope: her counter is shared
  expect(g.accept("alice", "room/dm", 1001)).toBe(true); // her next message is fine
  expect(g.accept("alice", "room/dm", 1001)).toBe(false);
});

test("the default guard keeps working past 4,096 windows", () => {
  const g = new ReplayGuard();
  expect(g.accept("victim", "r/dm", 42)).toBe(true);
  for (let i = 0; i < 5000; i++) g.accept(`s${i}`, "r/e1", 1);
  expect(g.accept("victim", "r/dm", 42)).toBe(false);
  expect(g.accept("victim", "r/dm", 43)).toBe(true);
});

test("senders never evicted are unaffected by others' bounds", () => {
  const g = new ReplayGuard(2);
  expect(g.accept("a", "x", 10)).toBe(true);
  expect(g.accept("b", "x", 1)).toBe(true);
  expect(g.accept("c", "x", 1)).toBe(true); // evicts a (bound 10 for a only)
  expect(g.accept("d", "x", 5)).toBe(true);
  expect(g.accept("a", "x", 11)).toBe(true);
});

const member = (i: number): MemberInfo => ({
  userId: i.toString(16).padStart(32, "0"),
  displayName: `m${i}`,
  signingKey: "",
  agreementKey: "",
  agreementSig: "",
  online: true,
  joinedAt: new Date(0).toISOString(),
  lastSeenAt: new Date(0).toISOString(),
});

test("the client keeps at most a room's worth of members, itself included", () => {
  const members = Array.from({ length: 500 }, (_, i) => member(i));
  const state: RoomState = {
    roomId: "r",
    epoch: 2,
    leaderId: members[0].userId,
    capacity: null,
    channel: { noise: 0, loss: 0, eve: 0 },
    members,
    createdBy: null,
    historyDays: null,
  };
  const me = members[499].userId;
  const capped = capRoomMembers(state, me);
  expect(capped.state.members).toHaveLength(LIMITS.maxRoomMembers);
  expect(capped.state.members.some((m) => m.userId === me)).toBe(true);
  expect(capped.dropped).toBe(500 - LIMITS.maxRoomMembers);
  expect(capped.warning).toMatch(/at most 64/);
  const small = { ...state, members: members.slice(0, 3) };
  expect(capRoomMembers(small, me)).toMatchObject({ dropped: 0, state: small });
});
