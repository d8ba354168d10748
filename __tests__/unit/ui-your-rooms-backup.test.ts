/**
 * "Your rooms" entries as a restored backup hands them over (untrusted: only well-formed entries,
 * one per room, newest join wins) and the passphrase strength hint the backup dialog shows.
 */
import { normalizeRooms } from "@/lib/ui/your-rooms";
import { passphraseStrength } from "@/lib/ui/key-backup";

test("normalizeRooms keeps well-formed entries, one per room (newest join), newest first", () => {
  const rooms = normalizeRooms([
    { roomId: "team", name: "Ann", lastJoined: 1 },
    { roomId: "team", name: "Annie", lastJoined: 5 },
    { roomId: "other", name: "Ann", lastJoined: 3 },
    { roomId: "bad id!", name: "Ann", lastJoined: 9 },
    { roomId: "x", name: "", lastJoined: 9 },
    { roomId: "y", name: "Ann\u202e", lastJoined: 9 },
    null,
    "team",
  ]);
  expect(rooms).toEqual([
    { roomId: "team", name: "Annie", lastJoined: 5 },
    { roomId: "other", name: "Ann", lastJoined: 3 },
  ]);
  expect(normalizeRooms({ roomId: "team" })).toEqual([]);
});

test("the passphrase hint refuses short ones and tells weak from strong", () => {
  expect(passphraseStrength("short").label).toBe("too short");
  expect(passphraseStrength("aaaaaaaaaaaa").label).toBe("weak");
  expect(passphraseStrength("tangerine orbit whispers seven quiet harbors").label).toBe("strong");
});
