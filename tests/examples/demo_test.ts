import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runDemo } from "../../examples/demo.ts";
import { startTestControlPlane } from "../../testing/mod.ts";
import { plane, skipUnlessRunnable } from "../_control_plane.ts";

describe(`deno task demo [${plane.kind}]`, {
  skip: skipUnlessRunnable("the demo"),
}, () => {
  it("runs three replicas, fails over after a SIGKILL of the leader, hands over on SIGTERM with a quorum left, and ends cleanly", async () => {
    // On the fake plane the demo starts its own in-process server; on
    // envtest it runs against the real API server's kubeconfig.
    await using controlPlane = plane.kind === "envtest"
      ? await startTestControlPlane({ kind: "envtest" })
      : undefined;
    const dir = await mkdtemp(join(tmpdir(), "demo-test-"));
    await using _dir = {
      [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
    };
    let kubeconfig: string | null = null;
    if (controlPlane) {
      kubeconfig = join(dir, "kubeconfig.json");
      await writeFile(kubeconfig, controlPlane.kubeConfigYaml());
    }
    const lines: string[] = [];
    const result = await runDemo({
      out: (line) => lines.push(line),
      kubeconfig,
      // The test machine is shared: slower ticks keep elections stable.
      tickMs: 200,
    });
    assert.notEqual(result.newLeader, result.firstLeader);
    assert.ok(result.electedAfterMs > 0);
    assert.ok(result.reconciledAfterMs >= result.electedAfterMs);
    assert.deepEqual(result.websites, ["blog", "shop", "docs"]);
    const text = lines.join("\n");
    // Whoever reconciles after the kill led the term it names (the demo
    // prints each replica's "leader in term T"), a term after the killed
    // leader's; which replica that is may change under load.
    const ledTerm = (replica: number, term: number) =>
      assert.match(
        text,
        new RegExp(`\\[replica ${replica}\\] leader in term ${term}$`, "m"),
        `Expected replica ${replica} to have led term ${term}`,
      );
    assert.deepEqual(
      result.reconciledAgain.map((r) => r.name),
      result.websites,
    );
    for (const { name, replica, term } of result.reconciledAgain) {
      assert.notEqual(replica, result.firstLeader);
      assert.ok(term > result.firstTerm, `${name} reconciled in term ${term}`);
      ledTerm(replica, term);
      assert.match(
        text,
        new RegExp(
          `${name}: reconciled again by replica ${replica} \\(term ${term}\\)`,
        ),
      );
    }
    assert.match(text, /Failover: new leader after \d+ ms/);
    assert.match(text, /Scaled blog to 4 replicas/);
    // The killed replica came back before the handover, so the replica
    // handed to leads two of three: a quorum, and it reconciles a change.
    assert.match(
      text,
      new RegExp(
        `\\[replica ${result.firstLeader}\\] ready \\(a voter again\\)`,
      ),
    );
    const { handover } = result;
    assert.notEqual(handover.to, handover.from);
    assert.equal(
      handover.handedTo,
      handover.to,
      "Expected the leader stopped with SIGTERM to hand over to the next leader",
    );
    assert.match(
      text,
      new RegExp(
        `\\[replica ${handover.from}\\] handed leadership to replica ${handover.to}`,
      ),
    );
    // The change after the handover is reconciled in a later term than the
    // stopped leader's, by whoever led it.
    const { replica, term } = handover.reconciledBy;
    assert.notEqual(replica, handover.from);
    assert.ok(term > handover.term, `docs reconciled in term ${term}`);
    ledTerm(replica, term);
    assert.match(
      text,
      new RegExp(
        `docs: changed after the handover, reconciled by replica ${replica} \\(term ${term}\\)`,
      ),
    );
    assert.ok(
      text.indexOf("ready (a voter again)") < text.indexOf("with SIGTERM"),
      "Expected the restart before the handover",
    );
    // The leader stopped with SIGTERM, then the other two.
    assert.equal(lines.filter((l) => /\] stopped$/.test(l)).length, 3);
  });
});
