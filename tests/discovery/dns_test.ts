/**
 * Discovery against a real DNS server: dnsmasq on 127.0.0.1 serving the
 * records a headless Service with `publishNotReadyAddresses: true` has in
 * CoreDNS. `.ci/run` installs dnsmasq; without it these tests are skipped.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { resolveDns } from "../../platform/mod.ts";
import { HeadlessServiceDiscovery, RaftConfig } from "../../discovery/mod.ts";

const DOMAIN = "cluster.local";
const PODS = [
  { name: "op-0", ipv4: "10.0.0.10", ipv6: "fd00::10" },
  { name: "op-1", ipv4: "10.0.0.11" },
  { name: "op-2", ipv4: "10.0.0.12" },
];

/** dnsmasq flags: one A (and AAAA) per pod, ready or not, and SRV per pod. */
function headlessServiceRecords(service: string, namespace: string): string[] {
  const svc = `${service}.${namespace}.svc.${DOMAIN}`;
  const flags: string[] = [];
  for (const pod of PODS) {
    const addrs = [pod.ipv4, pod.ipv6].filter(Boolean).join(",");
    flags.push(`--host-record=${pod.name}.${svc},${addrs}`);
    flags.push(`--host-record=${svc},${addrs}`);
    flags.push(`--srv-host=_raft._tcp.${svc},${pod.name}.${svc},7000,0,33`);
  }
  return flags;
}

const DNSMASQ = ["dnsmasq", "/usr/sbin/dnsmasq"].find((command) =>
  spawnSync(command, ["--version"]).error === undefined
);
const skip = DNSMASQ === undefined
  ? "dnsmasq is not installed (.ci/run installs it with apt-get)"
  : false;
if (skip) console.warn(`Skipping the DNS discovery tests: ${skip}`);

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Starts dnsmasq; resolves once it logged "started", rejects if it exits or the deadline passes. */
function startDnsmasq(port: number, records: string[]): Promise<ChildProcess> {
  const child = spawn(DNSMASQ as string, [
    "--no-daemon",
    `--port=${port}`,
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    "--conf-file=/dev/null",
    // Authoritative for the cluster domain, like CoreDNS: unknown names get
    // NXDOMAIN (without it dnsmasq answers REFUSED, which Node reports as
    // EREFUSED rather than "no records").
    `--local=/${DOMAIN}/`,
    "--pid-file=",
    "--log-facility=-",
    ...records,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let log = "";
    const deadline = setTimeout(() => {
      child.kill();
      reject(
        new Error(`Expected dnsmasq to start within 10 s, found log: ${log}`),
      );
    }, 10_000);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      log += chunk;
      if (log.includes("started, version")) {
        clearTimeout(deadline);
        resolve(child);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(deadline);
      reject(
        new Error(
          `Expected dnsmasq to keep running, found it exited with ${code}: ${log}`,
        ),
      );
    });
    child.once("error", (error) => {
      clearTimeout(deadline);
      reject(error);
    });
  });
}

/** Polls one query until dnsmasq answers it, with a deadline. */
async function waitForAnswer(
  nameServer: { ipAddr: string; port: number },
  name: string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const answer = await resolveDns(name, "A", {
        nameServer,
        signal: AbortSignal.timeout(500),
      });
      if (answer.length > 0) return;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(
    `Expected dnsmasq to answer ${name} within 10 s, found ${lastError}`,
  );
}

describe("discovery against dnsmasq on loopback", { skip }, () => {
  let dnsmasq: ChildProcess | undefined;
  let nameServer: { ipAddr: string; port: number };

  before(async () => {
    const records = [
      ...headlessServiceRecords("raft", "ops"),
      `--host-record=plain.ops.svc.${DOMAIN},10.0.1.1`,
      `--host-record=plain.ops.svc.${DOMAIN},10.0.1.2`,
    ];
    let lastError: unknown;
    for (let attempt = 0; attempt < 5 && dnsmasq === undefined; attempt++) {
      const port = await freeUdpPort();
      try {
        dnsmasq = await startDnsmasq(port, records);
        nameServer = { ipAddr: "127.0.0.1", port };
      } catch (error) {
        lastError = error;
      }
    }
    if (dnsmasq === undefined) throw lastError;
    await waitForAnswer(nameServer, `raft.ops.svc.${DOMAIN}.`);
  });

  after(async () => {
    if (dnsmasq === undefined || dnsmasq.exitCode !== null) return;
    const exited = new Promise((resolve) => dnsmasq!.once("exit", resolve));
    dnsmasq.kill("SIGTERM");
    await exited;
  });

  const discovery = (service: string) =>
    new HeadlessServiceDiscovery({
      service,
      namespace: "ops",
      port: 7000,
      nameServer,
    });

  it("finds every pod, ready or not, with node ids from SRV targets", async () => {
    const peers = await discovery("raft").resolve();
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
      {
        nodeId: 2,
        host: "op-2.raft.ops.svc.cluster.local",
        port: 7000,
        address: "op-2.raft.ops.svc.cluster.local.:7000",
        addresses: ["10.0.0.12"],
      },
    ]);
  });

  it("agrees with the ordinal addresses RaftConfig computes", async () => {
    const config = RaftConfig.forStatefulSet({
      podName: "op-1",
      namespace: "ops",
      service: "raft",
      replicas: 3,
    });
    const peers = await discovery("raft").resolve();
    assert.deepEqual(
      peers.map((p) => [p.nodeId, p.address]),
      [...config.peers],
    );
  });

  it("serves the Service's A and AAAA records for every pod", async () => {
    const name = "raft.ops.svc.cluster.local.";
    const v4 = await resolveDns(name, "A", { nameServer });
    const v6 = await resolveDns(name, "AAAA", { nameServer });
    assert.deepEqual(v4.sort(), ["10.0.0.10", "10.0.0.11", "10.0.0.12"]);
    assert.deepEqual(v6, ["fd00::10"]);
  });

  it("falls back to A records without node ids when the Service has no SRV records", async () => {
    const peers = await discovery("plain").resolve();
    assert.deepEqual(peers.map((p) => [p.nodeId, p.address]), [
      [null, "10.0.1.1:7000"],
      [null, "10.0.1.2:7000"],
    ]);
  });

  it("returns no peers for a Service that has no records", async () => {
    assert.deepEqual(await discovery("absent").resolve(), []);
  });
});
