/**
 * The differences between the in-process `TestApiServer` and a real
 * kube-apiserver 1.32 that the differential suite expects, each with its
 * reason. The same list, reason for reason, is in the module doc of
 * `testing/mod.ts` (“Fidelity”); the suite fails when a difference is not
 * listed here, when a listed one stops happening, or when the module doc
 * does not carry a reason.
 *
 * @module
 */

/** One known divergence: where it shows, and why it stays. */
export interface Divergence {
  /** The scenario it shows in. */
  scenario: string;
  /** The step it shows in. */
  step: string;
  /** The difference's path, or a prefix of it (a whole subtree). */
  path: string;
  /** Why the test server does not do what the real one does. */
  reason: string;
}

/** Built-in kinds are validated for their metadata only. */
const BUILTIN_VALIDATION =
  "Built-in kinds are validated for their metadata only: the real server's per-kind rules (immutable pod fields, required containers, selector matching …) are thousands of lines of Go; a test that needs them runs on envtest.";

/** core/v1 and events.k8s.io/v1 Events are two collections. */
const EVENT_APIS =
  "core/v1 and events.k8s.io/v1 Events are separate collections here, one storage converted both ways on a real server: an event recorder reads back through the API it writes with.";

/** No ServiceAccounts are served. */
const SERVICE_ACCOUNT_TOKEN =
  "No ServiceAccounts are served, so the ServiceAccount admission plugin's projected token volume (and, in the reference's OpenShift build, its service CA) is not added to Pods; Pods that set automountServiceAccountToken: false compare equal.";

/** The known divergences. */
export const DIVERGENCES: Divergence[] = [
  {
    scenario: "strategic-lists",
    step: "pod env cannot change",
    path: "",
    reason: BUILTIN_VALIDATION,
  },
  {
    scenario: "leases-events",
    step: "list core events",
    path: ".body.items[1]",
    reason: EVENT_APIS,
  },
  {
    scenario: "defaults",
    step: "pod",
    path: ".body.spec.containers[0].volumeMounts[1]",
    reason: SERVICE_ACCOUNT_TOKEN,
  },
  {
    scenario: "defaults",
    step: "pod",
    path: ".body.spec.volumes[1]",
    reason: SERVICE_ACCOUNT_TOKEN,
  },
];

/** The reasons, each once (what the module doc lists). */
export const REASONS: string[] = [
  ...new Set(DIVERGENCES.map((d) => d.reason)),
];
