/**
 * The chaos run's replica processes (`_replica_deno.ts`) and the helpers
 * that read their event lines and tag the server's request log with them.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import type { ReceivedRequest } from "../../testing/mod.ts";
import type { LoggedRequest, RssSeries } from "./_invariants.ts";
export interface ReplicaEvent {
  event?: string;
  message?: string;
  replica: number;
  t: number;
  [key: string]: unknown;
}

const REPLICA = new URL("./_replica_deno.ts", import.meta.url);
/** The replica never killed or terminated. */
export const SURVIVOR = 0;
/** Deadlines that only bound waiting: generous for a loaded 2-core machine. */
export const START_TIMEOUT_MS = 60_000;
export const EXIT_TIMEOUT_MS = 30_000;

/** One process of one replica. */
export class ReplicaProcess {
  readonly id: number;
  readonly instance: number;
  readonly child: Deno.ChildProcess;
  readonly events: ReplicaEvent[] = [];
  readonly stderr: string[] = [];
  readonly rss: RssSeries;
  readonly status: Promise<Deno.CommandStatus>;
  /** What the harness did to it: its exit is expected after a kill or a term. */
  fate: "running" | "killed" | "terminated" | "shutdown" = "running";
  stopped = false;
  exited = false;
  killedAt = 0;

  constructor(
    init: { id: number; instance: number; env: Record<string, string> },
    onEvent: (e: ReplicaEvent, p: ReplicaProcess) => void,
  ) {
    this.id = init.id;
    this.instance = init.instance;
    this.rss = {
      label: `replica ${init.id} (start ${init.instance})`,
      samples: [],
    };
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ...(init.env.CHAOS_MEMORY_GC === "1" ? ["--v8-flags=--expose-gc"] : []),
        fileURLToPath(REPLICA),
      ],
      env: init.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.status = this.child.status.then((s) => {
      this.exited = true;
      return s;
    });
    lines(this.child.stdout, (line) => {
      let e: ReplicaEvent;
      try {
        e = JSON.parse(line);
      } catch {
        this.stderr.push(`(stdout) ${line}`);
        return;
      }
      this.events.push(e);
      onEvent(e, this);
    });
    lines(this.child.stderr, (line) => {
      if (line.trim() !== "") this.stderr.push(line);
      onEvent({ replica: this.id, t: 0, event: "stderr", line }, this);
    });
  }

  signal(signal: Deno.Signal): void {
    if (!this.exited) this.child.kill(signal);
  }
}

/** Whether `promise` settles within `ms` (its timer is cleared either way). */
export async function within(
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function lines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let i: number;
    while ((i = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, i));
      rest = rest.slice(i + 1);
    }
  }
  if (rest !== "") onLine(rest);
}

/** A kubeconfig whose requests carry `headers`. */
export function taggedKubeConfig(
  yaml: string,
  headers: Record<string, string>,
): KubeConfig {
  class Tagged extends KubeConfig {
    override async applySecurityAuthentication(
      context: RequestContext,
    ): Promise<void> {
      await super.applySecurityAuthentication(context);
      const dispatcher = context.getDispatcher() as Dispatcher | undefined;
      if (dispatcher === undefined) return;
      context.setDispatcher(
        dispatcher.compose((dispatch) => (options, handler) =>
          dispatch({
            ...options,
            headers: {
              ...(options.headers as Record<string, string>),
              ...headers,
            },
          }, handler)
        ) as never,
      );
    }
  }
  const kc = new Tagged();
  kc.loadFromString(yaml);
  return kc;
}

export function logged(
  request: ReceivedRequest,
  received: number,
): LoggedRequest {
  const h = request.headers;
  const replica = h.get("x-chaos-replica");
  return {
    method: request.method.toUpperCase(),
    path: request.path,
    received,
    replica: replica === null ? null : Number(replica),
    workload: h.get("x-chaos-workload") !== null,
    proc: h.get("x-chaos-proc") ?? undefined,
    seq: replica === null ? undefined : Number(h.get("x-chaos-seq")),
  };
}

/** Fills a request with what its replica recorded of it. */
export function joinRecord(r: LoggedRequest, record: ReplicaEvent): void {
  r.sent = Number(record.at);
  r.leading = record.leading === true;
  r.term = Number(record.term);
  r.role = record.role as string | undefined;
  r.leaseLeftMs = record.leaseLeftMs as number | null | undefined;
}
