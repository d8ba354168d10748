"use client";
import { Button } from "@/app/_components/ui";
import { leaveConsole } from "../_lib/leave-console";

export function LogoutButton() {
  return (
    <Button
      variant="ghost"
      data-testid="admin-logout"
      onClick={async () => {
        // The body is read before leaving, so the request completes instead of being cancelled by the navigation.
        await fetch("/admin/api/logout", { method: "POST" })
          .then((res) => res.text())
          .catch(() => undefined);
        leaveConsole();
      }}
    >
      Log out
    </Button>
  );
}
