"use client";
import { useRef } from "react";
import { Button } from "@/app/_components/ui";
import { useBackdropClose } from "./use-backdrop-close";

/** Leave asks first: leaving drops this tab from the room's key, and only what is sent after a rejoin can be read again. */
export function LeaveButton({ roomId, onLeave }: { roomId: string; onLeave: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const stay = useRef<HTMLButtonElement>(null);
  useBackdropClose(ref);
  return (
    <>
      <Button
        variant="danger"
        onClick={() => {
          ref.current?.showModal();
          // The safe choice has the initial focus, so Enter right after opening stays in the room.
          stay.current?.focus();
        }}
        data-testid="leave-button"
        className="shrink-0 px-2.5 sm:px-3"
      >
        Leave
      </Button>
      <dialog
        ref={ref}
        aria-labelledby="leave-title"
        aria-describedby="leave-desc"
        data-testid="leave-dialog"
        className="m-auto w-[min(26rem,calc(100vw-2rem))] rounded-2xl border border-line bg-panel p-0 text-fg shadow-2xl"
      >
        <div className="p-6">
          <h2 id="leave-title" className="text-lg font-semibold">
            Leave <span className="break-all font-mono">{roomId}</span>?
          </h2>
          <p id="leave-desc" className="mt-2 text-sm text-muted">
            The others move to a new room key you will not have. You stop receiving messages; if you rejoin, you see only what is sent after that.
          </p>
          <div className="mt-5 flex justify-end gap-2">
            <Button ref={stay} variant="secondary" onClick={() => ref.current?.close()} data-testid="leave-cancel">
              Stay
            </Button>
            <Button
              variant="danger"
              onClick={() => {
                ref.current?.close();
                onLeave();
              }}
              data-testid="leave-confirm"
            >
              Leave room
            </Button>
          </div>
        </div>
      </dialog>
    </>
  );
}
