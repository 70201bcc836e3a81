/**
 * The contract between a benchmark and `deno task bench` (`bench/all.ts`):
 * a benchmark calls {@linkcode reportRow} for each figure and
 * {@linkcode reportSamples} for each distribution; when the environment
 * variable `BENCH_RESULTS` names a file, each call appends one JSON line to
 * it, otherwise nothing happens (the benchmark's own printout stays the
 * human interface).
 *
 * @module
 */
import { appendFileSync } from "node:fs";
import process from "node:process";

/** One figure: ours, and the baseline measured in the same run. */
export interface BenchRow {
  /** What is measured, e.g. "failover, kill -9 → guard leader, p50". */
  name: string;
  /** The unit of `ours` and `baseline`, e.g. "ms", "writes/s". */
  unit: string;
  /** Our figure. */
  ours: number;
  /** The baseline's figure, measured in the same process and run. */
  baseline?: number;
  /** What the baseline is, e.g. "client-go Lease, 15 s / 10 s / 2 s". */
  baselineName?: string;
  /** Whether a lower or a higher figure is better. */
  better: "lower" | "higher";
}

/** One distribution, for the side-by-side chart. */
export interface BenchSamples {
  /** The series, e.g. "ours: kill -9 → guard leader". */
  name: string;
  /** The unit of the samples. */
  unit: string;
  /** The measured values. */
  samples: number[];
}

function append(record: Record<string, unknown>): void {
  const file = process.env.BENCH_RESULTS;
  if (!file) return;
  appendFileSync(file, JSON.stringify(record) + "\n");
}

/**
 * Reports one figure (see {@linkcode BenchRow}). Throws a `TypeError` naming
 * the figure, and writes nothing, when `ours` or a given `baseline` is not a
 * finite number: JSON would turn NaN into `null` and the table would break
 * after every run had finished.
 */
export function reportRow(row: BenchRow): void {
  for (const key of ["ours", "baseline"] as const) {
    const value: unknown = row[key];
    if (key === "baseline" && value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new TypeError(
        `Expected ${key} of "${row.name}" to be a finite number, found ${
          typeof value === "object" ? JSON.stringify(value) : String(value)
        }`,
      );
    }
  }
  append({ kind: "row", ...row });
}

/** Reports one distribution (see {@linkcode BenchSamples}). */
export function reportSamples(samples: BenchSamples): void {
  append({ kind: "samples", ...samples });
}
