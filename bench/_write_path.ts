/**
 * The breakdown of one commit along the write path, from the stages that
 * `raft/trace.ts` records in each process (stamped on the shared wall
 * clock): for each entry a single client wrote, when it reached each stage
 * on the leader and on the follower whose acknowledgement completed the
 * quorum, and the median time between consecutive stages.
 *
 * @module
 */
import type { TraceEvent } from "../raft/trace.ts";

/** One step of the critical path: its name and the stages it spans. */
interface Step {
  name: string;
  /** The stage it ends at, on the leader (`L`) or the follower (`F`). */
  node: "L" | "F";
  stage: string;
  /** For transport stages: the peer named is the other node. */
  peer?: boolean;
}

/** The critical path of a commit, in order; each step ends at its stage. */
const PATH: readonly Step[] = [
  {
    name: "client → leader's loop takes the proposal",
    node: "L",
    stage: "propose",
  },
  { name: "proposal → Ready handed out", node: "L", stage: "ready" },
  {
    name: "Ready → appends handed to the transport (before L's write)",
    node: "L",
    stage: "send",
  },
  {
    name: "transport: the frame written on the stream to F",
    node: "L",
    stage: "post",
    peer: true,
  },
  {
    name: "stream → F has read the frame's header",
    node: "F",
    stage: "arrived",
    peer: true,
  },
  {
    name: "F reads and verifies the rest of the frame",
    node: "F",
    stage: "verified",
    peer: true,
  },
  { name: "frame → follower's loop steps it", node: "F", stage: "step" },
  { name: "step → follower's Ready", node: "F", stage: "ready" },
  { name: "follower's write + fdatasync", node: "F", stage: "saved" },
  {
    name: "follower's saved → acknowledgement to the transport",
    node: "F",
    stage: "send",
  },
  {
    name: "F's transport: the frame written on its stream to L",
    node: "F",
    stage: "post",
    peer: true,
  },
  {
    name: "stream → L has read the frame's header",
    node: "L",
    stage: "arrived",
    peer: true,
  },
  {
    name: "L reads and verifies the rest of the frame",
    node: "L",
    stage: "verified",
    peer: true,
  },
  {
    name: "frame → leader's loop steps the acknowledgement",
    node: "L",
    stage: "step",
    peer: true,
  },
  {
    name: "acknowledgement → commit handed out",
    node: "L",
    stage: "committed",
  },
  {
    name: "commit → applied, the client's promise resolved",
    node: "L",
    stage: "applied",
  },
];

/** The breakdown: per step of {@linkcode PATH}, the median in ms. */
export interface Breakdown {
  samples: number;
  steps: { name: string; p50: number }[];
  /** From the client's call until the entry was applied, median. */
  total: number;
  /** The leader's own write + fdatasync (off the critical path when it overlaps). */
  leaderSync: number;
  /** Proposal → the leader's own write is synced, median. */
  leaderSynced: number;
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Computes the breakdown from every node's events; `leader` proposed the
 * entries, `quorum` is how many voters commit one.
 */
export function breakdown(
  events: readonly TraceEvent[],
  options: { leader: number; quorum: number },
): Breakdown {
  const { leader, quorum } = options;
  const byNode = new Map<number, TraceEvent[]>();
  for (const e of events) {
    let list = byNode.get(e.node);
    if (list === undefined) byNode.set(e.node, list = []);
    list.push(e);
  }
  for (const list of byNode.values()) list.sort((a, b) => a.at - b.at);
  const first = (
    node: number,
    want: { stage: string; index: number; after: number; peer?: number },
  ): number => {
    for (const e of byNode.get(node) ?? []) {
      if (
        e.at >= want.after && e.stage === want.stage && e.index >= want.index &&
        (want.peer === undefined || e.peer === want.peer)
      ) return e.at;
    }
    return NaN;
  };
  const followers = [...byNode.keys()].filter((id) => id !== leader);
  const durations: number[][] = PATH.map(() => []);
  const totals: number[] = [];
  const syncs: number[] = [];
  const synced: number[] = [];
  for (const call of byNode.get(leader) ?? []) {
    if (call.stage !== "call") continue;
    const index = call.index;
    const propose = first(leader, { stage: "propose", index, after: 0 });
    // The follower whose acknowledgement completed the quorum.
    const acks = followers.map((f) => ({
      f,
      at: first(leader, { stage: "step", index, after: propose, peer: f }),
    })).filter((a) => !Number.isNaN(a.at)).sort((a, b) => a.at - b.at);
    const critical = acks[quorum - 2];
    if (critical === undefined) continue;
    const f = critical.f;
    let at = call.at;
    const times: number[] = [];
    for (const step of PATH) {
      const node = step.node === "L" ? leader : f;
      const peer = step.peer === true
        ? (step.node === "L" ? f : leader)
        : undefined;
      const t = first(node, { stage: step.stage, index, after: at, peer });
      times.push(t);
      if (!Number.isNaN(t)) at = t;
    }
    if (times.some(Number.isNaN)) continue;
    let previous = call.at;
    times.forEach((t, i) => {
      durations[i].push(t - previous);
      previous = t;
    });
    totals.push(times[times.length - 1] - call.at);
    const ready = first(leader, { stage: "ready", index, after: propose });
    const saved = first(leader, { stage: "saved", index, after: ready });
    syncs.push(saved - ready);
    synced.push(saved - propose);
  }
  return {
    samples: totals.length,
    steps: PATH.map((s, i) => ({ name: s.name, p50: median(durations[i]) })),
    total: median(totals),
    leaderSync: median(syncs),
    leaderSynced: median(synced),
  };
}

/** The breakdown as a Markdown table. */
export function breakdownTable(b: Breakdown): string {
  const rows = b.steps.map((s, i) =>
    `| ${i + 1} | ${s.name} | ${s.p50.toFixed(3)} |`
  );
  return [
    "| # | step (critical path: leader L, the follower F that completed the quorum) | p50 ms |",
    "| ---: | --- | ---: |",
    ...rows,
    `| | **client's call → applied (median of the sum)** | **${
      b.total.toFixed(3)
    }** |`,
    `| | beside it: the leader's own write + fdatasync (Ready → synced) | ${
      b.leaderSync.toFixed(3)
    } |`,
    "",
    `${b.samples} commits of one client; medians per step (they need not add up to the median of the sum).`,
  ].join("\n");
}
