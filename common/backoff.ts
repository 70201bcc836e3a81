/**
 * Backoff policies: per-key exponential (work queue) and exponential with
 * jitter (watch reconnects).
 *
 * @module
 */

/** Exponential backoff settings. */
export interface ExponentialOptions {
  /** The first delay in milliseconds. */
  baseMs: number;
  /** The largest delay in milliseconds. */
  maxMs: number;
}

/** `baseMs * 2^failures`, capped at `maxMs` (client-go's item limiter). */
export function exponentialDelay(
  failures: number,
  options: ExponentialOptions,
): number {
  const exp = Math.min(failures, 1024);
  const delay = options.baseMs * Math.pow(2, exp);
  return Number.isFinite(delay)
    ? Math.min(delay, options.maxMs)
    : options.maxMs;
}

/** Per-key failure counts turned into exponential delays. */
export class ItemBackoff<K> {
  readonly #failures = new Map<K, number>();
  readonly #options: ExponentialOptions;

  /** Creates the backoff; no key has failed yet. */
  constructor(options: ExponentialOptions) {
    this.#options = options;
  }

  /** The delay for the next retry of `key`; counts one more failure. */
  next(key: K): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    return exponentialDelay(failures, this.#options);
  }

  /** How many failures `key` has had since it was last forgotten. */
  failures(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Resets `key`'s failure count. */
  forget(key: K): void {
    this.#failures.delete(key);
  }
}

/** Settings of {@linkcode JitterBackoff}. */
export interface JitterOptions extends ExponentialOptions {
  /** Fraction of the delay that is randomised, in [0, 1]. */
  jitter: number;
  /** A source of randomness in [0, 1). */
  random: () => number;
  /**
   * Start over from `baseMs` when no delay was asked for this long
   * (client-go's `DelayWithReset`: 2 minutes for reflectors); needs the
   * time passed to `next`.
   */
  resetAfterMs?: number;
}

/** Exponential backoff with full-range jitter, for reconnect loops. */
export class JitterBackoff {
  #attempt = 0;
  #last: number | undefined;
  readonly #options: JitterOptions;

  /** Creates the backoff at its first attempt. */
  constructor(options: JitterOptions) {
    this.#options = options;
  }

  /**
   * The next delay in milliseconds; with `now`, a quiet spell of
   * `resetAfterMs` since the last call starts over from the base delay.
   */
  next(now?: number): number {
    const resetAfter = this.#options.resetAfterMs;
    if (now !== undefined) {
      if (
        resetAfter !== undefined && this.#last !== undefined &&
        now - this.#last > resetAfter
      ) {
        this.#attempt = 0;
      }
      this.#last = now;
    }
    const delay = exponentialDelay(this.#attempt++, this.#options);
    const spread = delay * this.#options.jitter;
    return Math.max(0, delay - spread + 2 * spread * this.#options.random());
  }

  /** Starts over from the base delay. */
  reset(): void {
    this.#attempt = 0;
  }
}
