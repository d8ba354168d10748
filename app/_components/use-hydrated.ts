"use client";
import { useSyncExternalStore } from "react";

const subscribe = () => () => undefined;

/**
 * False in the server's HTML and during hydration, true once React has hydrated this component.
 * Controls whose handlers only exist after hydration stay disabled until then, so a click that lands
 * early (a slow dev build, a slow phone) is refused visibly instead of being lost.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}
