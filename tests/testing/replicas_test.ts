// The replica harness (testing/replicas.ts), and the complete test of the
// Website example that testing/README.md shows: three replicas as
// processes, a failover, a handover, a pause; then in this process.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ReplicaHarnessError,
  startReplicas,
  TestApiServer,
} from "../../testing/mod.ts";
import { Operator } from "../../mod.ts";
import { Website } from "../../examples/resources.ts";
import {
  assertHandedOver,
  assertReconciledByLeader,
  reconciledBy,
} from "./_replica_asserts.ts";
import { websiteReconciler, websites } from "../../examples/website.ts";

// Generous: these wait on whole processes starting and electing on a
// shared 2-core machine; they only bound waiting.
const timeoutMs = 60_000;

describe("startReplicas: the Website operator as three processes", () => {
  let server: TestApiServer;
  before(async () => {
    server = await TestApiServer.start();
    await Website.install(server.kubeConfig(), { fieldManager: "test" });
  });
  after(async () => {
    await server.stop();
  });

  it("reconciles on the leader, fails over after kill -9, hands over on SIGTERM", async () => {
    const replicas = await startReplicas({
      controlPlane: server,
      main: new URL("../../examples/main.ts", import.meta.url),
      timeoutMs,
    });
    try {
      await replicas.waitForLeader();
      await replicas.client.create(
        websites,
        Website.build({
          metadata: { name: "blog", namespace: "default" },
          spec: {
            domain: "blog.example.com",
            image: "nginx:1.27",
            replicas: 2,
          },
        }),
      );
      const target = { resource: websites, name: "blog", namespace: "default" };
      const site = await replicas.waitForCondition<Website>(target, {
        type: "Reconciled",
      });
      assertReconciledByLeader(replicas, site);
      // The leader now, which is the one to kill (leadership may have moved
      // since the reconcile on a loaded machine).
      const first = await replicas.waitForLeader();

      await replicas.kill(first.id);
      assert.equal(replicas.state(first.id).role, "down");
      await replicas.waitForLeader({ not: first.id, after: first.term });
      await replicas.client.patch(websites, "blog", { spec: { replicas: 3 } }, {
        namespace: "default",
      });
      // By a replica that took over: the one elected first, or, when a
      // loaded machine made it step down again (two of three left), the
      // next one.
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
      const third = await replicas.waitForLeader({
        not: leader.id,
        after: leader.term,
      });
      assertHandedOver(replicas, leader);
      assert.ok(
        replicas.logs(third.id).some((l) => l.message === "operator started"),
      );
    } finally {
      await replicas.stop();
    }
  });

  it("pauses the leader (SIGSTOP) so another takes over, then resumes it as a follower", async () => {
    const replicas = await startReplicas({
      controlPlane: server,
      main: new URL("../../examples/main.ts", import.meta.url),
      timeoutMs,
    });
    try {
      const first = await replicas.waitForLeader();
      replicas.pause(first.id);
      const next = await replicas.waitForLeader({
        not: first.id,
        after: first.term,
      });
      replicas.resume(first.id);
      // The resumed replica learns the newer term from the leader.
      await replicas.waitFor(
        `replica ${first.id} a follower in term ${next.term} or later`,
        () =>
          replicas.state(first.id).role === "follower" &&
          replicas.state(first.id).term >= next.term,
      );
      assert.notEqual(replicas.state(first.id).role, "leader");
    } finally {
      await replicas.stop();
    }
  });
});

describe("startReplicas: in this process", () => {
  let server: TestApiServer;
  before(async () => {
    server = await TestApiServer.start();
    await Website.install(server.kubeConfig(), { fieldManager: "test" });
  });
  after(async () => {
    await server.stop();
  });

  it("runs the operator the factory builds, kills, restarts and stops replicas", async () => {
    const replicas = await startReplicas({
      controlPlane: server,
      operator: (options) =>
        Operator.fromEnv(options).controller(Website, websiteReconciler),
      timeoutMs,
    });
    try {
      assert.equal(replicas.size, 3);
      const first = await replicas.waitForLeader();
      assert.equal(replicas.running(first.id)?.status().role, "leader");
      await replicas.client.create(
        websites,
        Website.build({
          metadata: { name: "docs", namespace: "default" },
          spec: {
            domain: "docs.example.com",
            image: "nginx:1.27",
            replicas: 1,
          },
        }),
      );
      const target = { resource: websites, name: "docs", namespace: "default" };
      const site = await replicas.waitForCondition<Website>(target, {
        type: "Reconciled",
      });
      assertReconciledByLeader(replicas, site);
      assert.throws(() => replicas.pause(first.id), ReplicaHarnessError);

      // The leader now, which is the one to kill (leadership may have moved
      // since the reconcile on a loaded machine).
      const leader = await replicas.waitForLeader();
      await replicas.kill(leader.id);
      assert.equal(replicas.running(leader.id), null);
      await replicas.waitForLeader({ not: leader.id, after: leader.term });
      await replicas.start(leader.id);
      assert.notEqual(replicas.running(leader.id), null);
      // A new member (memory storage) until the leader made it a voter again.
      await replicas.waitForReady(leader.id);
      // The leader now, which is the one to stop.
      const second = await replicas.waitForLeader();
      await replicas.stop(second.id);
      const third = await replicas.waitForLeader({
        not: second.id,
        after: second.term,
      });
      assert.ok([0, 1, 2].includes(third.id));
    } finally {
      await replicas.stop();
    }
    assert.equal(replicas.state(0).role, "down");
  });

  it("names what it waited for, with every replica's log, when the deadline passes", async () => {
    const replicas = await startReplicas({
      controlPlane: server,
      replicas: 1,
      operator: (options) => Operator.fromEnv(options),
      timeoutMs,
    });
    try {
      await replicas.waitForLeader();
      await assert.rejects(
        replicas.waitForLeader({ not: 0, timeoutMs: 200 }),
        (error: unknown) =>
          error instanceof ReplicaHarnessError &&
          /^Expected a leader other than 0 within 200 ms, found replica 0 leader/
            .test(error.message) &&
          /operator started/.test(error.logs),
      );
      await assert.rejects(
        replicas.waitForCondition(
          { resource: websites, name: "missing", namespace: "default" },
          { type: "Ready", timeoutMs: 200 },
        ),
        /Expected Website default\/missing to have condition Ready=True within 200 ms/,
      );
    } finally {
      await replicas.stop();
    }
  });

  it("runs replicas as the pods of a StatefulSet, `initial` of them at first, and the leader follows it", async () => {
    const statefulSets = {
      group: "apps",
      version: "v1",
      plural: "statefulsets",
      kind: "StatefulSet",
      namespaced: true,
    };
    const replicas = await startReplicas({
      controlPlane: server,
      replicas: 3,
      initial: 2,
      statefulSet: { name: "harness-op", namespace: "default" },
      operator: (options) => Operator.fromEnv(options),
      timeoutMs,
    });
    const voters = (id: number) =>
      JSON.stringify(replicas.running(id)?.status().conf.voters.toSorted());
    try {
      assert.equal(replicas.state(2).role, "down");
      assert.equal(replicas.running(2), null);
      assert.deepEqual(
        [replicas.env(2).POD_NAME, replicas.env(2).NAMESPACE],
        ["harness-op-2", "default"],
      );
      assert.equal(replicas.env(2).RAFT_REPLICAS, "2");
      assert.equal(replicas.env(2).RAFT_PEERS, undefined);
      // What a process main passes as `peerAddress`: every ordinal's address.
      assert.deepEqual(
        replicas.env(2).REPLICA_PEER_ADDRESSES,
        [0, 1, 2].map((id) => `${id}=127.0.0.1:${replicas.state(id).raftPort}`)
          .join(","),
      );
      const leader = await replicas.waitForLeader();
      assert.equal(voters(leader.id), "[0,1]");
      await replicas.start(2);
      const labels = { app: "harness-op" };
      await replicas.client.create(statefulSets, {
        metadata: { name: "harness-op", namespace: "default" },
        spec: {
          replicas: 3,
          serviceName: "harness-op",
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: "operator", image: "op:test" }] },
          },
        },
      } as never);
      await replicas.waitFor(
        "replica 2 a voter, on the leader and on itself",
        () => {
          const now = [0, 1, 2].find((id) =>
            replicas.running(id)?.status().role === "leader"
          );
          return now !== undefined && voters(now) === "[0,1,2]" &&
            voters(2) === "[0,1,2]";
        },
      );
    } finally {
      await replicas.stop();
    }
  });

  it("refuses initial out of range", async () => {
    await assert.rejects(
      startReplicas({
        controlPlane: server,
        replicas: 2,
        initial: 3,
        operator: (options) => Operator.fromEnv(options),
      }),
      /^RangeError: Expected initial to be an integer from 0 to 2, found 3$/,
    );
  });

  it("refuses options naming no mode or two", async () => {
    await assert.rejects(
      startReplicas({ controlPlane: server }),
      /Expected exactly one of operator, main and command, found 0/,
    );
    await assert.rejects(
      startReplicas({
        controlPlane: server,
        main: "main.js",
        command: ["x"],
      }),
      /found 2/,
    );
  });
});
