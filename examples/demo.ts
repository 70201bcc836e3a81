/**
 * `deno task demo`: the project's main job on one machine. Starts the
 * in-process test API server (or uses the cluster `KUBECONFIG` names),
 * installs the Website CRD, runs three replicas of the example operator as
 * separate processes on loopback, creates a few Websites and shows who
 * reconciles them; then kills the leader with SIGKILL, shows the new leader
 * take over and how long it took, and shuts the rest down gracefully.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { isApiError, KubeClient } from "../controller/mod.ts";
import { TestApiServer } from "../testing/mod.ts";
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
  /** The replica that took over. */
  newLeader: number;
  /** From SIGKILL to the new leader announcing itself, in milliseconds. */
  electedAfterMs: number;
  /** From SIGKILL to every Website reconciled by the new leader, in milliseconds. */
  reconciledAfterMs: number;
  /** The Websites the demo created. */
  websites: string[];
}

interface Replica {
  id: number;
  child: ChildProcess;
  role: string;
  term: number;
  exited: Promise<string>;
}

const SITES = [
  { name: "blog", domain: "blog.example.com", replicas: 2 },
  { name: "shop", domain: "shop.example.com", replicas: 3 },
  { name: "docs", domain: "docs.example.com", replicas: 1 },
];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits for `check` to hold, re-checking every 20 ms, under a deadline. */
async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) {
      throw new Error(`Expected ${what} within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Runs the demo and resolves with what it measured; every process it
 * started has ended when it resolves (or rejects).
 *
 * @example
 * ```ts ignore
 * const result = await runDemo();
 * console.log(result.reconciledAfterMs);
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const out = options.out ?? ((line: string) => console.log(line));
  const namespace = options.namespace ?? "default";
  const timeoutMs = options.stepTimeoutMs ?? 60_000;
  const dir = await mkdtemp(join(tmpdir(), "k8s-operator-demo-"));
  let server: TestApiServer | null = null;
  const replicas: Replica[] = [];
  try {
    let kubeconfigPath: string;
    if (options.kubeconfig) {
      kubeconfigPath = options.kubeconfig;
      out(`Using the cluster of ${kubeconfigPath}`);
    } else {
      server = await TestApiServer.start();
      kubeconfigPath = join(dir, "kubeconfig.yaml");
      await writeFile(kubeconfigPath, server.kubeConfigYaml());
      out(`Started the test API server (kubeconfig: ${kubeconfigPath})`);
    }
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const client = KubeClient.fromKubeConfig(kubeConfig);
    await Website.install(kubeConfig, { fieldManager: "website-operator" });
    out(`Installed the CRD ${Website.name}`);

    const ports: number[] = [];
    while (ports.length < 3) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    const peers = ports.map((port, id) => `${id}=127.0.0.1:${port}`).join(",");
    const secret = randomBytes(32).toString("hex");
    // Under Deno this runs main.ts with `deno run`; the npm build compiles
    // main.ts and rewrites this URL to main.js, which Node runs.
    const main = fileURLToPath(new URL("./main.ts", import.meta.url));
    const command = main.endsWith(".ts") ? ["run", "-A", main] : [main];
    for (const [id] of ports.entries()) {
      const child = spawn(process.execPath, command, {
        env: {
          ...process.env,
          RAFT_NODE_ID: String(id),
          RAFT_PEERS: peers,
          RAFT_SECRET: secret,
          RAFT_CLUSTER_ID: "website-demo",
          OPERATOR_HTTP_PORT: "0",
          KUBECONFIG: kubeconfigPath,
          NO_COLOR: "1",
          ...(options.tickMs ? { RAFT_TICK_MS: String(options.tickMs) } : {}),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const replica: Replica = {
        id,
        child,
        role: "follower",
        term: 0,
        exited: new Promise((resolve) =>
          child.once(
            "exit",
            // Deno's child_process reports the signal it sent even when the
            // child handled it and exited by itself, so only a code is told.
            (code) => resolve(code === null ? "exited" : `exit code ${code}`),
          )
        ),
      };
      replicas.push(replica);
      createInterface({ input: child.stdout! }).on("line", (line) => {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line);
        } catch {
          out(`  [replica ${id}] ${line}`);
          return;
        }
        if (entry.message === "operator started") {
          out(
            `  [replica ${id}] started: Raft on :${entry.raftPort}, /healthz /readyz /metrics on :${entry.httpPort}`,
          );
        } else if (entry.message === "role changed") {
          const was = replica.role;
          replica.role = String(entry.role);
          replica.term = Number(entry.term);
          if (replica.role === "leader" || was === "leader") {
            out(`  [replica ${id}] ${replica.role} in term ${replica.term}`);
          }
        } else if (entry.message === "handed leadership over") {
          out(`  [replica ${id}] handed leadership to replica ${entry.to}`);
        } else if (entry.message === "operator stopped") {
          out(`  [replica ${id}] stopped`);
        }
      });
      createInterface({ input: child.stderr! }).on("line", (line) => {
        if (line.trim() !== "") out(`  [replica ${id}] ${line}`);
      });
    }
    out(
      `Started 3 replicas of examples/main.ts (Raft ports ${ports.join(", ")})`,
    );

    // The leader of the highest term, as the replicas' logs tell it.
    const leaderOf = (alive: Replica[]) =>
      alive.filter((r) => r.role === "leader")
        .sort((a, b) => b.term - a.term)[0];
    const elected = await until(
      "a leader",
      () => leaderOf(replicas),
      timeoutMs,
    );
    out(`Replica ${elected.id} leads (term ${elected.term})`);

    const reconciledBy = async (name: string) => {
      try {
        const site = await client.get<Website>(websites, name, { namespace });
        const condition = site.status?.conditions?.find((c) =>
          c.type === "Reconciled"
        );
        const match = /by replica (\d+) in term (\d+)/.exec(
          condition?.message ?? "",
        );
        if (
          !match || site.status?.observedGeneration !== site.metadata.generation
        ) return undefined;
        return { replica: Number(match[1]), term: Number(match[2]), site };
      } catch (error) {
        if (isApiError(error, 404)) return undefined;
        throw error;
      }
    };

    for (const site of SITES) {
      await client.create(
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
      const seen = await until(
        `${site.name} reconciled`,
        () => reconciledBy(site.name),
        timeoutMs,
      );
      out(
        `  ${site.name}: ConfigMap ${site.name}-settings and Deployment ${site.name}-web applied by replica ${seen.replica} (term ${seen.term})`,
      );
    }

    const first = leaderOf(replicas) ?? elected;
    const killedTerm = first.term;
    out(
      `Killing the leader, replica ${first.id} (term ${killedTerm}), with SIGKILL`,
    );
    const killedAt = performance.now();
    first.child.kill("SIGKILL");
    await first.exited;
    first.role = "dead";
    const alive = replicas.filter((r) => r !== first);
    const next = await until(
      "a new leader",
      () => {
        const leader = leaderOf(alive);
        return leader !== undefined && leader.term > killedTerm && leader;
      },
      timeoutMs,
    );
    const electedAfterMs = performance.now() - killedAt;
    out(
      `Replica ${next.id} leads (term ${next.term}), ${
        electedAfterMs.toFixed(0)
      } ms after the kill`,
    );
    for (const site of SITES) {
      const seen = await until(
        `${site.name} reconciled by the new leader`,
        async () => {
          const r = await reconciledBy(site.name);
          return r !== undefined && r.replica === next.id && r;
        },
        timeoutMs,
      );
      out(
        `  ${site.name}: reconciled again by replica ${seen.replica} (term ${seen.term})`,
      );
    }
    const reconciledAfterMs = performance.now() - killedAt;
    out(
      `Failover: new leader after ${
        electedAfterMs.toFixed(0)
      } ms, every Website reconciled by it after ${
        reconciledAfterMs.toFixed(0)
      } ms`,
    );

    await client.patch(websites, "blog", { spec: { replicas: 4 } }, {
      namespace,
    });
    const scaled = await until(
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
        );
        return deployment.spec.replicas === 4 && deployment;
      },
      timeoutMs,
    );
    out(
      `Scaled blog to ${scaled.spec.replicas} replicas: the new leader applied it`,
    );

    const leader = leaderOf(alive) ?? next;
    out(
      `Stopping the leader, replica ${leader.id}, with SIGTERM: it hands over first`,
    );
    const stoppedAt = performance.now();
    leader.child.kill("SIGTERM");
    const last = alive.find((r) => r !== leader)!;
    await until("the handover", () => last.role === "leader", timeoutMs);
    out(
      `Replica ${last.id} leads (term ${last.term}), ${
        (performance.now() - stoppedAt).toFixed(0)
      } ms after the SIGTERM`,
    );
    out(`  [replica ${leader.id}] ended: ${await leader.exited}`);
    last.child.kill("SIGTERM");
    out(`  [replica ${last.id}] ended: ${await last.exited}`);
    if (options.kubeconfig) {
      for (const site of SITES) {
        await client.delete(websites, site.name, { namespace });
      }
    }
    return {
      firstLeader: first.id,
      newLeader: next.id,
      electedAfterMs,
      reconciledAfterMs,
      websites: SITES.map((s) => s.name),
    };
  } finally {
    for (const replica of replicas) {
      if (
        replica.child.exitCode === null && replica.child.signalCode === null
      ) {
        replica.child.kill("SIGKILL");
        await replica.exited;
      }
    }
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const kubeconfig = process.env.KUBECONFIG || null;
  await runDemo({ kubeconfig });
}
