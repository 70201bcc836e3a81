/**
 * Records of reconciles, for tests that check that no two replicas
 * reconciled one object at the same time.
 */
import assert from "node:assert/strict";

/** A completed reconcile: who, what, and when (on one clock). */
export interface RunRecord {
  /** The replica. */
  node: number;
  /** The object's key. */
  key: string;
  /** When it started. */
  start: number;
  /** When it ended (`null`: it did not complete). */
  end: number | null;
}

/** Throws when two replicas' completed reconciles of one object overlap. */
export function assertNoOverlap(runs: readonly RunRecord[]): void {
  const done = runs.filter((r) => r.end !== null);
  for (const [key, list] of Map.groupBy(done, (r) => r.key)) {
    for (const a of list) {
      for (const b of list) {
        if (a.node === b.node) continue;
        assert.ok(
          a.end! <= b.start || b.end! <= a.start,
          `${key}: node ${a.node} [${a.start}, ${a.end}] and node ${b.node} [${b.start}, ${b.end}]`,
        );
      }
    }
  }
}
