/**
 * One replica of the example operator for the chaos test: `examples/main.ts`
 * (the Website reconciler under `Operator.fromEnv`) plus the instruments the
 * checker reads. Configured by the operator's own environment (`RAFT_*`,
 * `KUBECONFIG`, `OPERATOR_HTTP_PORT`) and:
 *
 * - `CHAOS_BREAK=unfenced`: a deliberately broken build: the reconciler
 *   writes through an unfenced client and ignores `ctx.signal`, as if
 *   fencing had been removed. The chaos test must catch it.
 *
 * Prints JSON lines on stdout, each with `replica` and `t` (milliseconds on
 * the system clock every process shares, `tests/raft/_wall_clock.ts`):
 *
 * - `{ event: "guard", leading: true, start, term }` when the guard starts
 *   leading, `{ event: "guard", leading: true, at, term }` every 100 ms
 *   while it leads, `{ event: "guard", leading: false, start, end, term }`
 *   when it stops. `start` and `end` are the first and the last sample that
 *   found `guard.isLeader()` true (a probe every 10 ms, on every role change,
 *   and at every request dispatch), so an interval lies within the truth.
 * - `{ event: "queue", length, processing, scheduled, leading }` whenever the
 *   controller's work queue changes (checked every 250 ms).
 * - `{ event: "unhandled", kind, error }` before the runtime ends the process
 *   on an unhandled rejection or an uncaught error.
 * - `{ event: "finished", ok, error? }` once the operator has stopped.
 * - the operator's own log lines (`message`, `level`, ...).
 *
 * Every request leaves through an undici dispatcher that stamps it, at the
 * moment undici dispatches it (after the library's own checks, the last
 * point in this process before its bytes are written), with the headers
 * `x-chaos-replica` (this node's id), `x-chaos-seq`, `x-chaos-sent` (the
 * time on the shared clock), `x-chaos-leading` (`guard.isLeader()` sampled
 * at that instant: `1` or `0`) and `x-chaos-term`. The API server's request
 * log keeps them.
 *
 * @module
 */
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import {
  type Context,
  jsonLogger,
  KubeClient,
  type LeaderGuard,
  Operator,
  type OperatorReconciler,
} from "../../mod.ts";
import { getEnv } from "../../platform/mod.ts";
import { Website } from "../../examples/resources.ts";
import { websiteReconciler } from "../../examples/website.ts";
import { wallClock } from "../raft/_wall_clock.ts";

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const id = Number(getEnv("RAFT_NODE_ID"));
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

let guard: LeaderGuard | null = null;
let start: number | null = null;
let last = 0;
let lastBeat = 0;
let term = 0;

/** Samples the guard now; emits interval edges; returns the sample. */
function sample(): { t: number; leading: boolean; term: number } {
  const t = wall();
  const leading = guard?.isLeader() ?? false;
  const now = guard?.term ?? 0;
  if (start !== null && (!leading || now !== term)) {
    emit({ event: "guard", leading: false, start, end: last, term });
    start = null;
  }
  if (leading) {
    if (start === null) {
      start = t;
      term = now;
      lastBeat = t;
      emit({ event: "guard", leading: true, start: t, term });
    }
    last = t;
    if (t - lastBeat >= 100) {
      lastBeat = t;
      emit({ event: "guard", leading: true, at: t, term });
    }
  }
  return { t, leading, term: now };
}

let seq = 0;
function stamped(dispatcher: Dispatcher): Dispatcher {
  return dispatcher.compose((dispatch) => (options, handler) => {
    // Sampling the guard can end leadership on the spot (isLeader() checks
    // the lease against the clock), which aborts the request's signal
    // synchronously. undici dispatches from inside fetch() before fetch()
    // has set up its abort handling, and an abort there fails an assertion
    // in undici that nobody catches (the process dies). So sample and
    // dispatch a microtask later, once fetch() has returned: an abort then
    // cancels the request as it should.
    queueMicrotask(() => {
      const method = String(options.method).toUpperCase();
      const now = sample();
      const tags: Record<string, string> = {
        "x-chaos-replica": String(id),
        "x-chaos-seq": String(++seq),
        "x-chaos-sent": String(now.t),
        "x-chaos-leading": now.leading ? "1" : "0",
        "x-chaos-term": String(now.term),
      };
      const headers = options.headers;
      const tagged = Array.isArray(headers)
        ? [...headers, ...Object.entries(tags).flat()]
        : { ...(headers as Record<string, string> | undefined), ...tags };
      if (WRITES.has(method) && !now.leading) {
        emit({ event: "write while not leading", method, path: options.path });
      }
      dispatch({ ...options, headers: tagged }, handler);
    });
    return true;
  }) as Dispatcher;
}

/** The kubeconfig, with every request's dispatcher stamping it. */
class StampingKubeConfig extends KubeConfig {
  override async applySecurityAuthentication(
    context: RequestContext,
  ): Promise<void> {
    await super.applySecurityAuthentication(context);
    const dispatcher = context.getDispatcher() as Dispatcher | undefined;
    if (dispatcher !== undefined) {
      context.setDispatcher(stamped(dispatcher) as never);
    }
  }
}

const kubeConfig = new StampingKubeConfig();
kubeConfig.loadFromFile(getEnv("KUBECONFIG")!);

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
  return {
    ...reconciler,
    reconcile: (site, ctx) => reconciler.reconcile(site, strip(ctx)),
    cleanup: (site, ctx) => reconciler.cleanup!(site, strip(ctx)),
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
guard = running.election.guard();
const probe = setInterval(sample, 10);
const off = running.election.subscribe(() => sample());

const queue = running.controllers[0].queue;
let reported = "";
const watchQueue = setInterval(() => {
  const state = {
    length: queue.length,
    processing: queue.processing,
    scheduled: queue.scheduled,
    leading: guard?.isLeader() ?? false,
  };
  const text = JSON.stringify(state);
  if (text === reported) return;
  reported = text;
  emit({ event: "queue", ...state });
}, 250);

try {
  await running.finished;
  emit({ event: "finished", ok: true });
} catch (error) {
  emit({ event: "finished", ok: false, error: String(error) });
} finally {
  clearInterval(probe);
  clearInterval(watchQueue);
  off();
  sample();
}
