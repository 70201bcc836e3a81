import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runDemo } from "../../examples/demo.ts";

describe("deno task demo", () => {
  it("runs three replicas, fails over after a SIGKILL of the leader, and ends cleanly", async () => {
    const lines: string[] = [];
    const result = await runDemo({
      out: (line) => lines.push(line),
      kubeconfig: null,
      // The test machine is shared: slower ticks keep elections stable.
      tickMs: 200,
    });
    assert.notEqual(result.newLeader, result.firstLeader);
    assert.ok(result.electedAfterMs > 0);
    assert.ok(result.reconciledAfterMs >= result.electedAfterMs);
    assert.deepEqual(result.websites, ["blog", "shop", "docs"]);
    const text = lines.join("\n");
    for (const site of result.websites) {
      assert.match(
        text,
        new RegExp(`${site}: reconciled again by replica ${result.newLeader}`),
      );
    }
    assert.match(text, /Failover: new leader after \d+ ms/);
    assert.match(text, /Scaled blog to 4 replicas/);
    assert.match(text, /handed leadership to replica \d/);
    assert.match(text, /\[replica \d\] ready \(a voter again\)/);
    assert.equal(lines.filter((l) => /\] stopped$/.test(l)).length, 3);
  });
});
