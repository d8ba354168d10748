-- AlterTable
ALTER TABLE "Room" ALTER COLUMN "channelNoise" SET DEFAULT 0.02;
