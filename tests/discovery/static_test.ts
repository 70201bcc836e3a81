import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DiscoveryConfigError, StaticDiscovery } from "../../discovery/mod.ts";

describe("StaticDiscovery", () => {
  it("returns the fixed peers sorted by node id", async () => {
    const discovery = new StaticDiscovery(
      new Map([[2, "host-c:7002"], [0, "10.0.0.1:7000"], [
        1,
        "[fd00::1]:7001",
      ]]),
    );
    assert.deepEqual(await discovery.resolve(), [
      {
        nodeId: 0,
        host: "10.0.0.1",
        port: 7000,
        address: "10.0.0.1:7000",
        addresses: ["10.0.0.1"],
      },
      {
        nodeId: 1,
        host: "fd00::1",
        port: 7001,
        address: "[fd00::1]:7001",
        addresses: ["fd00::1"],
      },
      {
        nodeId: 2,
        host: "host-c",
        port: 7002,
        address: "host-c:7002",
        addresses: [],
      },
    ]);
  });

  it("accepts a record of id to address", () => {
    const discovery = new StaticDiscovery({ 1: "b:2", 0: "a:1" });
    assert.deepEqual([...discovery.peers()], [[0, "a:1"], [1, "b:2"]]);
  });

  it("hands out copies that callers cannot use to change it", async () => {
    const discovery = new StaticDiscovery({ 0: "10.0.0.1:7000" });
    const [peer] = await discovery.resolve();
    peer.addresses.push("6.6.6.6");
    peer.port = 1;
    const [again] = await discovery.resolve();
    assert.deepEqual(again.addresses, ["10.0.0.1"]);
    assert.equal(again.port, 7000);
  });

  it("rejects with the signal's reason when already aborted", async () => {
    const controller = new AbortController();
    const reason = new Error("stopped");
    controller.abort(reason);
    await assert.rejects(
      new StaticDiscovery({ 0: "a:1" }).resolve({ signal: controller.signal }),
      (error) => error === reason,
    );
  });

  it("parses the RAFT_PEERS format, ignoring spaces", () => {
    const discovery = StaticDiscovery.parse(
      " 0=host-a:7000 , 1=host-b.example.com:7001,2=[::1]:7002",
    );
    assert.deepEqual([...discovery.peers()], [
      [0, "host-a:7000"],
      [1, "host-b.example.com:7001"],
      [2, "[::1]:7002"],
    ]);
  });

  it("accepts fully qualified host names (a trailing dot) and keeps them", () => {
    const peers = StaticDiscovery.parse(
      "0=op-0.raft.ops.svc.cluster.local.:7000,1=op-1.raft.ops.svc.cluster.local:7000",
    ).peers();
    assert.deepEqual([...peers.values()], [
      "op-0.raft.ops.svc.cluster.local.:7000",
      "op-1.raft.ops.svc.cluster.local:7000",
    ]);
    assert.throws(
      () => StaticDiscovery.parse("0=op-0..:7000"),
      DiscoveryConfigError,
    );
  });

  it("rejects malformed peer lists with a clear error", () => {
    const cases: Array<[string, RegExp]> = [
      ["", /Expected a peer entry "<nodeId>=<host>:<port>", found ""/],
      ["0=a:7000,", /found ""/],
      ["x=a:7000", /found "x=a:7000"/],
      ["-1=a:7000", /found "-1=a:7000"/],
      ["01=a:7000", /found "01=a:7000"/],
      ["0=a:7000,0=b:7000", /Expected each node id once, found node 0 twice/],
      ["0=a", /address of node 0 to be "host:port".*found "a"/],
      ["0=a:0", /found "a:0"/],
      ["0=a:65536", /found "a:65536"/],
      ["0=::1:7000", /found "::1:7000"/],
      ["0=[nothost]:7000", /found "\[nothost\]:7000"/],
      ["0=bad_host:7000", /found "bad_host:7000"/],
      ["0=a:70x", /found "a:70x"/],
    ];
    for (const [list, message] of cases) {
      assert.throws(() => StaticDiscovery.parse(list), (error: unknown) => {
        assert.ok(error instanceof DiscoveryConfigError, list);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  it("rejects an empty map and invalid ids", () => {
    assert.throws(() => new StaticDiscovery(new Map()), /at least one peer/);
    assert.throws(
      () => new StaticDiscovery(new Map([[1.5, "a:1"]])),
      /non-negative integer, found 1.5/,
    );
    assert.throws(
      () => new StaticDiscovery(new Map([[-1, "a:1"]])),
      /found -1/,
    );
  });
});
