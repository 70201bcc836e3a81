import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Replicas,
  startReplicas,
  startTestControlPlane,
  type TestControlPlane,
} from "../../testing/mod.ts";
import {
  Operator,
  ReconcileResult,
  type ResourceType,
  type RunningOperator,
} from "../../mod.ts";
import { KubeClient } from "../../controller/mod.ts";
import type { ConfChange } from "../../raft/types.ts";
import { plane, skipUnlessRunnable } from "../_control_plane.ts";
import { configMaps } from "../../testing/resource_types.ts";

const statefulSets: ResourceType = {
  group: "apps",
  version: "v1",
  plural: "statefulsets",
  kind: "StatefulSet",
  namespaced: true,
};

/** A StatefulSet a real API server accepts too (selector, template, container). */
function statefulSet(name: string, replicas: number) {
  const labels = { app: name };
  return {
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: "operator", image: "operator:test" }] },
      },
    },
  } as never;
}

// One control plane for the file (a real one takes seconds to start); the
// suites use StatefulSets of their own names.
const skip = skipUnlessRunnable("the StatefulSet scaling tests");
let shared: Promise<TestControlPlane> | undefined;
const controlPlane = () =>
  shared ??= startTestControlPlane({ kind: plane.kind });
after(async () => {
  await (await shared)?.stop();
});

/** The replicas running now. */
function running(replicas: Replicas): RunningOperator[] {
  return Array.from({ length: replicas.size }, (_, id) => replicas.running(id))
    .filter((node) => node !== null);
}

function leaders(replicas: Replicas): RunningOperator[] {
  return running(replicas).filter((n) =>
    n.election.guard().isLeader() && n.status().role === "leader"
  );
}

/** The one leader, once there is exactly one (a wait with a deadline). */
function oneLeader(
  replicas: Replicas,
  what = "one leader",
): Promise<RunningOperator> {
  return replicas.waitFor(what, () => {
    const all = leaders(replicas);
    return all.length === 1 && all[0];
  });
}

function sameConf(
  node: RunningOperator,
  voters: number[],
): boolean {
  const { conf } = node.status();
  return JSON.stringify([...conf.voters].sort((a, b) => a - b)) ===
      JSON.stringify(voters) && conf.learners.length === 0;
}

/** Replicas in this process as the pods of StatefulSet `name` in default. */
function startPods(
  server: TestControlPlane,
  options: { name: string; replicas: number; initial: number },
): Promise<Replicas> {
  return startReplicas({
    controlPlane: server,
    replicas: options.replicas,
    initial: options.initial,
    statefulSet: { name: options.name, namespace: "default" },
    operator: (operatorOptions) => Operator.fromEnv(operatorOptions),
    // Only bounds waiting: elections and membership changes on a shared
    // 2-core machine.
    timeoutMs: 60_000,
  });
}

describe(`an operator StatefulSet scaled 3 → 5 → 3 online [${plane.kind}]`, {
  skip,
}, () => {
  let server: TestControlPlane;
  let client: KubeClient;
  let replicas: Replicas;
  const changes: ConfChange[] = [];

  /** Records every membership change replica `id` proposes, in order. */
  function record(id: number): void {
    const node = replicas.running(id)!.node;
    const change = node.changeMembership.bind(node);
    node.changeMembership = (c: ConfChange) => {
      changes.push(c);
      return change(c);
    };
  }

  async function startOrdinal(id: number): Promise<void> {
    await replicas.start(id);
    record(id);
  }

  before(async () => {
    server = await controlPlane();
    client = KubeClient.fromKubeConfig(server.kubeConfig());
    await client.create(statefulSets, statefulSet("op", 3));
    replicas = await startPods(server, { name: "op", replicas: 5, initial: 3 });
    for (const id of [0, 1, 2]) record(id);
  });

  after(async () => {
    await replicas?.stop();
  });

  it("starts as three voters and proposes no change at replicas 3", async () => {
    const leader = await oneLeader(replicas);
    assert.ok(sameConf(leader, [0, 1, 2]));
    assert.equal(leader.config.followStatefulSet, true);
    assert.deepEqual(changes, []);
  });

  it("adds ordinals 3 and 4 as learners, then promotes them", async () => {
    await startOrdinal(3);
    await startOrdinal(4);
    await client.patch(statefulSets, "op", { spec: { replicas: 5 } }, {
      namespace: "default",
    });
    await replicas.waitFor(
      "the leader's conf to be voters 0..4",
      () => {
        const all = leaders(replicas);
        return all.length === 1 && sameConf(all[0], [0, 1, 2, 3, 4]);
      },
    );
    for (const id of [3, 4]) {
      const added = changes.findIndex((c) =>
        c.type === "addLearner" && c.nodeId === id
      );
      const promoted = changes.findIndex((c) =>
        c.type === "promote" && c.nodeId === id
      );
      assert.ok(added >= 0, `Expected ${id} added as a learner`);
      assert.ok(promoted > added, `Expected ${id} promoted after it was added`);
    }
    assert.ok(!changes.some((c) => c.type === "remove"));
    await replicas.waitFor(
      "ordinals 3 and 4 to know they are voters",
      () =>
        [3, 4].every((id) => sameConf(replicas.running(id)!, [0, 1, 2, 3, 4])),
    );
    assert.ok(leaders(replicas).length <= 1, "Expected at most one leader");
  });

  it("removes ordinals 3 and 4 when scaled back to 3, keeping one leader", async () => {
    const before = changes.length;
    await client.patch(statefulSets, "op", { spec: { replicas: 3 } }, {
      namespace: "default",
    });
    // The StatefulSet controller deletes the highest ordinals first.
    await replicas.stop(4);
    await replicas.stop(3);
    await replicas.waitFor(
      "one leader with voters 0..2",
      () => {
        const all = leaders(replicas);
        return all.length === 1 && sameConf(all[0], [0, 1, 2]);
      },
    );
    const removed = changes.slice(before).filter((c) => c.type === "remove")
      .map((c) => c.nodeId).sort();
    assert.deepEqual([...new Set(removed)], [3, 4]);
    await replicas.waitFor(
      "every remaining node to have voters 0..2",
      () => [0, 1, 2].every((id) => sameConf(replicas.running(id)!, [0, 1, 2])),
    );
    assert.ok(leaders(replicas).length <= 1, "Expected at most one leader");
  });

  it("a new leader follows a change made after the old one stopped", async () => {
    // A loaded machine may be between leaders when the test begins.
    const old = await oneLeader(replicas);
    const oldId = old.config.raft.nodeId;
    await replicas.stop(oldId);
    const next = await oneLeader(replicas, "a new leader");
    assert.notEqual(next.config.raft.nodeId, oldId);
    const before = changes.length;
    await startOrdinal(3);
    await client.patch(statefulSets, "op", { spec: { replicas: 4 } }, {
      namespace: "default",
    });
    await replicas.waitFor(
      "the new leader's conf to be voters 0..3",
      () => {
        const all = leaders(replicas);
        return all.length === 1 && sameConf(all[0], [0, 1, 2, 3]);
      },
    );
    // A change refused while another is pending is proposed again.
    assert.deepEqual(
      [...new Set(changes.slice(before).map((c) => `${c.type} ${c.nodeId}`))],
      ["addLearner 3", "promote 3"],
    );
  });
});

describe(`an operator whose StatefulSet is missing at first [${plane.kind}]`, {
  skip,
}, () => {
  let client: KubeClient;
  let replicas: Replicas;

  before(async () => {
    const server = await controlPlane();
    client = KubeClient.fromKubeConfig(server.kubeConfig());
    replicas = await startPods(server, {
      name: "solo",
      replicas: 2,
      initial: 1,
    });
  });

  after(async () => {
    await replicas?.stop();
  });

  it("keeps leading, then follows the StatefulSet once it exists", async () => {
    const solo = replicas.running(0)!;
    await oneLeader(replicas, "node 0 to lead");
    await replicas.start(1);
    await client.create(statefulSets, statefulSet("solo", 2));
    await replicas.waitFor(
      "voters 0 and 1",
      () => sameConf(solo, [0, 1]) && sameConf(replicas.running(1)!, [0, 1]),
    );
    assert.equal(solo.node.failure, null);
    assert.ok(leaders(replicas).length <= 1, "Expected at most one leader");
  });

  it("ignores replicas 0 instead of removing every member", async () => {
    await client.patch(statefulSets, "solo", { spec: { replicas: 0 } }, {
      namespace: "default",
    });
    await replicas.waitFor(
      "a warning about replicas 0",
      () =>
        [0, 1].some((id) =>
          replicas.logs(id).some((l) =>
            l.level === "warn" &&
            l.message === "ignoring the StatefulSet's replicas"
          )
        ),
    );
    const leader = await oneLeader(replicas);
    assert.ok(sameConf(leader, [0, 1]), JSON.stringify(leader.status().conf));
  });
});

describe(
  `an operator StatefulSet scaled 1 → 2 with a pod that never starts [${plane.kind}]`,
  {
    skip,
  },
  () => {
    let server: TestControlPlane;
    let client: KubeClient;
    let replicas: Replicas;
    const reconciled: string[] = [];

    before(async () => {
      server = await controlPlane();
      client = KubeClient.fromKubeConfig(server.kubeConfig());
      await client.create(statefulSets, statefulSet("lone", 1));
      // Ordinal 1 is never started: its address has nothing listening.
      replicas = await startReplicas({
        controlPlane: server,
        replicas: 2,
        initial: 1,
        statefulSet: { name: "lone", namespace: "default" },
        operator: (options) =>
          Operator.fromEnv(options).controller(configMaps, {
            labelSelector: "scaling-test=yes",
            reconcile(object, ctx) {
              if (ctx.guard.isLeader()) reconciled.push(object.metadata.name!);
              return Promise.resolve(ReconcileResult.done());
            },
          }),
        timeoutMs: 60_000,
      });
    });

    after(async () => {
      await replicas?.stop();
    });

    it("keeps leading and reconciling: the pod stays a learner", async () => {
      const solo = replicas.running(0)!;
      const guard = solo.election.guard();
      await replicas.waitFor("node 0 to lead", () => guard.isLeader());
      await client.patch(statefulSets, "lone", { spec: { replicas: 2 } }, {
        namespace: "default",
      });
      await replicas.waitFor("ordinal 1 added to the membership", () => {
        const { voters, learners } = solo.status().conf;
        return voters.includes(1) || learners.includes(1);
      });
      // A promoted pod that never answers would leave no quorum: the leader
      // would step down at its next check-quorum (an election timeout, at
      // most 600 ms), and the next term would have no leader. Watch for
      // several of them. (The guard's lease may lapse for a moment on a
      // starved machine; its role and term may not change.)
      const term = solo.status().term;
      const until = performance.now() + 2000;
      let lost = 0;
      while (performance.now() < until) {
        const s = solo.status();
        if (s.role !== "leader" || s.term !== term) lost++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(solo.status().conf.voters, [0], "1 was never promoted");
      assert.equal(lost, 0, "it stayed the leader of the same term");
      await replicas.waitFor("the guard to say leader", () => guard.isLeader());
      await client.create(configMaps, {
        metadata: {
          name: "after-scale",
          namespace: "default",
          labels: { "scaling-test": "yes" },
        },
      } as never);
      await replicas.waitFor(
        "a reconcile of the ConfigMap created after the scale-up",
        () => reconciled.includes("after-scale"),
      );
    });
  },
);

describe(`an operator pod restarted on memory storage [${plane.kind}]`, {
  skip,
}, () => {
  let server: TestControlPlane;
  let replicas: Replicas;

  before(async () => {
    server = await controlPlane();
    const client = KubeClient.fromKubeConfig(server.kubeConfig());
    await client.create(statefulSets, statefulSet("mem", 3));
    replicas = await startPods(server, {
      name: "mem",
      replicas: 3,
      initial: 3,
    });
  });

  after(async () => {
    await replicas?.stop();
  });

  it("comes back as a new member: the leader re-adds it, and it is ready only once a voter again", async () => {
    const leader = await oneLeader(replicas);
    const ordinal = [0, 1, 2].find((id) => id !== leader.config.raft.nodeId)!;
    const old = leader.status().conf.incarnations?.[ordinal];
    await replicas.stop(ordinal);
    await replicas.start(ordinal);
    const again = replicas.running(ordinal)!;
    const incarnation = again.status().incarnation;
    assert.notEqual(incarnation, old, "a new incarnation");
    await replicas.waitFor(
      "the leader's membership to hold its new incarnation as a voter",
      () => {
        const [now] = leaders(replicas);
        const conf = now?.status().conf;
        return conf !== undefined && conf.voters.includes(ordinal) &&
          conf.incarnations?.[ordinal] === incarnation;
      },
    );
    await replicas.waitFor("it to be ready", () => again.readiness().ready);
    assert.ok(leaders(replicas).length <= 1, "Expected at most one leader");
  });
});
