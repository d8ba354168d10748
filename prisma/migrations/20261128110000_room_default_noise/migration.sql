-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Room" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" TEXT,
    "capacity" INTEGER,
    "epoch" INTEGER NOT NULL DEFAULT 0,
    "lastActivityAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "messageCount" INTEGER NOT NULL DEFAULT 0,
    "channelNoise" REAL NOT NULL DEFAULT 0.02,
    "channelLoss" REAL NOT NULL DEFAULT 0,
    "channelEve" REAL NOT NULL DEFAULT 0
);
INSERT INTO "new_Room" ("capacity", "channelEve", "channelLoss", "channelNoise", "createdAt", "createdBy", "epoch", "id", "lastActivityAt", "messageCount") SELECT "capacity", "channelEve", "channelLoss", "channelNoise", "createdAt", "createdBy", "epoch", "id", "lastActivityAt", "messageCount" FROM "Room";
DROP TABLE "Room";
ALTER TABLE "new_Room" RENAME TO "Room";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

