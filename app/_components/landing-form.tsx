"use client";
import { Fragment, useId, useState, useSyncExternalStore, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { DISPLAY_NAME_MAX, LIMITS, displayNameSchema, roomIdSchema } from "@/lib/protocol";
import { useCopy } from "@/lib/ui/clipboard";
import { randomRoomId, roomLink } from "@/lib/ui/format";
import { rememberName, recallName } from "@/lib/ui/session";
import { setIdentityMode } from "@/lib/ui/identity-mode";
import { Button } from "./ui";
import { neverChanges, useSecureContext } from "./secure-context";

const DEFAULT_HISTORY_DAYS = 30;
const HISTORY_CHOICES = [1, 7, 30, 90, 365] as const;

/** Create or join a room: room id (empty = the server picks one), display name, optional capacity and history mode. */
export function LandingForm() {
  const router = useRouter();
  const ids = { room: useId(), name: useId(), cap: useId(), history: useId(), other: useId() };
  const [someoneElse, setSomeoneElse] = useState(false);
  const [roomId, setRoomId] = useState("");
  // null until the user types: until then the name remembered in this browser (read after hydration) prefills the field.
  const [typedName, setName] = useState<string | null>(null);
  const rememberedName = useSyncExternalStore(neverChanges, recallName, () => null);
  const name = typedName ?? rememberedName ?? "";
  const [capacity, setCapacity] = useState("");
  // "ephemeral" or a number of days: how long a new room keeps its end-to-end encrypted history.
  const [history, setHistory] = useState(String(DEFAULT_HISTORY_DAYS));
  const [touched, setTouched] = useState(false);
  const origin = useSyncExternalStore(
    neverChanges,
    () => window.location.origin,
    () => "",
  );
  const [busy, setBusy] = useState(false);
  const [copyState, copy] = useCopy();
  const secure = useSecureContext();

  const trimmedRoom = roomId.trim();
  const roomCheck = trimmedRoom === "" ? null : roomIdSchema.safeParse(trimmedRoom);
  const roomError = roomCheck && !roomCheck.success ? "Use 1–32 characters: letters A–Z a–z, digits 0–9, underscore or hyphen." : null;
  const nameCheck = displayNameSchema.safeParse(name);
  const nameError = nameCheck.success ? null : name.trim() === "" ? "Enter a display name." : (nameCheck.error.issues[0]?.message ?? "Invalid display name.");
  const capNum = capacity.trim() === "" ? undefined : Number(capacity);
  const capError =
    capNum === undefined
      ? null
      : !Number.isInteger(capNum) || capNum < 2 || capNum > LIMITS.maxRoomMembers
        ? `Capacity must be a whole number from 2 to ${LIMITS.maxRoomMembers}.`
        : null;
  const link = trimmedRoom && !roomError && origin ? roomLink(origin, trimmedRoom) : null;

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (roomError || nameError || capError || !nameCheck.success) return;
    setBusy(true);
    rememberName(nameCheck.data);
    // Only ever switches this tab to its own identity; unticked leaves the tab's choice as it was.
    if (someoneElse) setIdentityMode("tab");
    const q = new URLSearchParams({ name: nameCheck.data });
    if (capNum !== undefined) q.set("capacity", String(capNum));
    if (history !== String(DEFAULT_HISTORY_DAYS)) q.set("history", history);
    router.push(trimmedRoom ? `/room/${encodeURIComponent(trimmedRoom)}?${q}` : `/room?${q}`);
  }

  return (
    <form
      onSubmit={onSubmit}
      action="/room"
      method="get"
      noValidate
      className="rounded-2xl border border-line bg-panel p-6 shadow-sm"
      aria-labelledby="form-title"
      data-testid="landing-form"
    >
      <h2 id="form-title" className="text-lg font-semibold">
        Create or join a room
      </h2>
      <p className="mt-1 text-sm text-muted">Same room id = same room. Leave it empty and the server picks a random one.</p>

      <div className="mt-6 space-y-5">
        <div>
          <label htmlFor={ids.room} className="block text-sm font-medium">
            Room id <span className="font-normal text-muted">(optional)</span>
          </label>
          <div className="mt-1.5 flex gap-2">
            <input
              id={ids.room}
              name="id"
              data-testid="room-id-input"
              value={roomId}
              onChange={(e) => setRoomId(e.target.value)}
              maxLength={64}
              autoComplete="off"
              spellCheck={false}
              placeholder="e.g. team-standup"
              aria-invalid={roomError ? true : undefined}
              aria-describedby={roomError ? `${ids.room}-err` : undefined}
              className={inputClass(!!roomError)}
            />
            <Button onClick={() => setRoomId(randomRoomId())} title="Generate a random room id">
              Random
            </Button>
          </div>
          {roomError && (
            <p id={`${ids.room}-err`} role="alert" data-testid="room-id-error" className="mt-1.5 text-sm text-danger">
              {roomError}
            </p>
          )}
        </div>

        <div>
          <label htmlFor={ids.name} className="block text-sm font-medium">
            Display name
          </label>
          <input
            id={ids.name}
            name="name"
            data-testid="name-input"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={DISPLAY_NAME_MAX + 8}
            autoComplete="nickname"
            placeholder="How others see you"
            aria-invalid={touched && nameError ? true : undefined}
            aria-describedby={`${ids.name}-hint`}
            className={`mt-1.5 ${inputClass(touched && !!nameError)}`}
          />
          <p
            id={`${ids.name}-hint`}
            className={`mt-1.5 text-sm ${touched && nameError ? "text-danger" : "text-muted"}`}
            role={touched && nameError ? "alert" : undefined}
          >
            {touched && nameError ? nameError : `Up to ${DISPLAY_NAME_MAX} characters. Unique within the room.`}
          </p>
        </div>

        <div>
          <label htmlFor={ids.cap} className="block text-sm font-medium">
            Capacity <span className="font-normal text-muted">(optional, new rooms only)</span>
          </label>
          <input
            id={ids.cap}
            name="capacity"
            data-testid="capacity-input"
            type="number"
            inputMode="numeric"
            min={2}
            max={LIMITS.maxRoomMembers}
            value={capacity}
            onChange={(e) => setCapacity(e.target.value)}
            placeholder={`2–${LIMITS.maxRoomMembers}`}
            aria-invalid={capError ? true : undefined}
            className={`mt-1.5 w-32 ${inputClass(!!capError)}`}
          />
          {capError && (
            <p role="alert" className="mt-1.5 text-sm text-danger">
              {capError}
            </p>
          )}
        </div>

        <div>
          <label htmlFor={ids.history} className="block text-sm font-medium">
            History <span className="font-normal text-muted">(new rooms only)</span>
          </label>
          <select
            id={ids.history}
            name="history"
            data-testid="history-select"
            value={history}
            onChange={(e) => setHistory(e.target.value)}
            aria-describedby={`${ids.history}-hint`}
            className={`mt-1.5 w-56 ${inputClass(false)}`}
          >
            {HISTORY_CHOICES.map((d) => (
              <option key={d} value={String(d)}>
                Keep {d} day{d === 1 ? "" : "s"}
                {d === DEFAULT_HISTORY_DAYS ? " (default)" : ""}
              </option>
            ))}
            <option value="ephemeral">Ephemeral: keep nothing</option>
          </select>
          <p id={`${ids.history}-hint`} className="mt-1.5 text-sm text-muted">
            The server stores only the encrypted messages, for members to read after a reload or an absence; it cannot read them.
          </p>
        </div>

        <div className="rounded-lg border border-dashed border-line bg-panel-2 px-3 py-2.5">
          <div className="flex items-center justify-between gap-2">
            <span className="text-xs font-semibold uppercase tracking-wider text-muted">Join link</span>
            <Button variant="ghost" className="px-2 py-1 text-xs" disabled={!link} onClick={() => link && copy(link)} data-testid="copy-join-link">
              {copyState === "copied" ? "Copied" : copyState === "failed" ? "Copy failed" : "Copy"}
            </Button>
          </div>
          {/* Break after the URL's slashes (never inside the host or "room"); a very long id may still wrap anywhere. */}
          <p className="mt-1 font-mono text-sm [overflow-wrap:anywhere]" data-testid="join-link-preview">
            {link ? (
              link.split(/(?<=\/)/).map((part, i) => (
                <Fragment key={i}>
                  {part}
                  <wbr />
                </Fragment>
              ))
            ) : (
              <span className="font-sans text-muted">A random room id will be chosen; copy its link from the room page.</span>
            )}
          </p>
        </div>

        <div className="flex items-start gap-2 text-sm">
          <input
            id={ids.other}
            type="checkbox"
            data-testid="someone-else"
            checked={someoneElse}
            onChange={(e) => setSomeoneElse(e.target.checked)}
            aria-describedby={`${ids.other}-hint`}
            className="mt-0.5 h-4 w-4 accent-[var(--color-accent)]"
          />
          <span>
            <label htmlFor={ids.other} className="font-medium">
              Join as someone else in this tab
            </label>
            <span id={`${ids.other}-hint`} className="block text-muted">
              Every tab of this browser is the same member by default. Tick this to give this tab its own keys, e.g. to demo two members in one browser.
            </span>
          </span>
        </div>

        {secure === false && (
          <div role="alert" data-testid="insecure-warning" className="rounded-lg border border-warn/50 bg-warn/10 px-3 py-2.5 text-sm">
            <p className="font-semibold text-warn">Not a secure context</p>
            <p className="mt-1 text-muted">
              WebCrypto (and so QSEC) needs https or localhost. Restart the server with{" "}
              <code className="rounded bg-panel-2 px-1 font-mono text-fg">QSEC_HTTPS=1</code> and open this page over https, or open it on the server machine
              via localhost.
            </p>
          </div>
        )}

        <Button type="submit" variant="primary" className="w-full py-2.5 text-base" disabled={busy} data-testid="join-button">
          {busy ? "Opening…" : trimmedRoom ? "Join room" : "Create room"}
        </Button>
      </div>
    </form>
  );
}

function inputClass(invalid: boolean) {
  return `block w-full rounded-md border bg-bg px-3 py-2 text-sm text-fg placeholder:text-muted/70 focus:outline-none focus:ring-2 focus:ring-accent/50 ${
    invalid ? "border-danger" : "border-line"
  }`;
}
