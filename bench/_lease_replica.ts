/**
 * One replica of the Lease baseline, as its own process: runs a
 * {@link LeaseElector} on the real clock against an API server and, when it
 * starts leading, reconciles once (writes a ConfigMap). Prints JSON lines on
 * stdout: `ready` (after its first acquire attempt), `leading`,
 * `reconciled`, `stopped`. SIGTERM cancels the election (releasing the
 * Lease when `releaseOnCancel`) and exits.
 *
 * Usage: `deno run -A bench/_lease_replica.ts '<json config>'` with
 * `{ id, url, caPem, token, namespace, lease, leaseDurationMs,
 * renewDeadlineMs, retryPeriodMs, releaseOnCancel }`.
 *
 * @module
 */
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
} from "@kubernetes/client-node";
import { Buffer } from "node:buffer";
import { args, exit, onSignal } from "../platform/mod.ts";
import { LeaseElector } from "./_lease_elector.ts";
import { ClientLeaseLock } from "./_lease_lock.ts";
import { wallClock } from "../testing/raft/wall_clock.ts";

interface ReplicaConfig {
  id: string;
  url: string;
  caPem: string;
  token: string;
  namespace: string;
  lease: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  releaseOnCancel: boolean;
}

const config = JSON.parse(args()[0]) as ReplicaConfig;
// The system clock, as the harness reads it (bench/_raft_failover.ts's
// `wall`), not this process's own `performance.timeOrigin`.
const wall = wallClock();
const emit = (event: Record<string, unknown>) =>
  console.log(JSON.stringify({ ...event, id: config.id, t: wall() }));

const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{
    name: "bench",
    server: config.url,
    caData: Buffer.from(config.caPem).toString("base64"),
    skipTLSVerify: false,
  }],
  users: [{ name: "bench", token: config.token }],
  contexts: [{ name: "bench", cluster: "bench", user: "bench" }],
  currentContext: "bench",
});
const core = kc.makeApiClient(CoreV1Api);
const lock = new ClientLeaseLock({
  api: kc.makeApiClient(CoordinationV1Api),
  namespace: config.namespace,
  name: config.lease,
  identity: config.id,
});

async function reconcile(signal: AbortSignal): Promise<void> {
  const body = {
    metadata: { name: `${config.lease}-reconciled` },
    data: { by: config.id, at: String(wall()) },
  };
  try {
    await core.replaceNamespacedConfigMap({
      name: body.metadata.name,
      namespace: config.namespace,
      body,
    });
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 404)) throw error;
    await core.createNamespacedConfigMap({ namespace: config.namespace, body });
  }
  if (!signal.aborted) emit({ event: "reconciled" });
}

let readySent = false;
const elector = new LeaseElector({
  lock: {
    identity: lock.identity,
    get: async (signal) => {
      const got = await lock.get();
      if (!readySent) {
        readySent = true;
        queueMicrotask(() => emit({ event: "ready" }));
      }
      signal?.throwIfAborted();
      return got;
    },
    create: (record) => lock.create(record),
    update: (record) => lock.update(record),
  },
  leaseDurationMs: config.leaseDurationMs,
  renewDeadlineMs: config.renewDeadlineMs,
  retryPeriodMs: config.retryPeriodMs,
  releaseOnCancel: config.releaseOnCancel,
  clock: {
    now: () => Date.now(),
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        }
        signal.addEventListener("abort", done, { once: true });
      }),
  },
  random: Math.random,
  onStartedLeading: (signal) => {
    emit({ event: "leading" });
    reconcile(signal).catch((error) =>
      emit({ event: "reconcile-error", message: String(error) })
    );
  },
  onStoppedLeading: () => emit({ event: "stopped" }),
});

const cancel = new AbortController();
onSignal("SIGTERM", () => cancel.abort());
await elector.run(cancel.signal);
exit(0);
