/**
 * The leader lease against acknowledgements that arrive late. Seen with
 * real processes (`cluster_process_test.ts` under Node): a SIGSTOPped
 * leader resumed, and a heartbeat response its follower had sent before
 * voting for a new leader reached it only after the HTTP transport's
 * per-peer queue drained, more than a tick after the resume; the lease
 * counted from the arrival, so two guards said "leader" for 14 ms.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CoreCluster } from "../../testing/raft/cores.ts";

const ELECTION = 10;

describe("leader lease and late acknowledgements", () => {
  it("an acknowledgement delivered late does not renew a stale leader's lease while another node leads", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(3);
    // 1 sends a heartbeat; 2 and 3 answer, but the answers wait in a
    // transport queue (1 is paused, as under SIGSTOP).
    net.tick(1, [1]);
    net.deliverOnce();
    const late = net.take((m) => m.to === 1 && m.type === "heartbeatResp");
    assert.equal(late.length, 2);
    net.isolate(1);
    // Meanwhile 2 and 3 elect a new leader, which gains its own lease.
    let other: number | undefined;
    for (let t = 0; t < 4 * ELECTION && other === undefined; t++) {
      net.tick(1, [2, 3]);
      net.deliver();
      other = [2, 3].find((id) =>
        net.core(id).status().role === "leader" &&
        net.core(id).leaseTicks()! < ELECTION - 2
      );
    }
    assert.ok(other !== undefined, "2 or 3 leads with a lease");
    // 1 resumes: it catches up on its ticks, then the old answers arrive.
    net.tick(ELECTION, [1]);
    net.tick(1, [1]);
    for (const m of late) net.core(1).step(m);
    const s = net.core(1).status();
    assert.ok(
      s.role !== "leader" || net.core(1).leaseTicks()! >= ELECTION - 2,
      `node 1 claims a lease (leaseTicks ${
        net.core(1).leaseTicks()
      }) while node ${other} leads term ${
        net.core(other).status().term
      } with leaseTicks ${net.core(other).leaseTicks()}`,
    );
  });
});
