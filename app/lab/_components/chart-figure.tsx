"use client";
import { useRef, useState, type ReactNode } from "react";
import { toCsv, type CsvCell } from "@/lib/lab/csv";
import { download, downloadCsv, svgToPngBlob } from "@/lib/lab/export";
import { Button } from "@/app/_components/ui";

/**
 * A chart with its title, a one-line reading guide, and CSV / PNG export. The CSV is the data the
 * chart was drawn from, one row per run point (the same table the tests compare against the run).
 */
export function ChartFigure({
  id,
  title,
  caption,
  table,
  children,
  summary,
}: {
  id: string;
  title: string;
  caption: ReactNode;
  table: { columns: string[]; rows: CsvCell[][] } | null;
  children: ReactNode;
  summary?: ReactNode;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [err, setErr] = useState<string | null>(null);
  const empty = !table || table.rows.length === 0;
  const png = async () => {
    setErr(null);
    // The plot is the largest SVG (legend icons are small SVGs of their own).
    const svgs = [...(box.current?.querySelectorAll<SVGSVGElement>("svg.recharts-surface") ?? [])];
    const area = (el: SVGSVGElement) => el.getBoundingClientRect().width * el.getBoundingClientRect().height;
    const svg = svgs.sort((a, b) => area(b) - area(a))[0] ?? null;
    if (!svg) return setErr("no chart to export yet");
    try {
      download(`qsec-lab-${id}.png`, await svgToPngBlob(svg, box.current ?? undefined));
    } catch (e) {
      setErr(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <figure className="space-y-2" aria-labelledby={`${id}-title`} data-testid={`chart-${id}`} data-rows={table?.rows.length ?? 0}>
      <div className="flex flex-wrap items-start justify-between gap-2">
        <figcaption>
          <h3 id={`${id}-title`} className="text-sm font-semibold">
            {title}
          </h3>
          <p className="text-xs leading-5 text-muted">{caption}</p>
        </figcaption>
        <div className="flex gap-2">
          <Button disabled={empty} onClick={() => table && downloadCsv(`qsec-lab-${id}.csv`, toCsv(table.columns, table.rows))} data-testid={`csv-${id}`}>
            CSV
          </Button>
          <Button disabled={empty} onClick={png} data-testid={`png-${id}`}>
            PNG
          </Button>
        </div>
      </div>
      <div ref={box} className="h-72 w-full" role="img" aria-label={`${title} (chart; the data is in the CSV export${summary ? " and summarised below" : ""})`}>
        {children}
      </div>
      {summary && <div className="text-xs text-muted">{summary}</div>}
      {err && (
        <p role="alert" className="text-xs text-danger">
          {err}
        </p>
      )}
    </figure>
  );
}
