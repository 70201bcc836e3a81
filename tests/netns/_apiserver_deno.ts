/**
 * The test API server as a process of its own, run inside the lab's `api`
 * namespace. Configured by one JSON argument
 * `{ hostname, kubeconfig, namespace }`: it listens on `hostname`, writes a
 * kubeconfig for it to the file `kubeconfig`, installs the Website CRD and
 * prints `{"event":"ready"}`.
 *
 * It prints every write it receives (any method but GET and HEAD) as a
 * JSON line `{"event":"write","t","method","path","from","sendId"}`, `t` on
 * the system clock shared by all processes (`testing/raft/wall_clock.ts`),
 * `from` the client's address and `sendId` its `x-netns-send` header (the
 * replica's id of the send, or `null`); reads are counted per client. It
 * takes commands as JSON lines on stdin, each answered by
 * `{"event":"result","rid",…}`:
 * `create` (a Website `name`), `bump` (a new generation of Website `name`),
 * `sites` (each Website's generation and its Reconciled condition),
 * `reads` (the reads per client since the last `reads`), and for the
 * sharded tests `configMap` (ConfigMap `name` in `default`, labelled
 * `sharded-test=yes`, created or patched to `data.v` = `v`) and
 * `configMaps` (every ConfigMap of `default`: `name` and `v`).
 *
 * @module
 */
import { writeFile } from "node:fs/promises";
import process from "node:process";
import { createInterface } from "node:readline";
import { args } from "../../platform/mod.ts";
import {
  isApiError,
  KubeClient,
  type KubeObject,
} from "../../controller/mod.ts";
import { configMaps } from "../controller/_server.ts";
import { TestApiServer } from "../../testing/mod.ts";
import { Website } from "../../examples/resources.ts";
import { websites } from "../../examples/website.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";

interface Config {
  hostname: string;
  kubeconfig: string;
  namespace: string;
}

const config = JSON.parse(args()[0]) as Config;
const wall = wallClock();
const emit = (event: Record<string, unknown>) =>
  console.log(JSON.stringify({ ...event, t: event.t ?? wall() }));
const reads = new Map<string, number>();
const unmapped = (address: string) => address.replace(/^::ffff:/, "");

const server = await TestApiServer.start({
  hostname: config.hostname,
  onRequest: ({ method, path, remoteAddress, headers }) => {
    const from = unmapped(remoteAddress);
    if (method === "GET" || method === "HEAD") {
      reads.set(from, (reads.get(from) ?? 0) + 1);
      return;
    }
    const sendId = headers.get("x-netns-send");
    emit({ event: "write", t: wall(), method, path, from, sendId });
  },
});
await writeFile(config.kubeconfig, server.kubeConfigYaml());
const kubeConfig = server.kubeConfig();
await Website.install(kubeConfig, { fieldManager: "netns-test" });
const client = KubeClient.fromKubeConfig(kubeConfig);
await client.create(
  {
    group: "",
    version: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
  },
  { metadata: { name: config.namespace } },
);
emit({ event: "ready", url: server.url });

interface Site {
  metadata: { name?: string; generation?: number };
  spec: { replicas: number };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; message?: string }[];
  };
}

async function handle(cmd: Record<string, unknown>): Promise<unknown> {
  const namespace = config.namespace;
  switch (cmd.op) {
    case "create": {
      const site = await client.create<Site>(
        websites,
        Website.build({
          metadata: { name: String(cmd.name), namespace },
          spec: {
            domain: `${cmd.name}.example.com`,
            image: "nginx:1.27",
            replicas: 1,
          },
        }),
      );
      return { generation: site.metadata.generation };
    }
    case "bump": {
      const current = await client.get<Site>(websites, String(cmd.name), {
        namespace,
      });
      const site = await client.patch<Site>(
        websites,
        String(cmd.name),
        { spec: { replicas: current.spec.replicas % 100 + 1 } },
        { namespace },
      );
      return { generation: site.metadata.generation };
    }
    case "sites": {
      const list = await client.list<Site>(websites, { namespace });
      return {
        sites: list.items.map((s) => ({
          name: s.metadata.name,
          generation: s.metadata.generation,
          observedGeneration: s.status?.observedGeneration ?? null,
          reconciled: s.status?.conditions?.find((c) => c.type === "Reconciled")
            ?.message ?? null,
        })),
      };
    }
    case "configMap": {
      const name = String(cmd.name);
      const data = { v: String(cmd.v) };
      try {
        await client.patch(configMaps, name, { data }, {
          namespace: "default",
        });
      } catch (error) {
        if (!isApiError(error, 404)) throw error;
        await client.create(configMaps, {
          metadata: {
            name,
            namespace: "default",
            labels: { "sharded-test": "yes" },
          },
          data,
        } as KubeObject);
      }
      return {};
    }
    case "configMaps": {
      const list = await client.list<KubeObject & { data?: { v?: string } }>(
        configMaps,
        { namespace: "default" },
      );
      return {
        configMaps: list.items.map((o) => ({
          name: o.metadata.name,
          v: o.data?.v ?? null,
        })),
      };
    }
    case "reads": {
      const counts = Object.fromEntries(reads);
      reads.clear();
      return { reads: counts };
    }
    default:
      throw new Error(`Expected a known op, found ${JSON.stringify(cmd.op)}`);
  }
}

createInterface({ input: process.stdin }).on("line", async (line) => {
  const cmd = JSON.parse(line) as Record<string, unknown>;
  try {
    emit({
      event: "result",
      rid: cmd.rid,
      ok: true,
      ...await handle(cmd) as object,
    });
  } catch (error) {
    emit({ event: "result", rid: cmd.rid, ok: false, error: String(error) });
  }
});
