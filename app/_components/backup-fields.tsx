"use client";
import type { ComponentPropsWithoutRef, ReactNode } from "react";

/**
 * Form pieces shared by the key backup's two forms (set up / update in the room, restore on the
 * landing page): the "protected by" choice, a labelled text field and the status lines.
 */

export type BackupMethod = "recovery" | "passphrase";

const INPUT = "mt-1.5 block w-full rounded-md border border-line bg-bg px-3 py-2 text-sm focus:outline-none focus:ring-2 focus:ring-accent/50";

export function BackupMethodChoice({
  legend,
  name,
  method,
  onChange,
  recoveryLabel,
  testIdPrefix,
}: {
  legend: ReactNode;
  /** The radio group's name (one per form on a page). */
  name: string;
  method: BackupMethod;
  onChange: (m: BackupMethod) => void;
  recoveryLabel: ReactNode;
  /** data-testid of each radio: `${testIdPrefix}-recovery` and `${testIdPrefix}-passphrase`. */
  testIdPrefix: string;
}) {
  const options: [BackupMethod, ReactNode][] = [
    ["recovery", recoveryLabel],
    ["passphrase", "A passphrase"],
  ];
  return (
    <fieldset>
      <legend className="text-sm font-medium">{legend}</legend>
      <div className="mt-2 flex gap-4 text-sm">
        {options.map(([value, label]) => (
          <label key={value} className="flex items-center gap-2">
            <input
              type="radio"
              name={name}
              value={value}
              checked={method === value}
              onChange={() => onChange(value)}
              data-testid={`${testIdPrefix}-${value}`}
            />
            {label}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/** A labelled input; `children` go below it (a hint or a live strength line). */
export function BackupField({
  id,
  label,
  value,
  onValue,
  className = "",
  children,
  ...input
}: {
  id: string;
  label: ReactNode;
  value: string;
  onValue: (v: string) => void;
  children?: ReactNode;
} & Omit<ComponentPropsWithoutRef<"input">, "id" | "value" | "onChange" | "children">) {
  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium">
        {label}
      </label>
      <input {...input} id={id} className={`${INPUT} ${className}`} value={value} onChange={(e) => onValue(e.target.value)} />
      {children}
    </div>
  );
}

/** The form's outcome lines: work in progress, success, and the error (an alert). */
export function BackupOutcome({ busy, done, error, testIdPrefix }: { busy?: string | null; done: string | null; error: string | null; testIdPrefix: string }) {
  return (
    <>
      {busy && (
        <p role="status" className="mt-3 text-sm text-muted" data-testid={`${testIdPrefix}-busy`}>
          {busy}
        </p>
      )}
      {done && (
        <p role="status" className="mt-3 text-sm text-ok" data-testid={`${testIdPrefix}-done`}>
          {done}
        </p>
      )}
      {error && (
        <p role="alert" className="mt-3 text-sm text-danger" data-testid={`${testIdPrefix}-error`}>
          {error}
        </p>
      )}
    </>
  );
}
