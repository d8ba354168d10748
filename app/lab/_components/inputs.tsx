"use client";
import { useId, useState } from "react";

/**
 * A labelled number field that only hands on valid values: while the text is not a number in
 * [min, max] (or not an integer when step is 1) it says why and the last valid value stays.
 */
export function NumberInput({
  label,
  id,
  value,
  min,
  max,
  step,
  onValue,
  disabled,
}: {
  label: string;
  id: string;
  value: number;
  min: number;
  max: number;
  step: number;
  onValue: (v: number) => void;
  disabled?: boolean;
}) {
  const [text, setText] = useState(String(value));
  const [shown, setShown] = useState(value);
  const errId = useId();
  // A new value from outside (a restored URL, a clamp) replaces the text; typing does not loop back.
  if (shown !== value) {
    setShown(value);
    if (Number(text) !== value) setText(String(value));
  }
  const v = Number(text);
  const bad = text.trim() === "" || !Number.isFinite(v) || v < min || v > max || (step === 1 && !Number.isInteger(v));
  return (
    <label className="flex flex-col gap-0.5 text-xs text-muted" htmlFor={`in-${id}`}>
      {label}
      <input
        id={`in-${id}`}
        data-testid={`in-${id}`}
        type="number"
        inputMode="decimal"
        className={`w-28 rounded-md border bg-panel px-2 py-1 text-sm text-fg ${bad ? "border-danger" : "border-line"}`}
        value={text}
        min={min}
        max={max}
        step={step === 1 ? 1 : "any"}
        disabled={disabled}
        aria-invalid={bad}
        aria-describedby={bad ? errId : undefined}
        onChange={(e) => {
          setText(e.target.value);
          const n = Number(e.target.value);
          if (e.target.value.trim() !== "" && Number.isFinite(n) && n >= min && n <= max && (step !== 1 || Number.isInteger(n))) onValue(n);
        }}
      />
      {bad && (
        <span id={errId} className="text-[11px] text-danger">
          {min}–{max}
          {step === 1 ? ", whole" : ""}
        </span>
      )}
    </label>
  );
}

/** The keys of S whose values are numbers. */
type NumberKey<S> = { [K in keyof S]: S[K] extends number ? K : never }[keyof S] & string;

export interface SpecNumberField<S> {
  key: NumberKey<S>;
  label: string;
  id: string;
  min: number;
  max: number;
  step: number;
}

/** One NumberInput per field of a sweep's spec, each writing back its own key. */
export function SpecNumbers<S>({ spec, onSpec, fields, disabled }: { spec: S; onSpec: (s: S) => void; fields: SpecNumberField<S>[]; disabled?: boolean }) {
  return (
    <>
      {fields.map((f) => (
        <NumberInput
          key={f.id}
          label={f.label}
          id={f.id}
          value={spec[f.key] as number}
          min={f.min}
          max={f.max}
          step={f.step}
          disabled={disabled}
          onValue={(v) => onSpec({ ...spec, [f.key]: v })}
        />
      ))}
    </>
  );
}

/** Comma-separated numbers (block sizes); accepts 1e6 notation. */
export function ListInput({
  label,
  id,
  value,
  min,
  max,
  maxLen,
  onValue,
  disabled,
}: {
  label: string;
  id: string;
  value: number[];
  min: number;
  max: number;
  maxLen: number;
  onValue: (v: number[]) => void;
  disabled?: boolean;
}) {
  const [text, setText] = useState(value.join(", "));
  const [shown, setShown] = useState(value.join(","));
  const errId = useId();
  if (shown !== value.join(",")) {
    setShown(value.join(","));
    if (
      text
        .split(",")
        .map((x) => Number(x.trim()))
        .join(",") !== value.join(",")
    )
      setText(value.join(", "));
  }
  const parse = (t: string) => {
    const parts = t.split(",").map((s) => Number(s.trim()));
    return parts.length >= 1 && parts.length <= maxLen && parts.every((n) => Number.isInteger(n) && n >= min && n <= max) ? parts : null;
  };
  const bad = parse(text) === null;
  return (
    <label className="flex flex-col gap-0.5 text-xs text-muted" htmlFor={`in-${id}`}>
      {label}
      <input
        id={`in-${id}`}
        data-testid={`in-${id}`}
        type="text"
        className={`w-56 rounded-md border bg-panel px-2 py-1 text-sm text-fg ${bad ? "border-danger" : "border-line"}`}
        value={text}
        disabled={disabled}
        aria-invalid={bad}
        aria-describedby={bad ? errId : undefined}
        onChange={(e) => {
          setText(e.target.value);
          const p = parse(e.target.value);
          if (p) onValue(p);
        }}
      />
      {bad && (
        <span id={errId} className="text-[11px] text-danger">
          1–{maxLen} whole numbers in {min}–{max.toExponential(0)}
        </span>
      )}
    </label>
  );
}
