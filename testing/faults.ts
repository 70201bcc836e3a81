/**
 * Fault injection for resilience tests: failing requests, latency, dropped
 * watches, compacted history and a paused server.
 *
 * @module
 */

/** The verbs of the Kubernetes API, as faults target them. */
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

/** How `failNext` fails requests. */
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

/** How `delay` slows requests down. */
export interface DelayOptions extends RequestMatch {
  /** Added latency in milliseconds. */
  ms: number;
  /** How many matching requests are delayed (default `Infinity`). */
  count?: number;
}

/** Which watches `closeWatches` closes, and how. */
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

/** A registered fault. */
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
 * ```ts ignore
 * server.faults.failNext({ verb: "update", resource: "widgets", status: 409, count: 2 });
 * server.faults.closeWatches({ resource: "widgets", error: { code: 410 } });
 * server.faults.compact();
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
