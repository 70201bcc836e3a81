/**
 * One replica of the example operator (the Website operator of
 * `examples/main.ts`, configured by the pod's environment as in a
 * StatefulSet), instrumented for the network tests. It prints JSON lines on
 * stdout, each with the replica's `id` and `t`, the time on the system clock
 * shared by all processes (`testing/raft/wall_clock.ts`):
 *
 * - `guard`: a probe samples the leader guard every 2 ms; `leader: true`
 *   with `start` when it first finds it leading, `leader: false` with the
 *   interval `[start, end]` (first and last sample that found it leading)
 *   when it first finds it not. Sampled intervals lie within the true ones.
 * - `send`: every write request (any method but GET and HEAD) at the moment
 *   the HTTP client dispatches it, with the guard's answer then (`leader`,
 *   `term`) and the id it carries to the API server in the `x-netns-send`
 *   header (`sendId`, unique across processes); wrapped around the
 *   kubeconfig's undici dispatcher.
 * - `role`: every Raft role change; `log`: the operator's own log lines;
 *   `started`, `stopped`.
 *
 * @module
 */
import { KubeConfig } from "@kubernetes/client-node";
import process from "node:process";
import type { Dispatcher } from "undici";
import { Operator } from "../../mod.ts";
import type { LeaderGuard } from "../../controller/leader_election.ts";
import type { LogFields, Logger } from "../../common/log.ts";
import { exit, getEnv } from "../../platform/mod.ts";
import { Website } from "../../examples/resources.ts";
import { websiteReconciler } from "../../examples/website.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";

const wall = wallClock();
const id = Number(getEnv("POD_NAME")!.split("-").pop());
const emit = (event: Record<string, unknown>) =>
  console.log(
    JSON.stringify({ ...event, id, t: wall() }, (_key, value) =>
      value instanceof Error ? `${value.name}: ${value.message}` : value),
  );

let guard: LeaderGuard | null = null;

type Context = Parameters<KubeConfig["applySecurityAuthentication"]>[0];

let sends = 0;

/**
 * Reports each write with the guard's answer and an id, then dispatches it
 * carrying that id, so that the API server's record of it names the very
 * send (paths repeat: every Event is a POST to the same one).
 */
const record: Dispatcher.DispatcherComposeInterceptor =
  (dispatch) => (options, handler) => {
    if (options.method === "GET" || options.method === "HEAD") {
      return dispatch(options, handler);
    }
    const sendId = `${process.pid}-${++sends}`;
    emit({
      event: "send",
      method: options.method,
      path: options.path,
      sendId,
      leader: guard?.isLeader() ?? false,
      term: guard?.term ?? null,
    });
    return dispatch({
      ...options,
      headers: {
        ...(options.headers as Record<string, string> | undefined),
        "x-netns-send": sendId,
      },
    }, handler);
  };

/** A kubeconfig whose HTTP dispatcher reports each write as it goes out. */
class RecordingKubeConfig extends KubeConfig {
  override async applySecurityAuthentication(context: Context): Promise<void> {
    await super.applySecurityAuthentication(context);
    const inner = context.getDispatcher();
    if (inner === undefined) {
      throw new Error("Expected a TLS dispatcher to wrap, found none");
    }
    context.setDispatcher(
      inner.compose(record) as unknown as typeof inner,
    );
  }
}

const kubeConfig = new RecordingKubeConfig();
kubeConfig.loadFromFile(getEnv("KUBECONFIG")!);
const log = (level: string) => (message: string, fields?: LogFields) =>
  emit({ event: "log", level, message, ...fields });
const logger: Logger = {
  info: log("info"),
  warn: log("warn"),
  error: log("error"),
};

const running = await Operator.fromEnv({ kubeConfig, logger })
  .controller(Website, websiteReconciler)
  .start();
guard = running.election.guard();
running.node.onRoleChange((change) => emit({ event: "role", ...change }));

let guardStart: number | null = null;
let guardLast = 0;
function probe(): void {
  const t = wall();
  if (guard!.isLeader()) {
    if (guardStart === null) {
      guardStart = t;
      emit({ event: "guard", leader: true, start: t, term: guard!.term });
    }
    guardLast = t;
  } else if (guardStart !== null) {
    emit({ event: "guard", leader: false, start: guardStart, end: guardLast });
    guardStart = null;
  }
}
const timer = setInterval(probe, 2);
running.election.subscribe(() => probe());
emit({ event: "started", pid: process.pid });

try {
  await running.finished;
  probe();
  emit({ event: "stopped" });
} catch (error) {
  emit({ event: "stopped", error });
} finally {
  clearInterval(timer);
  exit(0);
}
