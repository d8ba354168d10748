"use client";
import { useEffect, type RefObject } from "react";

/**
 * Closes a modal <dialog> when its backdrop is clicked: a click whose target is the dialog element
 * itself, which (its content filling the box) is only the ::backdrop outside it. This is the mouse
 * twin of the dialog's own keyboard path: Escape fires "cancel" and closes it natively.
 */
export function useBackdropClose(ref: RefObject<HTMLDialogElement | null>) {
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const onClick = (e: MouseEvent) => {
      if (e.target === dialog) dialog.close();
    };
    dialog.addEventListener("click", onClick);
    return () => dialog.removeEventListener("click", onClick);
  }, [ref]);
}
