import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import {
  DiscoveryConfigError,
  DnsResolutionError,
  type DnsResolver,
  HeadlessServiceDiscovery,
  type HeadlessServiceOptions,
  type Peer,
  type ResolveOptions,
  type SrvRecord,
} from "../../discovery/mod.ts";

type Answer = string[] | SrvRecord[] | Error;

/** An in-memory DNS: "TYPE name." → answer; unknown names throw NotFound like Deno. */
class FakeDns {
  records = new Map<string, Answer>();
  queries: Array<{ name: string; type: string; options?: ResolveOptions }> = [];

  set(type: string, name: string, answer: Answer): void {
    this.records.set(`${type} ${name}`, answer);
  }

  resolver: DnsResolver = ((
    name: string,
    type: string,
    options?: ResolveOptions,
  ) => {
    this.queries.push({ name, type, options });
    const answer = this.records.get(`${type} ${name}`);
    if (answer instanceof Error) return Promise.reject(answer);
    if (answer === undefined) {
      const error = new Error(`no records found for ${name}`);
      error.name = "NotFound";
      return Promise.reject(error);
    }
    return Promise.resolve(structuredClone(answer));
  }) as DnsResolver;
}

const SVC = "raft.ops.svc.cluster.local.";
const SRV = `_raft._tcp.${SVC}`;

function srv(target: string, port = 7000): SrvRecord {
  return { priority: 0, weight: 50, port, target };
}

function discovery(
  dns: FakeDns,
  options: Partial<HeadlessServiceOptions> = {},
): HeadlessServiceDiscovery {
  return new HeadlessServiceDiscovery({
    service: "raft",
    namespace: "ops",
    port: 7000,
    resolver: dns.resolver,
    ...options,
  });
}

describe("HeadlessServiceDiscovery names", () => {
  it("builds the Service DNS name", () => {
    assert.equal(
      discovery(new FakeDns()).dnsName(),
      "raft.ops.svc.cluster.local",
    );
    assert.equal(
      discovery(new FakeDns(), { clusterDomain: "corp.example." }).dnsName(),
      "raft.ops.svc.corp.example",
    );
  });

  it("maps each ordinal to its stable pod address", () => {
    const peers = discovery(new FakeDns(), { port: 9000 }).discoverByOrdinal(
      "my-op",
      3,
    );
    assert.deepEqual([...peers], [
      [0, "my-op-0.raft.ops.svc.cluster.local.:9000"],
      [1, "my-op-1.raft.ops.svc.cluster.local.:9000"],
      [2, "my-op-2.raft.ops.svc.cluster.local.:9000"],
    ]);
  });

  it("rejects invalid replica counts and StatefulSet names", () => {
    const d = discovery(new FakeDns());
    assert.throws(
      () => d.discoverByOrdinal("op", 0),
      /positive integer, found 0/,
    );
    assert.throws(() => d.discoverByOrdinal("op", 1.5), /found 1.5/);
    assert.throws(
      () => d.discoverByOrdinal("Op", 1),
      /StatefulSet name to be a DNS label/,
    );
    assert.throws(
      () => d.discoverByOrdinal("a".repeat(61), 11),
      /pod names of at most 63 characters/,
    );
  });

  it("rejects invalid settings with DiscoveryConfigError", () => {
    const cases: Array<[Partial<HeadlessServiceOptions>, RegExp]> = [
      [{ service: "Raft" }, /service name to be a DNS label.*found "Raft"/],
      [{ namespace: "a.b" }, /namespace to be a DNS label.*found "a.b"/],
      [{ port: 0 }, /port from 1 to 65535, found 0/],
      [{ port: 70000 }, /found 70000/],
      [{ portName: "_raft" }, /port name/],
      [{ statefulSet: "Op" }, /StatefulSet name to be a DNS label/],
      [{ clusterDomain: "bad domain" }, /cluster domain/],
      [{ refreshIntervalMs: 0 }, /positive number of milliseconds, found 0/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => discovery(new FakeDns(), options),
        (error: unknown) => {
          assert.ok(error instanceof DiscoveryConfigError);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });
});

describe("HeadlessServiceDiscovery.resolve", () => {
  it("returns SRV targets with node ids from ordinals and their addresses", async () => {
    const dns = new FakeDns();
    dns.set("SRV", SRV, [
      srv("op-1.raft.ops.svc.cluster.local."),
      srv("op-0.raft.ops.svc.cluster.local."),
    ]);
    dns.set("A", SVC, ["10.0.0.10", "10.0.0.11"]);
    dns.set("A", "op-0.raft.ops.svc.cluster.local.", ["10.0.0.10"]);
    dns.set("AAAA", "op-0.raft.ops.svc.cluster.local.", ["fd00::10"]);
    dns.set("A", "op-1.raft.ops.svc.cluster.local.", ["10.0.0.11"]);
    const peers = await discovery(dns).resolve();
    assert.deepEqual(peers, [
      {
        nodeId: 0,
        host: "op-0.raft.ops.svc.cluster.local",
        port: 7000,
        address: "op-0.raft.ops.svc.cluster.local.:7000",
        addresses: ["10.0.0.10", "fd00::10"],
      },
      {
        nodeId: 1,
        host: "op-1.raft.ops.svc.cluster.local",
        port: 7000,
        address: "op-1.raft.ops.svc.cluster.local.:7000",
        addresses: ["10.0.0.11"],
      },
    ]);
  });

  it("queries only fully qualified names", async () => {
    const dns = new FakeDns();
    dns.set("SRV", SRV, [srv("op-0.raft.ops.svc.cluster.local")]);
    await discovery(dns).resolve();
    assert.ok(dns.queries.length > 0);
    for (const query of dns.queries) {
      assert.ok(
        query.name.endsWith(".") && !query.name.endsWith(".."),
        query.name,
      );
    }
    assert.deepEqual(
      dns.queries.map((q) => `${q.type} ${q.name}`).sort(),
      [
        "A op-0.raft.ops.svc.cluster.local.",
        `A ${SVC}`,
        "AAAA op-0.raft.ops.svc.cluster.local.",
        `AAAA ${SVC}`,
        `SRV ${SRV}`,
      ],
    );
  });

  it("passes the name server and the caller's signal to every query", async () => {
    const dns = new FakeDns();
    const nameServer = { ipAddr: "127.0.0.1", port: 5353 };
    const signal = new AbortController().signal;
    await discovery(dns, { nameServer }).resolve({ signal });
    assert.equal(dns.queries.length, 3);
    for (const query of dns.queries) {
      assert.deepEqual(query.options?.nameServer, nameServer);
      assert.equal(query.options?.signal, signal);
    }
  });

  it("falls back to A/AAAA addresses without node ids when there is no SRV record", async () => {
    const dns = new FakeDns();
    dns.set("A", SVC, ["10.0.0.11", "10.0.0.10"]);
    dns.set("AAAA", SVC, ["fd00::10"]);
    const peers = await discovery(dns).resolve();
    assert.deepEqual(peers.map((p) => [p.nodeId, p.address, p.addresses]), [
      [null, "10.0.0.10:7000", ["10.0.0.10"]],
      [null, "10.0.0.11:7000", ["10.0.0.11"]],
      [null, "[fd00::10]:7000", ["fd00::10"]],
    ]);
  });

  it("returns no peers when the Service has no records yet", async () => {
    assert.deepEqual(await discovery(new FakeDns()).resolve(), []);
  });

  it("treats Node's ENODATA and ENOTFOUND as no records", async () => {
    const dns = new FakeDns();
    dns.set(
      "SRV",
      SRV,
      Object.assign(new Error("queryA ENODATA"), { code: "ENODATA" }),
    );
    dns.set(
      "A",
      SVC,
      Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" }),
    );
    dns.set("AAAA", SVC, ["fd00::1"]);
    const peers = await discovery(dns).resolve();
    assert.deepEqual(peers.map((p) => p.address), ["[fd00::1]:7000"]);
  });

  it("gives a pod that is not in DNS yet an empty address list", async () => {
    const dns = new FakeDns();
    dns.set("SRV", SRV, [srv("op-2.raft.ops.svc.cluster.local.")]);
    const [peer] = await discovery(dns).resolve();
    assert.equal(peer.nodeId, 2);
    assert.deepEqual(peer.addresses, []);
  });

  it("skips hostile SRV answers and duplicate targets", async () => {
    const dns = new FakeDns();
    dns.set("SRV", SRV, [
      srv("."),
      srv("bad_name!.raft.ops.svc.cluster.local."),
      srv("op-0.raft.ops.svc.cluster.local.", 0),
      srv("op-0.raft.ops.svc.cluster.local.", 70000),
      srv("OP-1.raft.ops.svc.cluster.local."),
      srv("op-1.raft.ops.svc.cluster.local.", 7001),
    ]);
    const peers = await discovery(dns).resolve();
    assert.deepEqual(peers.map((p) => [p.nodeId, p.address]), [
      [1, "op-1.raft.ops.svc.cluster.local.:7000"],
    ]);
  });

  it("gives no node id to targets outside the Service or without an ordinal", async () => {
    const dns = new FakeDns();
    dns.set("SRV", SRV, [
      srv("op-0.other.ops.svc.cluster.local."),
      srv("leader.raft.ops.svc.cluster.local."),
      srv("op-3.raft.ops.svc.cluster.local."),
    ]);
    const peers = await discovery(dns).resolve();
    assert.deepEqual(peers.map((p) => [p.nodeId, p.host]), [
      [3, "op-3.raft.ops.svc.cluster.local"],
      [null, "leader.raft.ops.svc.cluster.local"],
      [null, "op-0.other.ops.svc.cluster.local"],
    ]);
  });

  it("gives node ids only to pods of the configured StatefulSet", async () => {
    const dns = new FakeDns();
    dns.set("SRV", SRV, [
      srv("op-0.raft.ops.svc.cluster.local."),
      srv("intruder-0.raft.ops.svc.cluster.local."),
    ]);
    const peers = await discovery(dns, { statefulSet: "op" }).resolve();
    assert.deepEqual(peers.map((p) => [p.nodeId, p.host]), [
      [0, "op-0.raft.ops.svc.cluster.local"],
      [null, "intruder-0.raft.ops.svc.cluster.local"],
    ]);
  });

  it("uses the configured port name in the SRV query", async () => {
    const dns = new FakeDns();
    dns.set("SRV", `_peer._tcp.${SVC}`, [
      srv("op-0.raft.ops.svc.cluster.local.", 7100),
    ]);
    const [peer] = await discovery(dns, { portName: "peer" }).resolve();
    assert.equal(peer.address, "op-0.raft.ops.svc.cluster.local.:7100");
  });

  it("throws DnsResolutionError naming the query when DNS fails", async () => {
    const dns = new FakeDns();
    const timeout = new Error("request timed out");
    timeout.name = "TimedOut";
    dns.set("A", SVC, timeout);
    await assert.rejects(discovery(dns).resolve(), (error: unknown) => {
      assert.ok(error instanceof DnsResolutionError);
      assert.equal(error.query, SVC);
      assert.equal(error.recordType, "A");
      assert.equal(error.cause, timeout);
      assert.match(
        error.message,
        /^Expected a DNS answer for A raft\.ops\.svc\.cluster\.local\., found an error: request timed out$/,
      );
      return true;
    });
  });
});

describe("HeadlessServiceDiscovery.watch", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
  afterEach(() => mock.timers.reset());

  /** Lets pending promise callbacks run (the fake resolver settles in microtasks). */
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  const addresses = (peers: Peer[]) => peers.map((p) => p.address);

  it("yields the first peer set, then only changes, once per interval", async () => {
    const dns = new FakeDns();
    dns.set("A", SVC, ["10.0.0.1"]);
    const stop = new AbortController();
    const watch = discovery(dns, { refreshIntervalMs: 1000 }).watch({
      signal: stop.signal,
    });
    assert.deepEqual(addresses((await watch.next()).value as Peer[]), [
      "10.0.0.1:7000",
    ]);

    const next = watch.next();
    let yielded = false;
    next.then(() => yielded = true);
    await settle();
    const queriesBefore = dns.queries.length;
    mock.timers.tick(999);
    await settle();
    assert.equal(
      dns.queries.length,
      queriesBefore,
      "no query before the interval",
    );
    mock.timers.tick(1);
    await settle();
    assert.equal(
      dns.queries.length,
      queriesBefore + 3,
      "one refresh after the interval",
    );
    assert.equal(yielded, false, "an unchanged peer set is not yielded");

    dns.set("A", SVC, ["10.0.0.1", "10.0.0.2"]);
    mock.timers.tick(1000);
    await settle();
    assert.deepEqual(addresses((await next).value as Peer[]), [
      "10.0.0.1:7000",
      "10.0.0.2:7000",
    ]);
    stop.abort();
    assert.equal((await watch.next()).done, true);
  });

  it("reports a failed refresh to onError and keeps watching", async () => {
    const dns = new FakeDns();
    dns.set("A", SVC, ["10.0.0.1"]);
    const errors: unknown[] = [];
    const stop = new AbortController();
    const watch = discovery(dns, { refreshIntervalMs: 500 }).watch({
      signal: stop.signal,
      onError: (error) => errors.push(error),
    });
    await watch.next();
    const next = watch.next();
    await settle();
    dns.set("A", SVC, new Error("server failure"));
    mock.timers.tick(500);
    await settle();
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof DnsResolutionError);
    dns.set("A", SVC, ["10.0.0.3"]);
    mock.timers.tick(500);
    assert.deepEqual(addresses((await next).value as Peer[]), [
      "10.0.0.3:7000",
    ]);
    stop.abort();
    await watch.return();
  });

  it("ends by throwing when a refresh fails and there is no onError", async () => {
    const dns = new FakeDns();
    dns.set("SRV", SRV, new Error("refused"));
    const watch = discovery(dns).watch();
    await assert.rejects(watch.next(), DnsResolutionError);
    assert.equal((await watch.next()).done, true);
  });

  it("stops waiting at once when the signal aborts during the interval", async () => {
    const dns = new FakeDns();
    dns.set("A", SVC, ["10.0.0.1"]);
    const stop = new AbortController();
    const watch = discovery(dns, { refreshIntervalMs: 60_000 }).watch({
      signal: stop.signal,
    });
    await watch.next();
    const next = watch.next();
    await settle();
    const queries = dns.queries.length;
    stop.abort();
    assert.equal((await next).done, true);
    assert.equal(dns.queries.length, queries);
  });
});
