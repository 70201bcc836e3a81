/**
 * One replica of the example operator for the chaos test: `examples/main.ts`
 * (the Website reconciler under `Operator.fromEnv`) plus the instruments the
 * checker reads. Configured by the operator's own environment (`RAFT_*`,
 * `KUBECONFIG`, `OPERATOR_HTTP_PORT`) and:
 *
 * - `CHAOS_BREAK=unfenced`: a deliberately broken build: the reconciler
 *   writes through an unfenced client and ignores `ctx.signal`, as if
 *   fencing had been removed, after a slow step (250 ms, as an external
 *   call would take) that keeps reconciles in flight when leadership moves.
 *   The chaos test must catch it.
 *
 * The instruments never call the guard. `guard.isLeader()` has a side
 * effect: when the lease has run out it ends leadership on the spot, which
 * aborts the fence of every request in flight. Sampling it at send time
 * would make the operator look better than it is (its own lease timer may
 * fire later), and doing so inside undici's dispatch, before `fetch()` has
 * set up its abort handling, kills the process on an undici assertion. So
 * the replica reads the guard through a `GuardMirror` (`_guard_mirror.ts`),
 * fed by the two calls the Raft node makes into the election.
 *
 * Prints JSON lines on stdout, each with `replica` and `t` (milliseconds on
 * the system clock every process shares, `testing/raft/wall_clock.ts`):
 *
 * - `{ event: "guard", leading: true, start, term }` when the guard starts
 *   leading, `{ event: "guard", leading: true, at, term }` every 100 ms
 *   while it leads, `{ event: "guard", leading: false, start, end, term }`
 *   when it stops. `start` and `end` are the first and the last sample that
 *   found it leading (a probe every 10 ms, every role or lease report, and
 *   every write), so an interval lies within the truth. Each sample is
 *   stamped with the clock reading the mirror judged at, never a later one.
 * - `{ event: "write", at, proc, seq, leading, term, role, leaseLeftMs,
 *   method, path }` for every write (POST, PUT, PATCH, DELETE) at the
 *   moment undici starts writing it to its connection (its handler's
 *   `onRequestStart`, right before the bytes go out), with the guard as the
 *   mirror reads it then (and how much of the lease was left, negative once
 *   it ran out, `null` without one); `at` is that moment, the sample's own
 *   time. Every request carries `x-chaos-replica` (this node's id),
 *   `x-chaos-proc` (this process's id) and `x-chaos-seq`, so the API
 *   server's request log joins the two.
 * - `{ event: "queue", length, processing, scheduled }` whenever the
 *   controller's work queue changes (checked every 250 ms).
 * - `{ event: "memory", rss, heapTotal, heapUsed, external }` (bytes) every
 *   10 s, to tell heap growth from other memory when RSS grows. With
 *   `CHAOS_MEMORY_GC=1` (the harness then starts the replica with
 *   `--expose-gc`) each sample follows a full garbage collection and says
 *   `gc: true`, so `heapUsed` is the live heap, not a point on the sawtooth.
 *   A diagnostic: the forced collections change the RSS being judged.
 * - with `CHAOS_HEAP_SNAPSHOTS=<dir>`, a heap snapshot
 *   (`<dir>/replica-<id>-<pid>-<n>.heapsnapshot`) on every SIGUSR2, to see
 *   what a growing heap retains.
 * - `{ event: "unhandled", kind, error }` before the runtime ends the process
 *   on an unhandled rejection or an uncaught error.
 * - `{ event: "finished", ok, error? }` once the operator has stopped.
 * - the operator's own log lines (`message`, `level`, ...).
 *
 * @module
 */
import process from "node:process";
import { writeHeapSnapshot } from "node:v8";
import { setTimeout as delay } from "node:timers/promises";
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import {
  type Context,
  jsonLogger,
  KubeClient,
  Operator,
  type OperatorReconciler,
} from "../../mod.ts";
import { getEnv } from "../../platform/mod.ts";
import { Website } from "../../examples/resources.ts";
import { websiteReconciler } from "../../examples/website.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";
import { GuardMirror, GuardRecorder } from "./_guard_mirror.ts";

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const id = Number(getEnv("RAFT_NODE_ID"));
const proc = String(process.pid);
const broken = getEnv("CHAOS_BREAK") ?? "";
const wall = wallClock();
const emit = (event: Record<string, unknown>) =>
  console.log(JSON.stringify({ ...event, replica: id, t: wall() }));

addEventListener("unhandledrejection", (event) => {
  emit({ event: "unhandled", kind: "rejection", error: String(event.reason) });
});
addEventListener("error", (event) => {
  emit({ event: "unhandled", kind: "error", error: String(event.error) });
});

/** The guard, read without touching it (set once the operator started). */
let mirror: GuardMirror | null = null;
const recorder = new GuardRecorder({
  mirror: () => mirror?.sample() ?? null,
  now: () => performance.now(), // the operator's election clock
  wall,
  emit,
});
const sample = () => recorder.sample();

let seq = 0;
/** Tags each request; reports each write as undici starts writing it. */
function recording(dispatcher: Dispatcher): Dispatcher {
  return dispatcher.compose((dispatch) => (options, handler) => {
    const method = String(options.method).toUpperCase();
    const n = ++seq;
    const tags: Record<string, string> = {
      "x-chaos-replica": String(id),
      "x-chaos-proc": proc,
      "x-chaos-seq": String(n),
    };
    const headers = options.headers;
    const tagged = Array.isArray(headers)
      ? [...headers, ...Object.entries(tags).flat()]
      : { ...(headers as Record<string, string> | undefined), ...tags };
    const watched = !WRITES.has(method) ? handler : new Proxy(handler, {
      get(target, key) {
        const value = Reflect.get(target, key);
        if (typeof value !== "function") return value;
        if (key !== "onRequestStart") return value.bind(target);
        return (...args: unknown[]) => {
          const now = sample();
          emit({
            event: "write",
            at: now.t,
            proc,
            seq: n,
            leading: now.leading,
            term: now.term,
            role: now.role,
            leaseLeftMs: Number.isFinite(now.leaseLeftMs)
              ? Math.round(now.leaseLeftMs * 10) / 10
              : null,
            method,
            path: options.path,
          });
          return value.apply(target, args);
        };
      },
    });
    return dispatch({ ...options, headers: tagged }, watched);
  }) as Dispatcher;
}

/** The kubeconfig, with every request's dispatcher recording it. */
class RecordingKubeConfig extends KubeConfig {
  override async applySecurityAuthentication(
    context: RequestContext,
  ): Promise<void> {
    await super.applySecurityAuthentication(context);
    const dispatcher = context.getDispatcher() as Dispatcher | undefined;
    if (dispatcher !== undefined) {
      context.setDispatcher(recording(dispatcher) as never);
    }
  }
}

const kubeConfig = new RecordingKubeConfig();
kubeConfig.loadFromFile(getEnv("KUBECONFIG")!);

/** The broken build's slow step before each reconcile, in ms. */
const UNFENCED_SLOW_STEP_MS = 250;

function unfenced(
  reconciler: OperatorReconciler<Website>,
): OperatorReconciler<Website> {
  const client = KubeClient.fromKubeConfig(kubeConfig);
  const never = new AbortController().signal;
  const strip = (ctx: Context): Context => ({
    ...ctx,
    client,
    signal: never,
  });
  // Without the slow step the broken build is caught only when a fault
  // happens to land on one of its few millisecond-long reconciles: with
  // handovers fast enough, that was one run in two or three.
  return {
    ...reconciler,
    reconcile: async (site, ctx) => {
      await delay(UNFENCED_SLOW_STEP_MS);
      return await reconciler.reconcile(site, strip(ctx));
    },
    cleanup: async (site, ctx) => {
      await delay(UNFENCED_SLOW_STEP_MS);
      return await reconciler.cleanup!(site, strip(ctx));
    },
  };
}

let reconciler: OperatorReconciler<Website> = websiteReconciler;
if (broken === "unfenced") reconciler = unfenced(websiteReconciler);
else if (broken !== "") throw new TypeError(`Unknown CHAOS_BREAK ${broken}`);

const running = await Operator.fromEnv({
  kubeConfig,
  hostname: "127.0.0.1",
  logger: jsonLogger({ fields: { replica: id }, now: wall }),
}).controller(Website, reconciler).start();

mirror = new GuardMirror(running.election, {
  now: () => performance.now(), // the operator's election clock
  onChange: () => sample(),
});
const probe = setInterval(sample, 10);

const queue = running.controllers[0].queue;
let reported = "";
const watchQueue = setInterval(() => {
  const state = {
    length: queue.length,
    processing: queue.processing,
    scheduled: queue.scheduled,
  };
  const text = JSON.stringify(state);
  if (text === reported) return;
  reported = text;
  emit({ event: "queue", ...state });
}, 250);

const collect = getEnv("CHAOS_MEMORY_GC") === "1"
  ? (globalThis as { gc?: () => void }).gc
  : undefined;
const memory = setInterval(() => {
  collect?.();
  const { rss, heapTotal, heapUsed, external } = process.memoryUsage();
  emit({
    event: "memory",
    rss,
    heapTotal,
    heapUsed,
    external,
    ...(collect ? { gc: true } : {}),
  });
}, 10_000);

const snapshots = getEnv("CHAOS_HEAP_SNAPSHOTS");
let snapshotCount = 0;
const snapshot = () => {
  const file =
    `${snapshots}/replica-${id}-${proc}-${++snapshotCount}.heapsnapshot`;
  writeHeapSnapshot(file);
  emit({ event: "heap snapshot", file });
};
if (snapshots !== undefined) Deno.addSignalListener("SIGUSR2", snapshot);

try {
  await running.finished;
  emit({ event: "finished", ok: true });
} catch (error) {
  emit({ event: "finished", ok: false, error: String(error) });
} finally {
  clearInterval(probe);
  clearInterval(watchQueue);
  clearInterval(memory);
  if (snapshots !== undefined) Deno.removeSignalListener("SIGUSR2", snapshot);
  sample();
}
