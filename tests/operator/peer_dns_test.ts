/**
 * DNS lookups of the peers, counted by a real DNS server. A child process
 * (`_peer_dns_child.ts`, on the runtime running this test) runs in a
 * private network and mount namespace whose `/etc/resolv.conf` points at
 * dnsmasq on 127.0.0.1 with a Kubernetes pod's search path and `ndots:5`.
 * The leader heartbeats a peer whose name does not exist (a StatefulSet pod
 * stuck Pending) for three seconds; dnsmasq logs every query. Needs root
 * (`unshare`) and dnsmasq, which `.ci/run` installs; skipped otherwise.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runChild, scriptLine, shellQuote } from "../raft/_child_run.ts";
import { CA_CERT } from "./_tls_pod.ts";

const CHILD = new URL("./_peer_dns_child.ts", import.meta.url);
const DURATION_MS = 3000;

const DNSMASQ = ["dnsmasq", "/usr/sbin/dnsmasq"].find((command) =>
  spawnSync(command, ["--version"]).error === undefined
);
const probe = spawnSync("unshare", ["-m", "-n", "true"]);
const skip = DNSMASQ === undefined
  ? "dnsmasq is not installed (.ci/run installs it with apt-get)"
  : probe.status !== 0
  ? `a private network namespace cannot be made (needs root): ${probe.stderr}`
  : false;
if (skip) console.warn(`Skipping the peer DNS lookup test: ${skip}`);

describe("peer lookups against dnsmasq in a private network namespace", {
  skip,
}, () => {
  it("looks a missing pod up by its fully qualified name only, backing off to a few lookups per second", async () => {
    const dir = await mkdtemp(join(tmpdir(), "peer-dns-"));
    try {
      const resolv = join(dir, "resolv.conf");
      const log = join(dir, "dnsmasq.log");
      const ca = join(dir, "ca.pem");
      await writeFile(
        resolv,
        "nameserver 127.0.0.1\n" +
          "search ops.svc.cluster.local svc.cluster.local cluster.local\n" +
          "options ndots:5\n",
      );
      await writeFile(ca, CA_CERT);
      const dnsmasq = [
        DNSMASQ!,
        "--keep-in-foreground",
        "--port=53",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--conf-file=/dev/null",
        "--local=/cluster.local/",
        "--host-record=op-2.raft.ops.svc.cluster.local,127.0.0.1",
        "--log-queries",
        `--log-facility=${log}`,
        "--pid-file=",
      ].map(shellQuote).join(" ");
      const script = [
        "set -e",
        "ip link set lo up",
        `mount --bind ${shellQuote(resolv)} /etc/resolv.conf`,
        `${dnsmasq} &`,
        "dns=$!",
        // Until dnsmasq answers (a deadline, not a pause).
        "i=0",
        "until getent hosts op-2.raft.ops.svc.cluster.local. >/dev/null; do " +
        "i=$((i + 1)); [ $i -lt 200 ] || exit 3; sleep 0.05; done",
        `echo '{"ready":'$(wc -l < ${shellQuote(log)})'}'`,
        `DENO_NO_UPDATE_CHECK=1 DENO_CERT=${
          shellQuote(ca)
        } NODE_EXTRA_CA_CERTS=${shellQuote(ca)} ${
          scriptLine(CHILD, { durationMs: DURATION_MS })
        }`,
        "kill $dns",
      ].join("\n");
      const result = await runChild([
        "unshare",
        "-m",
        "-n",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
      ]);
      const ready = result.lines.find((l) => "ready" in l);
      const report = result.lines.find((l) => "delivered" in l);
      assert.ok(
        ready !== undefined && report !== undefined,
        `Expected the child's report, found exit ${result.code}: ${result.stderr}`,
      );
      const lines = (await readFile(log, "utf8")).split("\n")
        .slice(ready.ready as number);
      const asked = lines.map((l) => /query\[(\w+)\] (\S+)/.exec(l))
        .filter((m) => m !== null).map((m) => ({ type: m![1], name: m![2] }));
      const missing = asked.filter((q) => q.name.startsWith("op-1."));
      const perSecond = missing.length / (DURATION_MS / 1000);
      console.log(
        `lookups of the missing pod: ${missing.length} in ${DURATION_MS} ms (${
          perSecond.toFixed(1)
        }/s); of all names: ${asked.length}`,
      );
      assert.deepEqual(
        [...new Set(missing.map((q) => q.name))],
        ["op-1.raft.ops.svc.cluster.local"],
        "only the fully qualified name is asked, never with a search domain",
      );
      assert.ok(
        perSecond <= 10,
        `Expected at most 10 lookups per second of the missing pod, found ${
          perSecond.toFixed(1)
        } (${missing.length} queries)`,
      );
      const urls = report.urls as string[];
      assert.match(
        urls[0],
        /^http:\/\/op-1\.raft\.ops\.svc\.cluster\.local\.:7000$/,
      );
      assert.ok(
        (report.delivered as number) > 0,
        "the existing pod got its heartbeats by its fully qualified name",
      );
      assert.ok(
        (report.tlsDelivered as number) > 0,
        "and over TLS, whose certificate names it without the dot",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
