/**
 * One side of the controller benchmark in its own process: the protocol
 * between `bench/controller.ts` (which owns the API server, seeds the
 * objects and changes them) and a side (which reconciles them). Each side's
 * entry (`_controller_ours.ts`, `_controller_client_node.ts`) imports only
 * what that side needs and calls {@linkcode runSide}, so each process's
 * heap and RSS are that side's own.
 *
 * Environment: `KUBECONFIG` (the test server's), `BENCH_SIDE` (which row),
 * `BENCH_NAMESPACE`, `BENCH_OBJECTS`, `BENCH_CHANGES`, `BENCH_CONCURRENCY`,
 * optionally `BENCH_CPU_PROFILE` (see `drain`).
 *
 * Commands arrive as JSON lines on stdin; each is answered by one JSON line
 * on stdout:
 *
 * - at start: `ready` (heap after a forced GC, RSS) before the side exists;
 * - `start` → `converged`: every object reconciled once (time from start,
 *   list included; retained heap after a forced GC minus the heap at
 *   `ready`; RSS);
 * - `mark` → `marked`: the call and write counters are snapshot;
 * - `count {generation}` → `counted`: once every changed object was
 *   reconciled at `generation` and no reconciler call came for 300 ms
 *   (the status writes' own echoes are in): calls and writes per change
 *   since `mark`;
 * - `hold` → `held`: the side stops reconciling (ours: not leading);
 * - `backlog {generation}` → `backlogged`: every changed object reached
 *   `generation` in the side's cache while held;
 * - `drain` → `drained`: resumed, until every changed object was written at
 *   the new generation; reconciles (changes) per second, the CPU time
 *   this process used meanwhile per change (user + system; on a shared
 *   machine the rate moves with the load, the CPU per change much less),
 *   and the reconciler calls meanwhile per change (ours: the takeover's
 *   re-check of unchanged cached objects that ran before the last changed
 *   one was written); with `BENCH_CPU_PROFILE` set to a directory, a CPU
 *   profile of the drain goes there as `<side>.cpuprofile`;
 * - `exit` → `done` (final heap and RSS), then the process ends.
 *
 * @module
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import process from "node:process";

/** What both kinds of side share: counters and the generation each object reached. */
export class Tally {
  /** Calls of the user's reconcile function. */
  calls = 0;
  /** Status writes sent. */
  writes = 0;
  /** The generation each object was last written at, by name. */
  readonly #observed = new Map<string, number>();
  /** How many changed objects were last written at each generation or later. */
  readonly #atLeast: number[] = [];
  readonly #changed: Set<string>;

  constructor(changes: number) {
    this.#changed = new Set(
      Array.from({ length: changes }, (_, i) => `w-${i}`),
    );
  }

  /** How many objects were written at least once. */
  get size(): number {
    return this.#observed.size;
  }

  /** Notes a status write of `name` at `generation`. */
  wrote(name: string, generation: number): void {
    const before = this.#observed.get(name) ?? 0;
    this.#observed.set(name, generation);
    if (!this.#changed.has(name)) return;
    for (let g = before + 1; g <= generation; g++) {
      this.#atLeast[g] = (this.#atLeast[g] ?? 0) + 1;
    }
    for (let g = generation + 1; g <= before; g++) this.#atLeast[g]!--;
  }

  /**
   * How many of the changed objects (`w-0` … ) were written at `generation`
   * or later (kept up to date by {@linkcode wrote}: the side polls it every
   * 5 ms, and a count over every changed object cost the side's process a
   * tenth of its CPU time in the drain).
   */
  reached(generation: number): number {
    return generation <= 0
      ? this.#changed.size
      : this.#atLeast[generation] ?? 0;
  }
}

/** A side under test. */
export interface Side {
  /** Starts listing, watching and reconciling. */
  start(): Promise<void>;
  /** Stops taking work; resolves once nothing is in flight. */
  hold(): Promise<void>;
  /** Takes work again. */
  resume(): void;
  /** How many of the changed objects are at `generation` in the side's cache. */
  cached(generation: number): number;
  /** Stops everything. */
  stop(): Promise<void>;
  /** The client-side rate limit in force (ours), if the side has one. */
  rateLimit?: unknown;
}

/** What a side is built from. */
export interface SideInit {
  /** Which row (`BENCH_SIDE`). */
  side: string;
  /** The kubeconfig file of the test server. */
  kubeconfig: string;
  /** The namespace the objects live in. */
  namespace: string;
  /** How many objects (`w-0` … ). */
  objects: number;
  /** How many of them each wave changes (the first ones). */
  changes: number;
  /** Workers. */
  concurrency: number;
  /** Counters to feed. */
  tally: Tally;
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapMb(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1e6;
}

function rssMb(): number {
  return process.memoryUsage().rss / 1e6;
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event) + "\n");
}

/** Resolves once `check()` holds, re-checking every 5 ms. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** A V8 CPU profile being taken of this process. */
interface Profile {
  /** Stops it and writes it to `<BENCH_CPU_PROFILE>/<name>`. */
  stop(name: string): Promise<void>;
}

/**
 * Starts a CPU profile (sampled every 200 µs) when `BENCH_CPU_PROFILE`
 * names a directory; open the file in Chrome's DevTools.
 */
async function startProfile(): Promise<Profile | undefined> {
  const dir = process.env.BENCH_CPU_PROFILE;
  if (!dir) return undefined;
  const { Session } = await import("node:inspector");
  const session = new Session();
  session.connect();
  const post = (method: string, params: object = {}) =>
    new Promise<{ profile?: unknown }>((resolve, reject) =>
      session.post(
        method,
        params,
        (error: unknown, result: unknown) =>
          error ? reject(error) : resolve(result as { profile?: unknown }),
      )
    );
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 200 });
  await post("Profiler.start");
  return {
    async stop(name) {
      const { profile } = await post("Profiler.stop");
      session.disconnect();
      await writeFile(join(dir, name), JSON.stringify(profile));
    },
  };
}

/** Runs the protocol for the side `make` builds. */
export async function runSide(
  make: (init: SideInit) => Side,
): Promise<void> {
  const env = process.env;
  const changes = Number(env.BENCH_CHANGES);
  const tally = new Tally(changes);
  const init: SideInit = {
    side: env.BENCH_SIDE!,
    kubeconfig: env.KUBECONFIG!,
    namespace: env.BENCH_NAMESPACE!,
    objects: Number(env.BENCH_OBJECTS),
    changes,
    concurrency: Number(env.BENCH_CONCURRENCY),
    tally,
  };
  const heapBefore = heapMb();
  const rssBefore = rssMb();
  emit({ event: "ready", heapMb: heapBefore, rssMb: rssBefore, gc: !!gc });
  const side = make(init);
  let mark = { calls: 0, writes: 0 };
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const command = JSON.parse(line) as { cmd: string; generation?: number };
    switch (command.cmd) {
      case "start": {
        const started = performance.now();
        await side.start();
        await until(() => tally.size >= init.objects);
        const ms = performance.now() - started;
        emit({
          event: "converged",
          rateLimit: side.rateLimit,
          ms,
          heapMb: heapMb() - heapBefore,
          rssMb: rssMb(),
          rssGrowthMb: rssMb() - rssBefore,
        });
        break;
      }
      case "mark":
        mark = { calls: tally.calls, writes: tally.writes };
        emit({ event: "marked" });
        break;
      case "count": {
        await until(() => tally.reached(command.generation!) >= changes);
        // The status writes come back as watch events; count the calls
        // they cause: wait until no call came for 300 ms.
        let calls = -1;
        while (calls !== tally.calls) {
          calls = tally.calls;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        emit({
          event: "counted",
          callsPerChange: (tally.calls - mark.calls) / changes,
          writesPerChange: (tally.writes - mark.writes) / changes,
        });
        break;
      }
      case "hold":
        await side.hold();
        emit({ event: "held" });
        break;
      case "backlog":
        await until(() => side.cached(command.generation!) >= changes);
        emit({ event: "backlogged" });
        break;
      case "drain": {
        const profiler = await startProfile();
        const callsBefore = tally.calls;
        const started = performance.now();
        const cpuBefore = process.cpuUsage();
        side.resume();
        await until(() => tally.reached(command.generation!) >= changes);
        const cpu = process.cpuUsage(cpuBefore);
        const calls = tally.calls - callsBefore;
        await profiler?.stop(`${init.side}.cpuprofile`);
        emit({
          event: "drained",
          perSecond: changes / ((performance.now() - started) / 1000),
          cpuUsPerChange: (cpu.user + cpu.system) / changes,
          callsPerChange: calls / changes,
        });
        break;
      }
      case "exit":
        await side.stop();
        emit({ event: "done", heapMb: heapMb() - heapBefore, rssMb: rssMb() });
        lines.close();
        return;
      default:
        throw new TypeError(`Unknown command ${JSON.stringify(command)}`);
    }
  }
}
