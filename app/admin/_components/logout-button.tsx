"use client";
import { Button } from "@/app/_components/ui";

export function LogoutButton() {
  return (
    <Button
      variant="ghost"
      data-testid="admin-logout"
      onClick={async () => {
        await fetch("/admin/api/logout", { method: "POST" }).catch(() => undefined);
        window.location.assign("/admin/login");
      }}
    >
      Log out
    </Button>
  );
}
