/**
 * The search for a linearization of one partition of a history: the
 * Wing–Gong algorithm with Lowe's memoisation, as porcupine runs it.
 *
 * Calls and returns are sorted by time (a call before a return at equal
 * times, so that touching operations count as concurrent) into a doubly
 * linked list. Walking it from the front, a call may be linearized when the
 * model accepts it in the current state: it is lifted out of the list with
 * its return, and the walk starts over. Reaching a return whose call is
 * still in the list means that operation completed without taking effect
 * in this order: undo the last linearized call and try the next candidate.
 * A (set of linearized operations, state) pair already explored is never
 * explored again, which keeps the search polynomial in practice.
 *
 * @module
 */
import type { Operation } from "./history.ts";
import type { Model } from "./model.ts";

/** What the search concluded, before it is dressed up for users. */
export interface SearchOutcome {
  verdict: "ok" | "violation" | "unknown";
  /** Loop iterations taken. */
  steps: number;
  /**
   * Indices of operations in linearization order: all of them when `ok`;
   * the longest partial linearization found otherwise.
   */
  linearized: number[];
  /** The operation that could not take effect after `linearized`. */
  blocked: number | null;
}

/** Limits of one search. */
export interface SearchBudget {
  maxSteps: number;
  deadline: number;
  clock: () => number;
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

function hashKey(key: unknown): number {
  const text = typeof key === "string" ? `s${key}` : String(key);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return mix32(h);
}

/** The identity of a state for memoisation when the model gives none. */
function defaultStateKey(state: unknown): unknown {
  return typeof state === "object" && state !== null
    ? JSON.stringify(state)
    : state;
}

interface Visited {
  bits: Uint32Array;
  key: unknown;
}

/** Searches a linearization of `ops` (one partition) under `model`. */
export function searchLinearization<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  budget: SearchBudget,
): SearchOutcome {
  const n = ops.length;
  const stateKey = model.stateKey ?? defaultStateKey;
  // Entry e: the call of operation e >> 1 when e is even, its return when odd.
  const time = (e: number) =>
    (e & 1) === 0 ? ops[e >> 1].invokedAt : ops[e >> 1].completedAt;
  const order = Array.from({ length: 2 * n }, (_, e) => e).sort((a, b) => {
    const ta = time(a);
    const tb = time(b);
    if (ta < tb) return -1;
    if (ta > tb) return 1;
    return (a & 1) - (b & 1) || a - b;
  });
  // The list: node k = entry k - 1; node 0 is the head; -1 ends it.
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  let last = 0;
  for (const e of order) {
    next[last] = e + 1;
    prev[e + 1] = last;
    last = e + 1;
  }
  next[last] = -1;
  const lift = (op: number) => {
    const c = 2 * op + 1;
    const r = c + 1;
    next[prev[c]] = next[c];
    prev[next[c]] = prev[c]; // a call is always followed by its return
    next[prev[r]] = next[r];
    if (next[r] !== -1) prev[next[r]] = prev[r];
  };
  const unlift = (op: number) => {
    const c = 2 * op + 1;
    const r = c + 1;
    next[prev[r]] = r;
    if (next[r] !== -1) prev[next[r]] = r;
    next[prev[c]] = c;
    prev[next[c]] = c;
  };

  const bits = new Uint32Array(Math.ceil(n / 32));
  let bitsHash = 0;
  const cache = new Map<number, Visited[]>();
  const stack: { op: number; state: S }[] = [];
  let state = model.init();
  let longest: number[] = [];
  let blocked: number | null = null;
  let steps = 0;
  let k = next[0];
  while (next[0] !== -1) {
    steps++;
    if (
      steps > budget.maxSteps ||
      ((steps & 1023) === 0 && budget.clock() > budget.deadline)
    ) {
      return { verdict: "unknown", steps, linearized: longest, blocked };
    }
    const e = k - 1;
    const op = e >> 1;
    if ((e & 1) === 0) {
      const result = model.step(state, ops[op].input, ops[op].output);
      if (result.ok) {
        const word = op >>> 5;
        const bit = 1 << (op & 31);
        bits[word] |= bit;
        const nextHash = bitsHash ^ mix32(op + 1);
        const key = stateKey(result.state);
        const h = (nextHash ^ hashKey(key)) >>> 0;
        let bucket = cache.get(h);
        const seen = bucket?.some((v) =>
          Object.is(v.key, key) && v.bits.every((w, i) =>
            w === bits[i]
          )
        ) ?? false;
        if (!seen) {
          if (bucket === undefined) cache.set(h, bucket = []);
          bucket.push({ bits: bits.slice(), key });
          stack.push({ op, state });
          state = result.state;
          bitsHash = nextHash;
          lift(op);
          k = next[0];
          continue;
        }
        bits[word] &= ~bit;
      }
      k = next[k];
      continue;
    }
    // The return of an operation not yet linearized: this order fails.
    if (stack.length > longest.length || blocked === null) {
      longest = stack.map((s) => s.op);
      blocked = op;
    }
    const top = stack.pop();
    if (top === undefined) {
      return { verdict: "violation", steps, linearized: longest, blocked };
    }
    state = top.state;
    bits[top.op >>> 5] &= ~(1 << (top.op & 31));
    bitsHash ^= mix32(top.op + 1);
    unlift(top.op);
    k = next[2 * top.op + 1];
  }
  return {
    verdict: "ok",
    steps,
    linearized: stack.map((s) => s.op),
    blocked: null,
  };
}
