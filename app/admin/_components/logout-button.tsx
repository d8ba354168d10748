"use client";
import { Button } from "@/app/_components/ui";
import { leaveConsole } from "../_lib/leave-console";

export function LogoutButton() {
  return (
    <Button
      variant="ghost"
      data-testid="admin-logout"
      onClick={async () => {
        await fetch("/admin/api/logout", { method: "POST" }).catch(() => undefined);
        leaveConsole();
      }}
    >
      Log out
    </Button>
  );
}
