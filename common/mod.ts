/**
 * The library's shared vocabulary, below every other part: who leads
 * (`NodeId`, `Role`, `NotLeaderError`), time as a parameter (`Clock`),
 * logging (`Logger`), and two timing policies (backoff, token bucket).
 *
 * Not an entry point of its own: `./raft`, `./controller` and `./metrics`
 * re-export what of it is public.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManualClock, NotLeaderError, silentLogger } from "./mod.ts";
 * const clock = new ManualClock();
 * clock.advance(1_000);
 * silentLogger.info("not printed", { at: clock.now() });
 * assert.equal(new NotLeaderError(2).leader, 2);
 * ```
 *
 * @module
 */
export * from "./leadership.ts";
export * from "./clock.ts";
export * from "./log.ts";
export * from "./backoff.ts";
export * from "./rate_limiter.ts";
export * from "./tripwire.ts";
