/**
 * Internal: whether this replica reaches the Kubernetes API server. An
 * {@linkcode ApiHealth} is fed by a probe (`GET /version` every second,
 * {@linkcode probeApi}) and by the controllers' watches
 * ({@linkcode watchObserver}); the Operator reports it to the leader with
 * every Raft answer, and a leader that has not reached the API server for a
 * while hands leadership to a follower that does (`_api_failover.ts`).
 *
 * "Reached" means an HTTP answer below 500 arrived (a 403 or 404 still
 * proves the way is open); a connection error, a timeout or a 5xx is a
 * failure.
 *
 * @module
 */
import { ApiError } from "../client/errors.ts";
import type { KubeClient } from "../client/kube_client.ts";
import {
  ShortWatchError,
  type WatcherObserver,
} from "../controller/watcher.ts";

/** How often the probe asks the API server, in milliseconds. */
export const PROBE_INTERVAL_MS = 1_000;
/** How long one probe may take before it counts as a failure. */
export const PROBE_TIMEOUT_MS = 2_000;
/** How long a success counts: past it, without another, nobody knows. */
export const FRESH_MS = 3 * PROBE_INTERVAL_MS;

/**
 * The outcomes of this replica's requests to the API server, on a
 * monotonic clock in milliseconds.
 */
export class ApiHealth {
  readonly #clock: () => number;
  #lastSuccess: number | null = null;
  #failingSince: number | null = null;

  /** Creates a tracker that has seen nothing yet. */
  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** A request got an answer: the API server is reachable now. */
  succeeded(): void {
    this.#lastSuccess = this.#clock();
    this.#failingSince = null;
  }

  /**
   * A request started at `startedAt` (default: now) got no answer (or a
   * 5xx). The failing streak begins at the later of that start and the
   * last success.
   */
  failed(startedAt: number = this.#clock()): void {
    if (this.#failingSince !== null) return;
    this.#failingSince = Math.max(startedAt, this.#lastSuccess ?? -Infinity);
  }

  /** Whether the latest outcome was a success, and recent (within {@linkcode FRESH_MS}). */
  reachable(): boolean {
    return this.#failingSince === null && this.#lastSuccess !== null &&
      this.#clock() - this.#lastSuccess <= FRESH_MS;
  }

  /** How long requests have failed without a success since; 0 when the latest succeeded. */
  unreachableForMs(): number {
    return this.#failingSince === null ? 0 : this.#clock() - this.#failingSince;
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Asks the API server for `/version` every {@linkcode PROBE_INTERVAL_MS}
 * until `signal` aborts, reporting each outcome to `health`. Never throws.
 */
export async function probeApi(
  client: KubeClient,
  init: { health: ApiHealth; clock: () => number; signal: AbortSignal },
): Promise<void> {
  const { health, clock, signal } = init;
  while (!signal.aborted) {
    const startedAt = clock();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), PROBE_TIMEOUT_MS);
    try {
      const response = await client.fetch("GET", "/version", {
        signal: AbortSignal.any([signal, timeout.signal]),
      });
      await response.body?.cancel();
      if (response.status < 500) health.succeeded();
      else health.failed(startedAt);
    } catch {
      if (!signal.aborted) health.failed(startedAt);
    } finally {
      clearTimeout(timer);
    }
    await delay(
      Math.max(0, PROBE_INTERVAL_MS - (clock() - startedAt)),
      signal,
    );
  }
}

/**
 * A watcher observer that reports to `health` (a completed list is a
 * success; a watch that failed without an answer from the server, or
 * stayed silent past its idle timeout, a failure) and then to `next`.
 */
export function watchObserver(
  health: ApiHealth,
  next: WatcherObserver | undefined,
): WatcherObserver {
  return {
    listed: (event) => {
      health.succeeded();
      next?.listed?.(event);
    },
    restarted: (event) => {
      if (event.reason === "error" || event.reason === "idle") {
        // A watch that closed at once without events (ShortWatchError)
        // still got an HTTP 200 from the server.
        const answered = (event.error instanceof ApiError &&
          event.error.status < 500) || event.error instanceof ShortWatchError;
        if (answered) health.succeeded();
        else health.failed();
      }
      next?.restarted?.(event);
    },
  };
}
