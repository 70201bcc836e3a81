/**
 * The history of a long run, key by key, in bounded memory per operation.
 *
 * Keys in use are recorded with the public {@linkcode HistoryRecorder}, one
 * per key. Once the workload retires a key and its last operation has
 * ended, its history is packed into a `Float64Array` (7 numbers per
 * operation instead of a few hundred bytes of objects) and unpacked again,
 * one key at a time, when it is checked. A 30-minute run records millions
 * of operations; as objects they would not fit.
 *
 * Values are packed as numbers: `"<client>.<n>"` as `client * 2^32 + n`,
 * `null` as -1, anything else (only a bug would produce it) through a table
 * of its own, so that it comes back unchanged.
 *
 * @module
 */
import {
  HistoryRecorder,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
} from "../../testing/mod.ts";

type Op = Operation<RegisterInput, RegisterOutput>;

/** A recorded operation's handle. */
export interface Handle {
  key: string;
  id: number;
}

const FIELDS = 7;
const KINDS = ["get", "put", "cas"] as const;
const NONE = -2;
const SHIFT = 2 ** 32;

/** Per-key histories: live recorders, then packed arrays. */
export class KeyedHistory {
  readonly #clock: () => number;
  readonly #live = new Map<
    string,
    HistoryRecorder<RegisterInput, RegisterOutput>
  >();
  readonly #packed = new Map<string, Float64Array>();
  readonly #retired = new Set<string>();
  readonly #strings: string[] = [];
  readonly #stringIds = new Map<string, number>();
  #operations = 0;
  #indeterminate = 0;
  #discarded = 0;

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** Records an invocation now. */
  invoke(client: number, input: RegisterInput): Handle {
    let recorder = this.#live.get(input.key);
    if (recorder === undefined) {
      // A new key, or a retired one read again at the end of the run.
      recorder = new HistoryRecorder({ clock: this.#clock });
      this.#live.set(input.key, recorder);
    }
    return { key: input.key, id: recorder.invoke(client, input) };
  }

  /** The answer arrived. */
  complete(h: Handle, output: RegisterOutput): void {
    this.#live.get(h.key)!.complete(h.id, output);
    this.#operations++;
    this.#maybePack(h.key);
  }

  /** The outcome is unknown. */
  indeterminate(h: Handle): void {
    this.#live.get(h.key)!.indeterminate(h.id);
    this.#operations++;
    this.#indeterminate++;
    this.#maybePack(h.key);
  }

  /** Certainly without effect: left out. */
  discard(h: Handle): void {
    this.#live.get(h.key)!.discard(h.id);
    this.#discarded++;
    this.#maybePack(h.key);
  }

  /** No operation on `key` will be invoked any more. */
  retire(key: string): void {
    this.#retired.add(key);
    this.#maybePack(key);
  }

  /** Operations in the history (completed and indeterminate). */
  get operations(): number {
    return this.#operations;
  }

  /** Indeterminate operations. */
  get indeterminateCount(): number {
    return this.#indeterminate;
  }

  /** Discarded operations. */
  get discardedCount(): number {
    return this.#discarded;
  }

  /** Keys packed so far. */
  get packedKeys(): number {
    return this.#packed.size;
  }

  /** Every key's history, one at a time (pending operations as indeterminate). */
  *histories(): Generator<[string, Op[]]> {
    for (const [key, data] of this.#packed) {
      yield [
        key,
        [...this.#unpack(key, data), ...this.#live.get(key)?.history() ?? []],
      ];
    }
    for (const [key, recorder] of this.#live) {
      if (!this.#packed.has(key)) yield [key, recorder.history()];
    }
  }

  #maybePack(key: string): void {
    const recorder = this.#live.get(key);
    if (
      recorder === undefined || !this.#retired.has(key) || recorder.pending > 0
    ) {
      return;
    }
    this.#packed.set(key, this.#pack(recorder.history()));
    this.#live.delete(key);
    this.#retired.delete(key);
  }

  #value(v: string | null | undefined): number {
    if (v === undefined) return NONE;
    if (v === null) return -1;
    const m = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,8})$/.exec(v);
    if (m !== null && Number(m[2]) < SHIFT) {
      return Number(m[1]) * SHIFT + Number(m[2]);
    }
    let id = this.#stringIds.get(v);
    if (id === undefined) {
      id = this.#strings.push(v) - 1;
      this.#stringIds.set(v, id);
    }
    return -3 - id;
  }

  #string(n: number): string | null | undefined {
    if (n === NONE) return undefined;
    if (n === -1) return null;
    if (n <= -3) return this.#strings[-3 - n];
    return `${Math.floor(n / SHIFT)}.${n % SHIFT}`;
  }

  #pack(ops: Op[]): Float64Array {
    const data = new Float64Array(ops.length * FIELDS);
    ops.forEach((op, i) => {
      const input = op.input;
      const at = i * FIELDS;
      data[at] = op.invokedAt;
      data[at + 1] = op.completedAt;
      data[at + 2] = KINDS.indexOf(input.op);
      data[at + 3] = op.client;
      data[at + 4] = input.op === "get" ? NONE : this.#value(input.value);
      data[at + 5] = input.op === "cas" ? this.#value(input.expected) : NONE;
      // get: the value read; cas: 1 swapped, 0 not; put: 0; unknown: NONE.
      data[at + 6] = op.output === undefined
        ? NONE
        : input.op === "get"
        ? this.#value(op.output.value)
        : input.op === "cas"
        ? Number(op.output.ok)
        : 0;
    });
    return data;
  }

  #unpack(key: string, data: Float64Array): Op[] {
    const ops: Op[] = [];
    for (let at = 0; at < data.length; at += FIELDS) {
      const kind = KINDS[data[at + 2]];
      const input: RegisterInput = kind === "get"
        ? { key, op: "get" }
        : kind === "put"
        ? { key, op: "put", value: this.#string(data[at + 4])! }
        : {
          key,
          op: "cas",
          expected: this.#string(data[at + 5])!,
          value: this.#string(data[at + 4])!,
        };
      const op: Op = {
        client: data[at + 3],
        input,
        invokedAt: data[at],
        completedAt: data[at + 1],
      };
      const out = data[at + 6];
      if (out !== NONE) {
        op.output = kind === "get"
          ? { value: this.#string(out)! }
          : kind === "cas"
          ? { ok: out === 1 }
          : {};
      }
      ops.push(op);
    }
    return ops;
  }
}
