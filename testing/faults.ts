/**
 * Fault injection for resilience tests: failing requests, latency, dropped
 * watches, compacted history and a paused server.
 *
 * @module
 */

/**
 * The verbs of the Kubernetes API, as faults target them.
 *
 * @example A read-only API server
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoreV1Api } from "@kubernetes/client-node";
 * import { TestApiServer, type Verb } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * const core = server.kubeConfig().makeApiClient(CoreV1Api);
 * const writes: Verb[] = ["create", "update", "patch", "delete", "deletecollection"];
 * const outage = server.faults.failNext({ verb: writes, status: 503, count: Infinity });
 * // ... check that the operator backs off and keeps reading ...
 * const body = { metadata: { name: "settings" } };
 * assert.equal((await core.createNamespacedConfigMap({ namespace: "default", body }).catch((e) => e)).code, 503);
 * assert.equal((await core.listNamespacedConfigMap({ namespace: "default" })).items.length, 0);
 * outage.cancel();
 * ```
 */
export type Verb =
  | "get"
  | "list"
  | "watch"
  | "create"
  | "update"
  | "patch"
  | "delete"
  | "deletecollection";

/**
 * Which requests a fault applies to. Every given field must match; an
 * empty match applies to every resource request.
 *
 * @example Status writes of one Widget
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RequestMatch, TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * const statusWrites: RequestMatch = {
 *   verb: ["update", "patch"],
 *   resource: "widgets.example.com/status", // not spec updates of widgets
 *   namespace: "team-a",
 *   name: "blog",
 * };
 * const conflict = server.faults.failNext({ ...statusWrites, status: 409 });
 * server.faults.delay({ ...statusWrites, ms: 200 });
 * assert.equal(conflict.remaining, 1); // until a status write of that Widget comes
 * ```
 */
export interface RequestMatch {
  /** One verb or several. */
  verb?: Verb | Verb[];
  /**
   * The resource: its plural (`configmaps`, `widgets`) or plural and group
   * (`widgets.example.com`); a plural matches its subresources too, while
   * `widgets/status` matches only the status subresource.
   */
  resource?: string;
  /** The namespace in the request path. */
  namespace?: string;
  /** The object name in the request path. */
  name?: string;
}

/**
 * How `failNext` fails requests.
 *
 * @example A conflict on update
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoreV1Api } from "@kubernetes/client-node";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * const core = server.kubeConfig().makeApiClient(CoreV1Api);
 * const body = { metadata: { name: "settings" }, data: { mode: "fast" } };
 * await core.createNamespacedConfigMap({ namespace: "default", body });
 * // The next update of "settings" conflicts, as if another writer got there first.
 * server.faults.failNext({ verb: "update", resource: "configmaps", name: "settings", status: 409 });
 * const error = await core.replaceNamespacedConfigMap({ name: "settings", namespace: "default", body })
 *   .catch((e) => e);
 * assert.equal(error.code, 409);
 * ```
 */
export interface FailOptions extends RequestMatch {
  /** The HTTP status code, e.g. 500, 409, 429, 503. */
  status: number;
  /** How many matching requests fail (default 1; `Infinity` for all). */
  count?: number;
  /** The `Status.reason` (default: the real server's reason for the code). */
  reason?: string;
  /** The `Status.message`. */
  message?: string;
  /** Sent as `Retry-After` and `details.retryAfterSeconds` (429 and 503). */
  retryAfterSeconds?: number;
}

/**
 * How `delay` slows requests down.
 *
 * @example A slow first list
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoreV1Api } from "@kubernetes/client-node";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * const slow = server.faults.delay({ verb: "list", resource: "configmaps", ms: 50, count: 1 });
 * const core = server.kubeConfig().makeApiClient(CoreV1Api);
 * await core.listNamespacedConfigMap({ namespace: "default" }); // takes 50 ms more
 * await core.listNamespacedConfigMap({ namespace: "default" }); // at full speed
 * assert.equal(slow.hits, 1);
 * assert.equal(slow.remaining, 0);
 * ```
 */
export interface DelayOptions extends RequestMatch {
  /** Added latency in milliseconds. */
  ms: number;
  /** How many matching requests are delayed (default `Infinity`). */
  count?: number;
}

/**
 * Which watches `closeWatches` closes, and how.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * // Widget watches in "team-a" end with 410 Gone: watchers must relist.
 * server.faults.closeWatches({ resource: "widgets", namespace: "team-a", error: { code: 410 } });
 * // Every watch ends with a 500: watchers resume from their last resourceVersion.
 * const closed = server.faults.closeWatches({ error: { code: 500, message: "etcd leader changed" } });
 * assert.equal(closed, 0); // how many watches were closed: none were open here
 * ```
 */
export interface CloseWatchesOptions {
  /** Only watches of this resource (plural). */
  resource?: string;
  /** Only watches in this namespace. */
  namespace?: string;
  /**
   * Send an ERROR event carrying this Status before closing (a 410 makes a
   * client relist, a 500 makes it retry).
   */
  error?: { code: number; reason?: string; message?: string };
  /**
   * Break the connection mid-stream instead of ending it cleanly. Under
   * Deno, undici (inside client-node 2.x) does not notice a connection the
   * server drops, so client-node's `Watch` only ends at its own inactivity
   * timeout (30 s); use `error` for prompt, portable watch failures.
   */
  abort?: boolean;
}

/**
 * A registered fault.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoreV1Api } from "@kubernetes/client-node";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * const core = server.kubeConfig().makeApiClient(CoreV1Api);
 * const body = { metadata: { name: "settings" } };
 * await core.createNamespacedConfigMap({ namespace: "default", body });
 * const conflicts = server.faults.failNext({ verb: "update", resource: "configmaps", status: 409, count: Infinity });
 * await core.replaceNamespacedConfigMap({ name: "settings", namespace: "default", body }).catch(() => {});
 * assert.equal(conflicts.hits, 1); // how many updates were refused
 * conflicts.cancel(); // let the next update through
 * await core.replaceNamespacedConfigMap({ name: "settings", namespace: "default", body });
 * ```
 */
export interface FaultHandle {
  /** How many requests it has affected. */
  readonly hits: number;
  /** How many more requests it will affect. */
  readonly remaining: number;
  /** Removes it. */
  cancel(): void;
}

/**
 * The fault-injection hooks of a {@link TestApiServer}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * server.faults.failNext({ verb: "update", resource: "widgets", status: 409, count: 2 });
 * server.faults.closeWatches({ resource: "widgets", error: { code: 410 } });
 * server.faults.compact(); // a watch from an older resourceVersion gets 410 Gone
 * server.faults.pause();
 * assert.equal(server.faults.paused, true);
 * server.faults.resume();
 * ```
 */
export interface Faults {
  /** Makes the next `count` matching requests fail with a `Status`. */
  failNext(options: FailOptions): FaultHandle;
  /** Adds latency to matching requests. */
  delay(options: DelayOptions): FaultHandle;
  /** Closes open watches; returns how many were closed. */
  closeWatches(options?: CloseWatchesOptions): number;
  /**
   * Forgets watch history up to `resourceVersion` (default: now), so a
   * watch or a list continuation from before it gets 410 Gone.
   */
  compact(options?: { resourceVersion?: number }): void;
  /** Holds every new request, and watch delivery, until `resume()`. */
  pause(): void;
  /** Releases what `pause()` held. */
  resume(): void;
  /** Whether the server is paused. */
  readonly paused: boolean;
  /** Removes every registered failure and delay and resumes the server. */
  clear(): void;
}
