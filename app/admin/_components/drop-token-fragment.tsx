"use client";
import { useEffect } from "react";

/**
 * A development login link opened while a session already exists: /admin/login redirects to
 * /admin, and the browser keeps the link's fragment (#token=…) on the new address. Drop it from the
 * address bar and the history entry.
 */
export function DropTokenFragment() {
  useEffect(() => {
    if (new URLSearchParams(window.location.hash.replace(/^#/, "")).has("token"))
      window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
  }, []);
  return null;
}
