-- AlterTable
ALTER TABLE "Room" ADD COLUMN "epochLeaderId" TEXT;
ALTER TABLE "Room" ADD COLUMN "historyDays" INTEGER;

-- CreateTable
CREATE TABLE "MembershipPeriod" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "roomId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "fromEpoch" INTEGER NOT NULL,
    "toEpoch" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "MembershipPeriod_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Envelope" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "roomId" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "senderId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "recipientId" TEXT,
    "body" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Envelope_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_User" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "displayName" TEXT NOT NULL,
    "signingKey" TEXT NOT NULL,
    "agreementKey" TEXT NOT NULL,
    "agreementSig" TEXT NOT NULL DEFAULT '',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_User" ("agreementKey", "createdAt", "displayName", "id", "lastSeenAt", "signingKey") SELECT "agreementKey", "createdAt", "displayName", "id", "lastSeenAt", "signingKey" FROM "User";
DROP TABLE "User";
ALTER TABLE "new_User" RENAME TO "User";
CREATE TABLE "new_Membership" (
    "roomId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "joinedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leftAt" DATETIME,
    "online" BOOLEAN NOT NULL DEFAULT true,
    "displayName" TEXT NOT NULL DEFAULT '',
    "lastSeenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("roomId", "userId"),
    CONSTRAINT "Membership_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Membership_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Membership" ("joinedAt", "leftAt", "online", "roomId", "userId") SELECT "joinedAt", "leftAt", "online", "roomId", "userId" FROM "Membership";
DROP TABLE "Membership";
ALTER TABLE "new_Membership" RENAME TO "Membership";
CREATE INDEX "Membership_userId_idx" ON "Membership"("userId");
CREATE INDEX "Membership_leftAt_lastSeenAt_idx" ON "Membership"("leftAt", "lastSeenAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "MembershipPeriod_roomId_userId_idx" ON "MembershipPeriod"("roomId", "userId");

-- CreateIndex
CREATE INDEX "Envelope_roomId_id_idx" ON "Envelope"("roomId", "id");

-- CreateIndex
CREATE INDEX "Envelope_roomId_createdAt_idx" ON "Envelope"("roomId", "createdAt");

-- CreateIndex
CREATE INDEX "KeyBlob_createdAt_idx" ON "KeyBlob"("createdAt");

