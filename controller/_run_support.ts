/**
 * Internal: small helpers of a controller's run: a promise of a signal's
 * abort, and the server's `Retry-After` of a failed reconcile.
 *
 * @module
 */
import { ApiError } from "../client/errors.ts";

/** Resolves when `signal` aborts (at once if it did). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** The server's `Retry-After` in milliseconds, from an ApiError or its causes; 0 when none. */
export function retryAfterMs(error: unknown): number {
  for (let e = error, depth = 0; e && depth < 5; depth++) {
    if (e instanceof ApiError && e.retryAfterSeconds) {
      return e.retryAfterSeconds * 1000;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return 0;
}
