/**
 * An SVG dot plot of failover and handover samples, ours and the baseline
 * side by side on a log time axis, for `bench/results/failover.svg`.
 *
 * @module
 */

/** One measurement: its label and the samples (ms) of both sides. */
export interface SampleGroup {
  label: string;
  ours: number[];
  baseline: number[];
}

const WIDTH = 760;
const LEFT = 250;
const RIGHT = 30;
const ROW = 56;
const TOP = 40;
const MIN_MS = 50;
const MAX_MS = 60_000;

function x(ms: number): number {
  const clamped = Math.min(MAX_MS, Math.max(MIN_MS, ms));
  const f = Math.log(clamped / MIN_MS) / Math.log(MAX_MS / MIN_MS);
  return LEFT + f * (WIDTH - LEFT - RIGHT);
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Renders the groups as a standalone SVG document. */
export function failoverSvg(groups: SampleGroup[]): string {
  const height = TOP + groups.length * ROW + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="20" font-size="14">Time until a new leader reconciles (log scale)</text>`,
    `<circle cx="${LEFT + 330}" cy="16" r="4" fill="#1f77b4"/><text x="${
      LEFT + 338
    }" y="20">ours (Raft)</text>`,
    `<circle cx="${LEFT + 420}" cy="16" r="4" fill="#d62728"/><text x="${
      LEFT + 428
    }" y="20">Lease baseline</text>`,
  ];
  for (const tick of [100, 300, 1_000, 3_000, 10_000, 30_000]) {
    const tx = x(tick).toFixed(1);
    out.push(
      `<line x1="${tx}" x2="${tx}" y1="${TOP - 5}" y2="${
        height - 30
      }" stroke="#ddd"/>`,
      `<text x="${tx}" y="${height - 12}" text-anchor="middle">${
        tick >= 1000 ? `${tick / 1000} s` : `${tick} ms`
      }</text>`,
    );
  }
  groups.forEach((g, i) => {
    const y = TOP + i * ROW + ROW / 2;
    out.push(
      `<text x="${LEFT - 10}" y="${y + 4}" text-anchor="end">${
        escape(g.label)
      }</text>`,
    );
    for (
      const [values, dy, color] of [
        [g.ours, -9, "#1f77b4"],
        [g.baseline, 9, "#d62728"],
      ] as const
    ) {
      for (const v of values) {
        out.push(
          `<circle cx="${x(v).toFixed(1)}" cy="${
            y + dy
          }" r="3.5" fill="${color}" fill-opacity="0.5"/>`,
        );
      }
      if (values.length > 0) {
        const mx = x(median(values)).toFixed(1);
        out.push(
          `<line x1="${mx}" x2="${mx}" y1="${y + dy - 7}" y2="${
            y + dy + 7
          }" stroke="${color}" stroke-width="2"/>`,
        );
      }
    }
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
