/** The two ways a key-backup test talks to the server: a member's ChatClient, or a fresh browser with no identity (public backup:fetch). */
import type { ChatClient } from "@/lib/client";
import { fetchBackupPublic } from "@/lib/client/backup-transport";
import type { BackupRequester } from "@/lib/client/key-backup";

export const asRequester =
  (c: ChatClient): BackupRequester =>
  (event, payload) =>
    c.request(event, payload);

export const publicRequester =
  (url: string): BackupRequester =>
  (_event, payload) =>
    fetchBackupPublic(url, payload as { backupId: string }) as never;
