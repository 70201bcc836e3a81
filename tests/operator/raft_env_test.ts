import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  HeadlessServiceDiscovery,
  MalformedEnvError,
  MissingEnvError,
  StaticDiscovery,
} from "../../discovery/mod.ts";
import { raftConfigFromEnv } from "../../operator/mod.ts";

const POD = { POD_NAME: "my-op-1", NAMESPACE: "ops", RAFT_REPLICAS: "3" };

function throwsEnv(
  env: Record<string, string>,
  kind: typeof MissingEnvError | typeof MalformedEnvError,
  variable: string,
  message: RegExp,
): void {
  assert.throws(() => raftConfigFromEnv(env), (error: unknown) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${error}`);
    assert.equal(error.variable, variable);
    assert.match(error.message, message);
    return true;
  });
}

describe("raftConfigFromEnv in a StatefulSet", () => {
  it("takes the node id from the ordinal and peers from the ordinals", () => {
    const config = raftConfigFromEnv({ ...POD, RAFT_SERVICE: "my-op-raft" });
    assert.equal(config.nodeId, 1);
    assert.deepEqual(config.voters(), [0, 1, 2]);
    assert.deepEqual([...config.peers], [
      [0, "my-op-0.my-op-raft.ops.svc.cluster.local.:7000"],
      [1, "my-op-1.my-op-raft.ops.svc.cluster.local.:7000"],
      [2, "my-op-2.my-op-raft.ops.svc.cluster.local.:7000"],
    ]);
    assert.equal(
      config.selfAddress(),
      "my-op-1.my-op-raft.ops.svc.cluster.local.:7000",
    );
    assert.equal(config.listenPort, 7000);
    assert.deepEqual(config.identity, {
      podName: "my-op-1",
      namespace: "ops",
      statefulSet: "my-op",
      ordinal: 1,
    });
    assert.ok(config.discovery instanceof HeadlessServiceDiscovery);
    assert.equal(
      (config.discovery as HeadlessServiceDiscovery).statefulSet,
      "my-op",
    );
    assert.equal(
      (config.discovery as HeadlessServiceDiscovery).dnsName(),
      "my-op-raft.ops.svc.cluster.local",
    );
  });

  it("defaults the Service to the StatefulSet name and honours port, port name and domain", () => {
    const config = raftConfigFromEnv({
      ...POD,
      RAFT_PORT: "9000",
      RAFT_PORT_NAME: "peer",
      RAFT_CLUSTER_DOMAIN: "corp.example.",
    });
    const discovery = config.discovery as HeadlessServiceDiscovery;
    assert.equal(
      config.peers.get(0),
      "my-op-0.my-op.ops.svc.corp.example.:9000",
    );
    assert.equal(config.listenPort, 9000);
    assert.equal(discovery.portName, "peer");
    assert.equal(discovery.port, 9000);
  });

  it("requires POD_NAME, NAMESPACE and RAFT_REPLICAS", () => {
    throwsEnv(
      { NAMESPACE: "ops", RAFT_REPLICAS: "3" },
      MissingEnvError,
      "POD_NAME",
      /POD_NAME/,
    );
    throwsEnv(
      { POD_NAME: "op-0", RAFT_REPLICAS: "3" },
      MissingEnvError,
      "NAMESPACE",
      /NAMESPACE/,
    );
    throwsEnv(
      { POD_NAME: "op-0", NAMESPACE: "ops" },
      MissingEnvError,
      "RAFT_REPLICAS",
      /RAFT_REPLICAS \(the number of initial voters.*found it unset/,
    );
  });

  it("rejects malformed numbers and names, naming the variable", () => {
    throwsEnv(
      { ...POD, RAFT_REPLICAS: "three" },
      MalformedEnvError,
      "RAFT_REPLICAS",
      /found "three"/,
    );
    throwsEnv(
      { ...POD, RAFT_REPLICAS: "0" },
      MalformedEnvError,
      "RAFT_REPLICAS",
      /from 1 to 1000, found "0"/,
    );
    throwsEnv(
      { ...POD, RAFT_REPLICAS: "2.5" },
      MalformedEnvError,
      "RAFT_REPLICAS",
      /found "2.5"/,
    );
    throwsEnv(
      { ...POD, RAFT_PORT: "0" },
      MalformedEnvError,
      "RAFT_PORT",
      /port from 1 to 65535, found "0"/,
    );
    throwsEnv(
      { ...POD, RAFT_PORT: "7000x" },
      MalformedEnvError,
      "RAFT_PORT",
      /found "7000x"/,
    );
    throwsEnv(
      { ...POD, RAFT_SERVICE: "My_Svc" },
      MalformedEnvError,
      "RAFT_SERVICE",
      /found "My_Svc"/,
    );
    throwsEnv(
      { ...POD, RAFT_PORT_NAME: "-x" },
      MalformedEnvError,
      "RAFT_PORT_NAME",
      /found "-x"/,
    );
    throwsEnv(
      { ...POD, RAFT_CLUSTER_DOMAIN: "a..b" },
      MalformedEnvError,
      "RAFT_CLUSTER_DOMAIN",
      /found "a..b"/,
    );
    throwsEnv(
      { ...POD, POD_NAME: "my-op" },
      MalformedEnvError,
      "POD_NAME",
      /found "my-op"/,
    );
  });

  it("lets a pod added by a scale-up join: the initial voters stay, and it knows its own address", () => {
    const config = raftConfigFromEnv({ ...POD, POD_NAME: "my-op-4" });
    assert.equal(config.nodeId, 4);
    assert.deepEqual(config.voters(), [0, 1, 2]);
    assert.deepEqual([...config.peers.keys()], [0, 1, 2, 4]);
    assert.equal(
      config.selfAddress(),
      "my-op-4.my-op.ops.svc.cluster.local.:7000",
    );
  });
});

describe("raftConfigFromEnv with explicit peers", () => {
  it("reads RAFT_NODE_ID and RAFT_PEERS", () => {
    const config = raftConfigFromEnv({
      RAFT_NODE_ID: "1",
      RAFT_PEERS: "1=host-b:7001,0=host-a:7000",
    });
    assert.equal(config.nodeId, 1);
    assert.deepEqual([...config.peers], [[0, "host-a:7000"], [
      1,
      "host-b:7001",
    ]]);
    assert.equal(config.listenPort, 7001);
    assert.equal(config.identity, null);
    assert.ok(config.discovery instanceof StaticDiscovery);
  });

  it("prefers RAFT_PEERS over the pod variables and lets RAFT_PORT set the listen port", () => {
    const config = raftConfigFromEnv({
      ...POD,
      RAFT_NODE_ID: "0",
      RAFT_PEERS: "0=10.0.0.1:7000",
      RAFT_PORT: "8000",
    });
    assert.equal(config.nodeId, 0);
    assert.equal(config.listenPort, 8000);
    assert.equal(config.selfAddress(), "10.0.0.1:7000");
  });

  it("requires RAFT_NODE_ID among the peers, and RAFT_PEERS with RAFT_NODE_ID", () => {
    throwsEnv(
      { RAFT_PEERS: "0=a:1" },
      MissingEnvError,
      "RAFT_NODE_ID",
      /RAFT_NODE_ID/,
    );
    throwsEnv(
      { RAFT_NODE_ID: "2", RAFT_PEERS: "0=a:1,1=b:1" },
      MalformedEnvError,
      "RAFT_NODE_ID",
      /one of the ids in the peer list \(0, 1\), found "2"/,
    );
    throwsEnv(
      { RAFT_NODE_ID: "-1", RAFT_PEERS: "0=a:1" },
      MalformedEnvError,
      "RAFT_NODE_ID",
      /found "-1"/,
    );
    throwsEnv(
      { RAFT_NODE_ID: "0" },
      MissingEnvError,
      "RAFT_PEERS",
      /required with RAFT_NODE_ID/,
    );
  });

  it("explains a malformed RAFT_PEERS", () => {
    throwsEnv(
      { RAFT_NODE_ID: "0", RAFT_PEERS: "0=a:1;1=b:1" },
      MalformedEnvError,
      "RAFT_PEERS",
      /Expected RAFT_PEERS to be "<nodeId>=<host>:<port>" entries separated by commas \(.*\), found "0=a:1;1=b:1"/,
    );
    throwsEnv(
      { RAFT_NODE_ID: "0", RAFT_PEERS: "0=a:1,0=b:2" },
      MalformedEnvError,
      "RAFT_PEERS",
      /node 0 twice/,
    );
  });
});
