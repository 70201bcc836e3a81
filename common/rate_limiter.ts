/**
 * A token bucket: `qps` tokens per second, at most `burst` saved up.
 *
 * @module
 */

/** Token bucket settings. */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  qps: number;
  /** Bucket size. */
  burst: number;
}

/** A token bucket that hands out reservations as delays. */
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;

  /** Creates a full bucket at `now` (milliseconds on the caller's clock). */
  constructor(options: TokenBucketOptions, now: number) {
    if (!(options.qps > 0) || !(options.burst >= 1)) {
      throw new RangeError(
        `Expected qps > 0 and burst >= 1, found qps ${options.qps} and burst ${options.burst}`,
      );
    }
    this.#qps = options.qps;
    this.#burst = options.burst;
    this.#tokens = options.burst;
    this.#last = now;
  }

  /** Takes one token; returns how long to wait until it is really ours. */
  reserve(now: number): number {
    const elapsed = Math.max(0, now - this.#last);
    this.#last = Math.max(this.#last, now);
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + (elapsed * this.#qps) / 1000,
    );
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.#qps;
  }
}
