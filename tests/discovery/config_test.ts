import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DiscoveryConfigError,
  type HeadlessServiceDiscovery,
  podIdentity,
  RaftConfig,
} from "../../discovery/mod.ts";

/** Asserts `build` throws DiscoveryConfigError naming `option` and its value. */
function throwsOption(build: () => unknown, option: string, value: unknown) {
  assert.throws(build, (error: unknown) => {
    assert.ok(error instanceof DiscoveryConfigError, String(error));
    assert.equal(error.invalid?.option, option);
    assert.deepEqual(error.invalid?.value, value);
    assert.ok(
      error.message.startsWith("Expected ") &&
        error.message.endsWith(`found ${JSON.stringify(value)}`),
      error.message,
    );
    return true;
  });
}

describe("RaftConfig.forStatefulSet", () => {
  it("takes the node id from the ordinal and the peers from the ordinals", () => {
    const config = RaftConfig.forStatefulSet({
      podName: "my-op-1",
      namespace: "ops",
      replicas: 3,
      service: "my-op-raft",
    });
    assert.equal(config.nodeId, 1);
    assert.deepEqual(config.voters(), [0, 1, 2]);
    assert.equal(
      config.peers.get(2),
      "my-op-2.my-op-raft.ops.svc.cluster.local.:7000",
    );
    const discovery = config.discovery as HeadlessServiceDiscovery;
    assert.equal(discovery.statefulSet, "my-op");
    assert.equal(config.identity?.statefulSet, "my-op");
  });

  it("names the option at fault, with its value", () => {
    const pod = { podName: "op-0", namespace: "ops", replicas: 3 };
    throwsOption(
      () => RaftConfig.forStatefulSet({ ...pod, podName: "op" }),
      "podName",
      "op",
    );
    throwsOption(
      () => RaftConfig.forStatefulSet({ ...pod, namespace: "Ops" }),
      "namespace",
      "Ops",
    );
    for (const replicas of [0, 1001, 1.5]) {
      throwsOption(
        () => RaftConfig.forStatefulSet({ ...pod, replicas }),
        "replicas",
        replicas,
      );
    }
    throwsOption(
      () => RaftConfig.forStatefulSet({ ...pod, service: "Raft!" }),
      "service",
      "Raft!",
    );
    throwsOption(
      () => RaftConfig.forStatefulSet({ ...pod, port: 70000 }),
      "port",
      70000,
    );
    throwsOption(
      () => RaftConfig.forStatefulSet({ ...pod, portName: "_raft" }),
      "portName",
      "_raft",
    );
    throwsOption(
      () => RaftConfig.forStatefulSet({ ...pod, clusterDomain: "a..b" }),
      "clusterDomain",
      "a..b",
    );
  });
});

describe("RaftConfig.forPeerList", () => {
  it("takes the listen port from this node's address unless given", () => {
    const peers = "0=10.0.0.1:7000,1=10.0.0.2:7001";
    assert.equal(RaftConfig.forPeerList({ nodeId: 1, peers }).listenPort, 7001);
    const moved = RaftConfig.forPeerList({ nodeId: 1, peers, listenPort: 9 });
    assert.equal(moved.listenPort, 9);
    assert.equal(moved.selfAddress(), "10.0.0.2:7001");
    const fromMap = RaftConfig.forPeerList({
      nodeId: 0,
      peers: new Map([[0, "a:1"], [1, "b:2"]]),
    });
    assert.deepEqual(fromMap.voters(), [0, 1]);
  });

  it("names the peer list or the node id when they are at fault", () => {
    assert.throws(
      () => RaftConfig.forPeerList({ nodeId: 0, peers: "0=a" }),
      (error: unknown) =>
        error instanceof DiscoveryConfigError &&
        error.invalid?.option === "peers" &&
        /"<nodeId>=<host>:<port>" entries separated by commas/.test(
          error.message,
        ),
    );
    throwsOption(
      () => RaftConfig.forPeerList({ nodeId: 2, peers: "0=a:1,1=b:1" }),
      "nodeId",
      2,
    );
  });
});

describe("podIdentity", () => {
  it("splits the pod name into StatefulSet and ordinal", () => {
    assert.deepEqual(podIdentity({ podName: "web-2-0", namespace: "a" }), {
      podName: "web-2-0",
      namespace: "a",
      statefulSet: "web-2",
      ordinal: 0,
    });
  });

  it("names the pod name or the namespace when they are at fault", () => {
    throwsOption(
      () => podIdentity({ podName: "op-01", namespace: "ops" }),
      "podName",
      "op-01",
    );
    throwsOption(
      () => podIdentity({ podName: "op-0", namespace: "Ops.Prod" }),
      "namespace",
      "Ops.Prod",
    );
  });
});

describe("new RaftConfig", () => {
  it("rejects a node that is not among its peers", () => {
    assert.throws(
      () =>
        new RaftConfig({
          nodeId: 3,
          peers: new Map([[0, "a:1"]]),
          listenPort: 1,
        }),
      (error: unknown) =>
        error instanceof DiscoveryConfigError &&
        /Expected node 3 among the peers, found only 0/.test(error.message),
    );
  });

  it("takes initial voters among the peers, and refuses others or none", () => {
    const peers = new Map([[0, "a:1"], [1, "b:1"], [5, "f:1"]]);
    const config = new RaftConfig({
      nodeId: 5,
      peers,
      voters: [1, 0],
      listenPort: 1,
    });
    assert.deepEqual(config.voters(), [0, 1]);
    for (const voters of [[0, 7], []]) {
      assert.throws(
        () => new RaftConfig({ nodeId: 5, peers, voters, listenPort: 1 }),
        (error: unknown) =>
          error instanceof DiscoveryConfigError &&
          /Expected at least one initial voter, each among the peers/.test(
            error.message,
          ),
      );
    }
  });

  it("rejects malformed addresses and listen ports", () => {
    assert.throws(
      () =>
        new RaftConfig({
          nodeId: 0,
          peers: new Map([[0, "a"]]),
          listenPort: 1,
        }),
      /"host:port", found 0 → "a"/,
    );
    assert.throws(
      () =>
        new RaftConfig({
          nodeId: 0,
          peers: new Map([[0, "a:1"]]),
          listenPort: 0,
        }),
      /listen port to be from 1 to 65535, found 0/,
    );
  });
});
