/**
 * Browser-side exports of a chart: the CSV of its data, and a PNG of its SVG. Recharts colours
 * come from CSS variables, which a standalone SVG image cannot resolve, so every element's computed
 * fill, stroke and font are written onto a clone first.
 */
export function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function downloadCsv(name: string, csv: string): void {
  download(name, new Blob([csv], { type: "text/csv;charset=utf-8" }));
}

const STYLE_PROPS = [
  "fill",
  "stroke",
  "stroke-width",
  "stroke-dasharray",
  "fill-opacity",
  "stroke-opacity",
  "opacity",
  "font-size",
  "font-family",
  "font-weight",
];

/** The SVG as a standalone document with computed styles inlined, on the page's background colour. */
export function standaloneSvg(svg: SVGSVGElement, container?: Element): { text: string; width: number; height: number } {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const src = [svg, ...svg.querySelectorAll("*")];
  const dst = [clone, ...clone.querySelectorAll("*")];
  src.forEach((el, i) => {
    const cs = getComputedStyle(el);
    const out = dst[i] as SVGElement;
    for (const p of STYLE_PROPS) {
      const v = cs.getPropertyValue(p);
      if (v) out.style.setProperty(p, v);
    }
  });
  const { width, height } = svg.getBoundingClientRect();
  clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  clone.setAttribute("width", String(width));
  clone.setAttribute("height", String(height));
  const bg = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  bg.setAttribute("width", "100%");
  bg.setAttribute("height", "100%");
  bg.setAttribute("fill", getComputedStyle(document.body).backgroundColor || "#ffffff");
  clone.insertBefore(bg, clone.firstChild);
  // The legend is HTML over the plot; draw its entries into the image where they appear on screen.
  const box = svg.getBoundingClientRect();
  for (const item of container?.querySelectorAll(".recharts-legend-item") ?? []) {
    const r = item.getBoundingClientRect();
    const icon = item.querySelector("svg path, svg line, svg circle, svg rect");
    const cs = icon ? getComputedStyle(icon) : null;
    const color = cs && cs.stroke && cs.stroke !== "none" ? cs.stroke : (cs?.fill ?? "#888");
    const y = r.top - box.top + r.height / 2;
    const mark = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    mark.setAttribute("x", String(r.left - box.left));
    mark.setAttribute("y", String(y - 2));
    mark.setAttribute("width", "12");
    mark.setAttribute("height", "4");
    mark.setAttribute("fill", color);
    const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
    label.setAttribute("x", String(r.left - box.left + 16));
    label.setAttribute("y", String(y + 4));
    label.setAttribute("font-size", "11");
    label.setAttribute("font-family", getComputedStyle(item).fontFamily);
    label.setAttribute("fill", getComputedStyle(item).color || color);
    label.textContent = item.textContent ?? "";
    clone.appendChild(mark);
    clone.appendChild(label);
  }
  return { text: new XMLSerializer().serializeToString(clone), width, height };
}

export async function svgToPngBlob(svg: SVGSVGElement, container?: Element, scale = 2): Promise<Blob> {
  const { text, width, height } = standaloneSvg(svg, container);
  const img = new Image();
  const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  try {
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error("could not render the chart as an image"));
      img.src = url;
    });
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("no 2D canvas");
    ctx.scale(scale, scale);
    ctx.drawImage(img, 0, 0, width, height);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("PNG encoding failed"))), "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}
