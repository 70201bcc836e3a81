/**
 * A drifting monotonic clock for one simulated machine: piecewise linear in
 * the global (real) time, each piece at a rate within `[1 − drift, 1 + drift]`
 * (at the extremes in some seeds), read in steps of a granularity. Pieces are
 * drawn lazily from the clock's own generator, so the clock is the same
 * whatever order it is asked in.
 *
 * @module
 */
import type { Prng } from "../../../testing/raft/random.ts";

interface Piece {
  /** Real time the piece starts at. */
  t0: number;
  /** The exact local time at `t0`. */
  l0: number;
  /** Local milliseconds per real millisecond. */
  rate: number;
}

/** How a clock drifts. */
export interface ClockOptions {
  /** The bound on the rate error. */
  drift: number;
  /** The step of readings, in ms. */
  granularity: number;
  /** Whether rates sit at the extremes of the bound. */
  extremes: boolean;
}

/** One machine's monotonic clock. */
export class DriftClock {
  readonly #prng: Prng;
  readonly #options: ClockOptions;
  readonly #pieces: Piece[];

  /** A clock whose pieces come from `prng`. */
  constructor(prng: Prng, options: ClockOptions) {
    this.#prng = prng;
    this.#options = options;
    this.#pieces = [{ t0: 0, l0: prng.next() * 1e6, rate: this.#rate() }];
  }

  #rate(): number {
    const { drift, extremes } = this.#options;
    return extremes
      ? this.#prng.pick([1 - drift, 1 + drift])
      : 1 - drift + 2 * drift * this.#prng.next();
  }

  #extend(): void {
    const last = this.#pieces[this.#pieces.length - 1];
    const length = this.#prng.range(100, 3000);
    this.#pieces.push({
      t0: last.t0 + length,
      l0: last.l0 + last.rate * length,
      rate: this.#rate(),
    });
  }

  #pieceAt(t: number): Piece {
    while (this.#pieces[this.#pieces.length - 1].t0 <= t) this.#extend();
    let lo = 0;
    let hi = this.#pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#pieces[mid].t0 <= t) lo = mid;
      else hi = mid - 1;
    }
    return this.#pieces[lo];
  }

  /** The exact local time at real time `t`. */
  exact(t: number): number {
    const p = this.#pieceAt(t);
    return p.l0 + p.rate * (t - p.t0);
  }

  /** What the process reads at real time `t`. */
  read(t: number): number {
    return this.#step(this.exact(t));
  }

  /** A local time rounded down to the reading step (`g = 1/k`: divides by `k`, exact for decimals). */
  #step(local: number): number {
    const g = this.#options.granularity;
    const k = Math.round(1 / g);
    return k >= 1 && 1 / k === g
      ? Math.floor(local * k) / k
      : Math.floor(local / g) * g;
  }

  /** The first real time at which the reading is at least `v` (at or after 0). */
  realWhen(v: number): number {
    const g = this.#options.granularity;
    const target = Math.ceil(v / g) * g;
    if (this.#pieces[0].l0 >= target) return 0;
    let i = 0;
    for (;;) {
      if (i + 1 >= this.#pieces.length) this.#extend();
      if (this.#pieces[i + 1].l0 > target) break;
      i++;
    }
    const p = this.#pieces[i];
    let t = p.t0 + (target - p.l0) / p.rate;
    for (let step = 1e-9; this.read(t) < v; step *= 2) t += step;
    return t;
  }
}
