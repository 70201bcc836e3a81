/**
 * The differences between the library, the test API server and the real
 * kube-apiserver that the corpus accepts, each with its reason (the same
 * list, in prose, is in `crd/README.md`).
 *
 * @module
 */
import type { Difference } from "../_corpus.ts";

/** A difference the corpus expects. */
export interface KnownDifference {
  /** Who differs from the real server. */
  against: "library" | "testServer" | "live";
  /** The definition. */
  definition: string;
  /** The object (any object of the definition when absent). */
  object?: string;
  /** Why it differs, and why that is acceptable. */
  reason: string;
}

/** Every known difference. */
export const known: KnownDifference[] = [];

/** Whether `difference` of `against` is a known one. */
export function isListed(
  against: KnownDifference["against"],
  difference: Difference,
): boolean {
  return known.some((k) =>
    k.against === against && k.definition === difference.definition &&
    (k.object === undefined || k.object === difference.object)
  );
}
