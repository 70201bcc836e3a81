// The Node single executable of the Website operator (scripts/sea.ts):
// three copies of the one file as replicas against the test API server, a
// failover (kill -9 of the leader) and a handover (SIGTERM). Deno-only (it
// needs the executable built by `deno task build:sea`); run it with
// `deno task test:sea`, which builds it and sets K8S_OPERATOR_SEA.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { startReplicas, TestApiServer } from "../../testing/mod.ts";
import { Website } from "../../examples/resources.ts";
import {
  assertHandedOver,
  assertReconciledByLeader,
  reconciledBy,
} from "../testing/_replica_asserts.ts";
import { websites } from "../../examples/website.ts";

const binary = process.env.K8S_OPERATOR_SEA ?? "";
const skip = binary === ""
  ? "K8S_OPERATOR_SEA is not set: `deno task test:sea` builds the single executable and runs this"
  : false;
if (skip) console.warn(`Skipping the single-executable tests: ${skip}`);

// Whole processes starting and electing on a shared machine: these bound
// waiting only.
const timeoutMs = 60_000;

describe("the single executable, three copies", { skip }, () => {
  let server: TestApiServer;
  let dir: string;
  const copies: string[] = [];
  before(async () => {
    server = await TestApiServer.start();
    await Website.install(server.kubeConfig(), { fieldManager: "test" });
    dir = await mkdtemp(join(tmpdir(), "k8s-operator-sea-"));
    for (let i = 0; i < 3; i++) {
      const copy = join(dir, `website-operator-${i}`);
      await copyFile(binary, copy);
      copies.push(copy);
    }
  });
  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("are one file each, with no runtime beside them", async () => {
    for (const copy of copies) {
      const info = await stat(copy);
      assert.ok(info.isFile() && (info.mode & 0o111) !== 0);
      assert.equal(info.size, (await stat(binary)).size);
    }
  });

  it("elect a leader that reconciles, fail over after kill -9, hand over on SIGTERM", async () => {
    const replicas = await startReplicas({
      controlPlane: server,
      command: (id) => [copies[id]],
      clusterId: "website-sea",
      timeoutMs,
    });
    try {
      await replicas.waitForLeader();
      await replicas.client.create(
        websites,
        Website.build({
          metadata: { name: "sea", namespace: "default" },
          spec: { domain: "sea.example.com", image: "nginx:1.27", replicas: 1 },
        }),
      );
      const target = { resource: websites, name: "sea", namespace: "default" };
      const site = await replicas.waitForCondition<Website>(target, {
        type: "Reconciled",
      });
      assertReconciledByLeader(replicas, site);
      // The leader now, which is the one to kill (leadership may have moved
      // since the reconcile on a loaded machine).
      const first = await replicas.waitForLeader();

      await replicas.kill(first.id);
      await replicas.waitForLeader({ not: first.id, after: first.term });
      await replicas.client.patch(websites, "sea", { spec: { replicas: 2 } }, {
        namespace: "default",
      });
      // By a replica that took over: the one elected first, or, when a
      // loaded machine made it step down again (two of three left), the
      // next one (as in tests/testing/replicas_test.ts).
      await replicas.waitForCondition<Website>(target, {
        type: "Reconciled",
        where: (s) =>
          reconciledBy(s) >= 0 && reconciledBy(s) !== first.id &&
          s.status?.observedGeneration === s.metadata.generation,
      });

      // A handover needs a quorum after it: bring the killed replica back.
      // It restarts on memory storage as a new member, and counts toward a
      // quorum once the leader made it a voter again, when it is ready.
      await replicas.start(first.id);
      await replicas.waitForReady(first.id);
      // The leader now, which is the one to hand over on SIGTERM.
      const leader = await replicas.waitForLeader();
      await replicas.stop(leader.id);
      await replicas.waitForLeader({ not: leader.id, after: leader.term });
      assertHandedOver(replicas, leader);
      assert.ok(
        replicas.logs(leader.id).some((l) => l.message === "operator stopped"),
      );
    } finally {
      await replicas.stop();
    }
  });
});
