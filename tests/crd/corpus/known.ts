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

const CEL_RULES =
  "CEL rules (x-kubernetes-validations) are evaluated by the API server only: the library passes them through as written and evaluates none";
const CEL_COMPILE =
  "CEL rules are compiled by the API server only: a rule that does not compile (or exceeds the cost budget) is refused when the CRD is created, not when it is defined";

/** Every known difference. */
export const known: KnownDifference[] = [
  { against: "library", definition: "cel-valid", reason: CEL_RULES },
  { against: "testServer", definition: "cel-valid", reason: CEL_RULES },
  {
    against: "library",
    definition: "cel-does-not-compile",
    reason: CEL_COMPILE,
  },
  {
    against: "testServer",
    definition: "cel-does-not-compile",
    reason: CEL_COMPILE,
  },
];

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
