/**
 * `deno task demo`: the project's main job on one machine. Starts the
 * in-process test API server (or uses the cluster `KUBECONFIG` names),
 * installs the Website CRD, runs three replicas of the example operator as
 * separate processes on loopback, creates a few Websites and shows who
 * reconciles them; then kills the leader with SIGKILL, shows the new leader
 * take over and how long it took; restarts the killed replica (a new member
 * on memory storage, ready once it is a voter again) and stops the leader
 * with SIGTERM, so it hands over to a replica that has a quorum and
 * reconciles a change; then stops the rest.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { KubeConfig } from "@kubernetes/client-node";
import { isApiError, KubeClient } from "../controller/mod.ts";
import {
  type ControlPlane,
  type Replicas,
  startReplicas,
  TestApiServer,
} from "../testing/mod.ts";
import { Website } from "./resources.ts";
import { websites } from "./website.ts";

/** Options of {@linkcode runDemo}. */
export interface DemoOptions {
  /** Where the narration goes, line by line (default `console.log`). */
  out?: (line: string) => void;
  /**
   * A kubeconfig file of a real cluster to run against; `null` (the
   * default) starts the in-process test API server.
   */
  kubeconfig?: string | null;
  /** The namespace the Websites are created in (default `default`). */
  namespace?: string;
  /**
   * Milliseconds per Raft tick of the replicas (default: `RAFT_TICK_MS` of
   * this process, else the operator's 50). A loaded machine needs more.
   */
  tickMs?: number;
  /** How long any one step may take, in milliseconds (default 60 s). */
  stepTimeoutMs?: number;
}

/** What the demo measured. */
export interface DemoResult {
  /** The replica that led first (killed with SIGKILL). */
  firstLeader: number;
  /** The term `firstLeader` led when it was killed. */
  firstTerm: number;
  /** The replica that took over. */
  newLeader: number;
  /** From SIGKILL to the new leader announcing itself, in milliseconds. */
  electedAfterMs: number;
  /**
   * From SIGKILL to every Website reconciled again in a later term, in
   * milliseconds.
   */
  reconciledAfterMs: number;
  /**
   * Each Website's first reconcile after the kill: the replica and the term
   * its `Reconciled` condition names (leadership may have moved on from
   * `newLeader` by then on a loaded machine; each term has one leader).
   */
  reconciledAgain: { name: string; replica: number; term: number }[];
  /**
   * The graceful handover, with all three replicas up: the leader stopped
   * with SIGTERM (`from`, leading `term`), the leader of the next term
   * after it (`to`), the one `from` said it handed leadership to (`null`
   * if it said none), how long from the SIGTERM until a replica led a
   * later term, and who reconciled the change made after it, in which
   * term.
   */
  handover: {
    from: number;
    term: number;
    to: number;
    handedTo: number | null;
    afterMs: number;
    reconciledBy: { replica: number; term: number };
  };
  /** The Websites the demo created. */
  websites: string[];
}

const SITES = [
  { name: "blog", domain: "blog.example.com", replicas: 2 },
  { name: "shop", domain: "shop.example.com", replicas: 3 },
  { name: "docs", domain: "docs.example.com", replicas: 1 },
];

/** A control plane from a kubeconfig file (a real cluster). */
function clusterFromFile(path: string): ControlPlane {
  const text = readFileSync(path, "utf8");
  return {
    kubeConfig: () => {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromString(text);
      return kubeConfig;
    },
    kubeConfigYaml: () => text,
  };
}

/**
 * Runs the demo and resolves with what it measured; every process it
 * started has ended when it resolves (or rejects).
 *
 * @example
 * ```ts ignore
 * // Not run: it starts three operator processes and kills the leader (deno task demo).
 * const result = await runDemo();
 * console.log(result.reconciledAfterMs);
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const out = options.out ?? ((line: string) => console.log(line));
  const namespace = options.namespace ?? "default";
  let server: TestApiServer | null = null;
  let replicas: Replicas | null = null;
  try {
    let controlPlane: ControlPlane;
    if (options.kubeconfig) {
      controlPlane = clusterFromFile(options.kubeconfig);
      out(`Using the cluster of ${options.kubeconfig}`);
    } else {
      server = await TestApiServer.start();
      controlPlane = server;
      out("Started the test API server");
    }
    const kubeConfig = controlPlane.kubeConfig();
    const client = KubeClient.fromKubeConfig(kubeConfig);
    await Website.install(kubeConfig, { fieldManager: "website-operator" });
    out(`Installed the CRD ${Website.name}`);
    replicas = await startDemoReplicas(controlPlane, { options, out });
    const demo: Demo = { out, namespace, client, running: replicas };
    await createSites(demo);
    const failover = await killLeader(demo);
    await scaleBlog(demo);
    await restart(demo, failover.first.id);
    const handover = await handOver(demo, failover.first.id);
    for (const id of [0, 1, 2]) {
      if (replicas.state(id).role !== "down") await replicas.stop(id);
    }
    out("Stopped the remaining replicas");
    if (options.kubeconfig) {
      for (const site of SITES) {
        await client.delete(websites, site.name, { namespace });
      }
    }
    return {
      firstLeader: failover.first.id,
      firstTerm: failover.first.term,
      newLeader: failover.next.id,
      electedAfterMs: failover.electedAfterMs,
      reconciledAfterMs: failover.reconciledAfterMs,
      reconciledAgain: failover.reconciledAgain,
      handover,
      websites: SITES.map((s) => s.name),
    };
  } finally {
    await replicas?.stop();
    await server?.stop();
  }
}

/** What each step of the demo works with. */
interface Demo {
  out: (line: string) => void;
  namespace: string;
  client: KubeClient;
  running: Replicas;
}

/** A replica as `Replicas.waitForLeader` reports it. */
type Leader = Awaited<ReturnType<Replicas["waitForLeader"]>>;

/** Starts three replicas of `main.ts`, narrating their lines, until one leads. */
async function startDemoReplicas(
  controlPlane: ControlPlane,
  init: { options: DemoOptions; out: (line: string) => void },
): Promise<Replicas> {
  const { options, out } = init;
  const tickMs = options.tickMs ??
    (Number(process.env.RAFT_TICK_MS) || undefined);
  // Under Deno this runs main.ts with `deno run -A`; the npm build
  // compiles main.ts and rewrites this URL to main.js, which Node runs.
  const running = await startReplicas({
    controlPlane,
    main: new URL("./main.ts", import.meta.url),
    clusterId: "website-demo",
    tickMs,
    timeoutMs: options.stepTimeoutMs ?? 60_000,
    onLog: narrateReplicaLog(out),
  });
  out(
    `Started 3 replicas of examples/main.ts (Raft ports ${
      [0, 1, 2].map((id) => running.state(id).raftPort).join(", ")
    })`,
  );
  const elected = await running.waitForLeader();
  out(`Replica ${elected.id} leads (term ${elected.term})`);
  return running;
}

/** The replicas' lines worth showing: starts, leaderships, handovers, stops. */
function narrateReplicaLog(
  out: (line: string) => void,
): NonNullable<Parameters<typeof startReplicas>[0]["onLog"]> {
  const roles = new Map<number, string>();
  return (id, entry) => {
    if (entry.message === "operator started") {
      out(
        `  [replica ${id}] started: Raft on :${entry.fields.raftPort}, /healthz /readyz /metrics on :${entry.fields.httpPort}`,
      );
    } else if (entry.message === "role changed") {
      const was = roles.get(id);
      const role = String(entry.fields.role);
      roles.set(id, role);
      if (role === "leader" || was === "leader") {
        out(`  [replica ${id}] ${role} in term ${entry.fields.term}`);
      }
    } else if (entry.message === "handed leadership over") {
      out(
        `  [replica ${id}] handed leadership to replica ${entry.fields.to}`,
      );
    } else if (entry.message === "operator stopped") {
      out(`  [replica ${id}] stopped`);
    } else if (entry.level === "stderr") {
      out(`  [replica ${id}] ${entry.message}`);
    }
  };
}

/**
 * A reconcile of the current generation; with `after`, in a term above
 * `after.term` by a replica other than `after.not` (whoever led that
 * term: leadership may move again before the first leader after a
 * kill or handover reconciles).
 */
function reconciled(
  demo: Demo,
  target: { name: string; after?: { term: number; not: number } },
): Promise<{ replica: number; term: number }> {
  const { after } = target;
  return demo.running.waitForCondition<Website>(
    { resource: websites, name: target.name, namespace: demo.namespace },
    {
      type: "Reconciled",
      where: (site) => {
        if (site.status?.observedGeneration !== site.metadata.generation) {
          return false;
        }
        const by = reconciledBy(site);
        return after === undefined ||
          (by.term > after.term && by.replica !== after.not);
      },
    },
  ).then(reconciledBy);
}

/** Creates the Websites and shows who reconciled each. */
async function createSites(demo: Demo): Promise<void> {
  const { out, namespace } = demo;
  for (const site of SITES) {
    await demo.client.create(
      websites,
      Website.build({
        metadata: { name: site.name, namespace },
        spec: {
          domain: site.domain,
          image: "nginx:1.27",
          replicas: site.replicas,
        },
      }),
    );
  }
  out(
    `Created Websites ${SITES.map((s) => s.name).join(", ")} in ${namespace}`,
  );
  for (const site of SITES) {
    const seen = await reconciled(demo, { name: site.name });
    out(
      `  ${site.name}: ConfigMap ${site.name}-settings and Deployment ${site.name}-web applied by replica ${seen.replica} (term ${seen.term})`,
    );
  }
}

/** Kills the leader with SIGKILL and measures the failover. */
async function killLeader(demo: Demo): Promise<{
  first: Leader;
  next: Leader;
  electedAfterMs: number;
  reconciledAfterMs: number;
  reconciledAgain: DemoResult["reconciledAgain"];
}> {
  const { out, running } = demo;
  const first = await running.waitForLeader();
  out(
    `Killing the leader, replica ${first.id} (term ${first.term}), with SIGKILL`,
  );
  const killedAt = performance.now();
  await running.kill(first.id);
  const next = await running.waitForLeader({
    not: first.id,
    after: first.term,
  });
  const electedAfterMs = performance.now() - killedAt;
  out(
    `Replica ${next.id} leads (term ${next.term}), ${
      electedAfterMs.toFixed(0)
    } ms after the kill`,
  );
  const reconciledAgain: DemoResult["reconciledAgain"] = [];
  for (const site of SITES) {
    const seen = await reconciled(demo, {
      name: site.name,
      after: { term: first.term, not: first.id },
    });
    reconciledAgain.push({ name: site.name, ...seen });
    out(
      `  ${site.name}: reconciled again by replica ${seen.replica} (term ${seen.term})`,
    );
  }
  const reconciledAfterMs = performance.now() - killedAt;
  out(
    `Failover: new leader after ${
      electedAfterMs.toFixed(0)
    } ms, every Website reconciled again after ${
      reconciledAfterMs.toFixed(0)
    } ms`,
  );
  return { first, next, electedAfterMs, reconciledAfterMs, reconciledAgain };
}

/** Scales blog to 4 and waits for its Deployment to follow. */
async function scaleBlog(demo: Demo): Promise<void> {
  const { client, namespace } = demo;
  await client.patch(websites, "blog", { spec: { replicas: 4 } }, {
    namespace,
  });
  const scaled = await demo.running.waitFor(
    "blog scaled by the new leader",
    async () => {
      const deployment = await client.get<
        { metadata: { name?: string }; spec: { replicas: number } }
      >(
        {
          group: "apps",
          version: "v1",
          plural: "deployments",
          kind: "Deployment",
          namespaced: true,
        },
        "blog-web",
        { namespace },
      ).catch((error) => {
        if (isApiError(error, 404)) return undefined;
        throw error;
      });
      return deployment?.spec.replicas === 4 && deployment;
    },
  );
  demo.out(
    `Scaled blog to ${scaled.spec.replicas} replicas: the new leader applied it`,
  );
}

/**
 * Starts the killed replica `id` again. A handover needs a quorum after it:
 * the killed replica comes back first. On memory storage it is a new
 * member, ready once the leader made it a voter again.
 */
async function restart(demo: Demo, id: number): Promise<void> {
  const { out, running } = demo;
  out(`Restarting replica ${id}: it rejoins as a new member`);
  const restartedAt = performance.now();
  await running.start(id);
  await running.waitForReady(id);
  out(
    `  [replica ${id}] ready (a voter again) ${
      (performance.now() - restartedAt).toFixed(0)
    } ms after its start`,
  );
}

/**
 * Stops the leader (other than the replica `restarted`) with SIGTERM, so it
 * hands over first, and shows a change reconciled after it.
 */
async function handOver(
  demo: Demo,
  restarted: number,
): Promise<DemoResult["handover"]> {
  const { out, running } = demo;
  const leader = await running.waitForLeader({ not: restarted });
  out(
    `Stopping the leader, replica ${leader.id}, with SIGTERM: it hands over first`,
  );
  const stoppedAt = performance.now();
  const stopping = running.stop(leader.id);
  const last = await running.waitForLeader({
    not: leader.id,
    after: leader.term,
  });
  const handedOverAfterMs = performance.now() - stoppedAt;
  out(
    `Replica ${last.id} leads (term ${last.term}), ${
      handedOverAfterMs.toFixed(0)
    } ms after the SIGTERM`,
  );
  await stopping;
  out(`  [replica ${leader.id}] ended`);
  const handedTo = running.logs(leader.id).findLast((l) =>
    l.message === "handed leadership over"
  )?.fields.to;
  const nextTerm = firstLeaderAfter(running, leader.term) ?? last;
  // Two of three replicas: the new leader has a quorum, and reconciles.
  await demo.client.patch(websites, "docs", { spec: { replicas: 2 } }, {
    namespace: demo.namespace,
  });
  const after = await reconciled(demo, {
    name: "docs",
    after: { term: leader.term, not: leader.id },
  });
  out(
    `  docs: changed after the handover, reconciled by replica ${after.replica} (term ${after.term})`,
  );
  return {
    from: leader.id,
    term: leader.term,
    to: nextTerm.id,
    handedTo: typeof handedTo === "number" ? handedTo : null,
    afterMs: handedOverAfterMs,
    reconciledBy: after,
  };
}

/**
 * The leader of the first term after `term`, as the replicas' logs tell it
 * (the harness may have seen a later one first).
 */
function firstLeaderAfter(
  running: Replicas,
  term: number,
): { id: number; term: number } | undefined {
  return [0, 1, 2].flatMap((id) =>
    running.logs(id).filter((l) =>
      l.message === "role changed" && l.fields.role === "leader" &&
      Number(l.fields.term) > term
    ).map((l) => ({ id, term: Number(l.fields.term) }))
  ).sort((a, b) => a.term - b.term)[0];
}

/** Who reconciled `site` last, from its `Reconciled` condition. */
function reconciledBy(site: Website): { replica: number; term: number } {
  const condition = site.status?.conditions?.find((c) =>
    c.type === "Reconciled"
  );
  const match = /by replica (\d+) in term (\d+)/.exec(condition?.message ?? "");
  return match
    ? { replica: Number(match[1]), term: Number(match[2]) }
    : { replica: -1, term: -1 };
}

if (import.meta.main) {
  const kubeconfig = process.env.KUBECONFIG || null;
  await runDemo({ kubeconfig });
}
