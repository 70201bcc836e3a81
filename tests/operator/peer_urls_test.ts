import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RaftConfig } from "../../discovery/mod.ts";
import { MAX_ORDINALS, peerUrls } from "../../operator/_peer_urls.ts";

describe("peer URLs of the operator's transport", () => {
  it("reaches any StatefulSet ordinal by its pod's DNS name", () => {
    const config = RaftConfig.forStatefulSet({
      podName: "op-1",
      namespace: "ops",
      service: "op-raft",
      replicas: 3,
    });
    const url = peerUrls(config, undefined);
    assert.equal(url(0), "http://op-0.op-raft.ops.svc.cluster.local.:7000");
    assert.equal(url(4), "http://op-4.op-raft.ops.svc.cluster.local.:7000");
    assert.equal(
      url(MAX_ORDINALS - 1),
      `http://op-${MAX_ORDINALS - 1}.op-raft.ops.svc.cluster.local.:7000`,
    );
    for (const hostile of [-1, 1.5, MAX_ORDINALS, Number.NaN]) {
      assert.equal(url(hostile), undefined, String(hostile));
    }
  });

  it("knows only RAFT_PEERS in the static setup", () => {
    const config = RaftConfig.forPeerList({
      nodeId: 0,
      peers: "0=10.0.0.1:7000,1=10.0.0.2:7001",
    });
    const url = peerUrls(config, undefined);
    assert.equal(url(1), "http://10.0.0.2:7001");
    assert.equal(url(2), undefined);
  });

  it("asks an injected peerAddress first, for every id", () => {
    const config = RaftConfig.forStatefulSet({
      podName: "op-0",
      namespace: "ops",
      replicas: 1,
    });
    const asked: number[] = [];
    const url = peerUrls(config, (id) => {
      asked.push(id);
      return id < 2 ? `127.0.0.1:${9000 + id}` : undefined;
    });
    assert.equal(url(0), "http://127.0.0.1:9000");
    assert.equal(url(1), "http://127.0.0.1:9001");
    assert.equal(url(1), "http://127.0.0.1:9001");
    assert.equal(url(7), undefined);
    assert.deepEqual(asked, [0, 1, 7]);
  });
});
