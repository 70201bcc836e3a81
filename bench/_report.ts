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

/** Reports one figure (see {@linkcode BenchRow}). */
export function reportRow(row: BenchRow): void {
  append({ kind: "row", ...row });
}

/** Reports one distribution (see {@linkcode BenchSamples}). */
export function reportSamples(samples: BenchSamples): void {
  append({ kind: "samples", ...samples });
}
