/**
 * A dependency-free SVG strip chart: one row per distribution on a shared
 * logarithmic axis, every sample a dot, the box from p25 to p75, a bar at
 * the median and a tick at p99.
 *
 * @module
 */
import type { BenchSamples } from "./_report.ts";

/** Options of {@linkcode chartSvg}. */
export interface ChartOptions {
  /** The title above the chart. */
  title: string;
}

const WIDTH = 1100;
const LABEL = 430;
const ROW = 44;
const TOP = 48;
const BOTTOM = 40;
const RIGHT = 30;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

function niceTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (
    let decade = 10 ** Math.floor(Math.log10(min));
    decade <= max * 10;
    decade *= 10
  ) {
    for (const m of [1, 2, 5]) {
      const t = decade * m;
      if (t >= min && t <= max) ticks.push(t);
    }
  }
  return ticks;
}

/** The chart of `series` as an SVG document. */
export function chartSvg(
  series: BenchSamples[],
  options: ChartOptions,
): string {
  const shown = series.filter((s) => s.samples.some((v) => v > 0));
  const height = TOP + Math.max(1, shown.length) * ROW + BOTTOM;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${
      escapeXml(options.title)
    }</text>`,
  ];
  if (shown.length === 0) {
    parts.push(
      `<text x="${WIDTH / 2}" y="${
        TOP + 20
      }" text-anchor="middle">no samples</text>`,
      "</svg>",
    );
    return parts.join("\n") + "\n";
  }
  const all = shown.flatMap((s) => s.samples.filter((v) => v > 0));
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const x = (v: number) =>
    LABEL +
    (Math.log10(Math.max(v, lo)) - Math.log10(lo)) /
      (Math.log10(hi) - Math.log10(lo)) * (WIDTH - LABEL - RIGHT);
  const axisY = TOP + shown.length * ROW;
  for (const t of niceTicks(lo, hi)) {
    parts.push(
      `<line x1="${x(t).toFixed(1)}" y1="${TOP}" x2="${
        x(t).toFixed(1)
      }" y2="${axisY}" stroke="#ddd"/>`,
      `<text x="${x(t).toFixed(1)}" y="${axisY + 16}" text-anchor="middle">${
        t >= 1000 ? `${t / 1000} s` : `${t} ms`
      }</text>`,
    );
  }
  shown.forEach((s, row) => {
    const sorted = s.samples.filter((v) => v > 0).sort((a, b) => a - b);
    const mid = TOP + row * ROW + ROW / 2;
    const baseline = !s.name.startsWith("ours");
    const color = baseline ? "#c0392b" : "#2471a3";
    const p25 = quantile(sorted, 0.25);
    const p50 = quantile(sorted, 0.5);
    const p75 = quantile(sorted, 0.75);
    const p99 = quantile(sorted, 0.99);
    parts.push(
      `<text x="${LABEL - 10}" y="${mid + 4}" text-anchor="end">${
        escapeXml(s.name)
      } (n=${sorted.length})</text>`,
      `<rect x="${x(p25).toFixed(1)}" y="${mid - 12}" width="${
        Math.max(1, x(p75) - x(p25)).toFixed(1)
      }" height="24" fill="${color}" fill-opacity="0.15" stroke="${color}"/>`,
    );
    sorted.forEach((v, i) => {
      const jitter = ((i * 7919) % 17) - 8;
      parts.push(
        `<circle cx="${x(v).toFixed(1)}" cy="${
          mid + jitter
        }" r="2" fill="${color}" fill-opacity="0.6"/>`,
      );
    });
    parts.push(
      `<line x1="${x(p50).toFixed(1)}" y1="${mid - 14}" x2="${
        x(p50).toFixed(1)
      }" y2="${mid + 14}" stroke="${color}" stroke-width="3"/>`,
      `<line x1="${x(p99).toFixed(1)}" y1="${mid - 8}" x2="${
        x(p99).toFixed(1)
      }" y2="${mid + 8}" stroke="${color}" stroke-dasharray="2,2"/>`,
      `<text x="${(x(p50) + 4).toFixed(1)}" y="${
        mid - 15
      }" fill="${color}">p50 ${
        p50 >= 100 ? p50.toFixed(0) : p50.toFixed(1)
      } ms</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
