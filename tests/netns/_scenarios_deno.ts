/**
 * The fault scenarios of the real-network tests, each run against a
 * converged {@linkcode NetCluster} while the test keeps the leader busy
 * (a Website gets a new generation every 200 ms), each ending healed and
 * converged again, each returning what it measured on the shared clock, in
 * milliseconds from the fault. Used by `partition_deno_test.ts` (each once)
 * and `chaos_deno.ts` (`deno task test:netns:chaos`, in random order, many
 * times).
 *
 * @module
 */
import {
  type Line,
  type NetCluster,
  podDnsName,
  WAIT_MS,
  wall,
} from "./_cluster_deno.ts";

/** What one scenario measured, in milliseconds after its fault. */
export interface Figures {
  /** The scenario's name. */
  scenario: string;
  /** The replica that led when the fault began. */
  oldLeader: number;
  /** The replica that led afterwards. */
  newLeader: number;
  /** The fault began (0) … the old leader's guard last said leader. */
  oldGuardEndMs: number | null;
  /** … the old leader last dispatched a write (null: none after the fault). */
  oldLastWriteMs: number | null;
  /** … another replica became leader (Raft role). */
  electedMs: number;
  /** … the new leader's guard first said leader. */
  newGuardStartMs: number;
  /** … the new leader's first write reached the API server. */
  newFirstWriteMs: number;
  /** From the heal (or the new DNS record) until all three agree again. */
  convergedMs: number;
}

/** The Websites the scenarios keep busy. */
export const SITES = ["blog", "shop", "docs"];

/** Creates the Websites and waits until the leader reconciled them all. */
export async function seed(cluster: NetCluster): Promise<void> {
  await cluster.until(
    "one leader all replicas agree on",
    () => cluster.converged(),
  );
  for (const name of SITES) await cluster.command({ op: "create", name });
  await reconciled(cluster);
}

/**
 * Waits (asking the API server every 100 ms, up to `WAIT_MS`) until every
 * Website's latest generation was reconciled.
 */
export async function reconciled(cluster: NetCluster): Promise<void> {
  const deadline = wall() + WAIT_MS;
  while (true) {
    const { sites } = await cluster.command({ op: "sites" });
    const pending =
      (sites as { generation: number; observedGeneration: number }[])
        .filter((s) => s.observedGeneration !== s.generation);
    if (pending.length === 0) return;
    if (wall() > deadline) {
      throw new Error(
        `Expected every Website reconciled within ${WAIT_MS} ms, found ${
          JSON.stringify(pending)
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Bumps a Website every `everyMs` until the returned function is called. */
export function churn(cluster: NetCluster, everyMs = 200): () => Promise<void> {
  let stopped = false;
  let i = 0;
  const loop = (async () => {
    while (!stopped) {
      await cluster.command({ op: "bump", name: SITES[i++ % SITES.length] });
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/** The leader all replicas agree on (waits for convergence). */
export async function stableLeader(cluster: NetCluster): Promise<number> {
  await cluster.until(
    "one leader all replicas agree on",
    () => cluster.converged(),
  );
  return cluster.guardHolder()!;
}

/**
 * Measures around a fault applied to leader `old` at `faultAt`: waits for
 * another replica to be elected and to hold its guard, and for `old`'s
 * guard to have ended; checks that it ended before the election.
 */
async function measureFailover(
  cluster: NetCluster,
  init: { old: number; faultAt: number; scenario: string },
): Promise<Omit<Figures, "convergedMs">> {
  const { old, faultAt, scenario } = init;
  let elected: Line | undefined;
  await cluster.until(`a new leader after ${scenario}`, () => {
    elected = cluster.electedAfter(faultAt, old);
    return elected !== undefined;
  });
  const next = elected!.id!;
  await cluster.until(
    `replica ${next}'s guard after ${scenario}`,
    () => cluster.intervals().some((i) => i.id === next && i.start > faultAt),
  );
  await cluster.until(
    `replica ${old}'s guard to end after ${scenario}`,
    () =>
      cluster.intervals().every((i) =>
        i.id !== old || !i.open || i.start > faultAt
      ),
  );
  const oldInterval = cluster.intervals().findLast((i) =>
    i.id === old && i.start < faultAt
  );
  if (oldInterval && oldInterval.end >= elected!.t) {
    throw new Error(
      `Expected replica ${old}'s guard to end before replica ${next} was elected at ${
        elected!.t
      }, found it said leader until ${oldInterval.end}`,
    );
  }
  const newStart =
    cluster.intervals().find((i) => i.id === next && i.start > faultAt)!.start;
  const oldSends = cluster.linesOf(old).filter((l) =>
    l.event === "send" && l.leader === true && l.t >= faultAt
  );
  let newWrite: Line | undefined;
  await cluster.until(`replica ${next}'s first write after ${scenario}`, () => {
    newWrite = cluster.writes().find((w) =>
      w.replica === next && w.t > faultAt
    );
    return newWrite !== undefined;
  });
  return {
    scenario,
    oldLeader: old,
    newLeader: next,
    oldGuardEndMs: oldInterval ? oldInterval.end - faultAt : null,
    oldLastWriteMs: oldSends.length > 0 ? oldSends.at(-1)!.t - faultAt : null,
    electedMs: elected!.t - faultAt,
    newGuardStartMs: newStart - faultAt,
    newFirstWriteMs: newWrite!.t - faultAt,
  };
}

/** Heals, then waits until all three agree and every Website is reconciled. */
async function healAndConverge(
  cluster: NetCluster,
  heal: () => void,
): Promise<number> {
  heal();
  const healedAt = wall();
  await cluster.until(
    "all three replicas to agree after the heal",
    () => cluster.converged(),
  );
  const convergedMs = wall() - healedAt;
  await reconciled(cluster);
  return convergedMs;
}

/**
 * (1) + (2): the leader's link goes down (it reaches nothing, nothing
 * reaches it), then comes back.
 */
export async function isolateLeader(cluster: NetCluster): Promise<Figures> {
  const old = await stableLeader(cluster);
  const stop = churn(cluster);
  cluster.lab.linkDown(`r${old}`);
  const faultAt = wall();
  try {
    const figures = await measureFailover(cluster, {
      old,
      faultAt,
      scenario: "the leader's link went down",
    });
    await stop();
    const convergedMs = await healAndConverge(
      cluster,
      () => cluster.lab.linkUp(`r${old}`),
    );
    return { ...figures, convergedMs };
  } finally {
    await stop();
  }
}

/** (3): the leader is cut from both peers by blackhole routes; it still reaches the API server. */
export async function raftOnlyCut(cluster: NetCluster): Promise<Figures> {
  const old = await stableLeader(cluster);
  const stop = churn(cluster);
  for (const peer of [0, 1, 2].filter((id) => id !== old)) {
    cluster.lab.cut(`r${old}`, `r${peer}`);
  }
  const faultAt = wall();
  try {
    const figures = await measureFailover(cluster, {
      old,
      faultAt,
      scenario: "the Raft-only cut",
    });
    await stop();
    const convergedMs = await healAndConverge(
      cluster,
      () => cluster.lab.heal(),
    );
    return { ...figures, scenario: "raft-only cut", convergedMs };
  } finally {
    await stop();
  }
}

/**
 * (4): packets from the leader to its peers are refused (`ip rule …
 * prohibit` on the leader's side only); theirs still reach it. Over TCP
 * that stops connections both ways, but the two sides fail differently:
 * the leader's sends fail at once, its peers' wait for their timeouts.
 */
export async function oneWayBlock(cluster: NetCluster): Promise<Figures> {
  const old = await stableLeader(cluster);
  const stop = churn(cluster);
  for (const peer of [0, 1, 2].filter((id) => id !== old)) {
    cluster.lab.block(`r${old}`, `r${peer}`);
  }
  const faultAt = wall();
  try {
    const figures = await measureFailover(cluster, {
      old,
      faultAt,
      scenario: "the one-way block",
    });
    await stop();
    const convergedMs = await healAndConverge(
      cluster,
      () => cluster.lab.heal(),
    );
    return { ...figures, scenario: "one-way block", convergedMs };
  } finally {
    await stop();
  }
}

/** How long the restarted pod's DNS name answers nothing once it runs. */
export const DNS_LATE_MS = 3_000;

/**
 * (5): the leader is killed (SIGKILL) and restarted with a new address;
 * its DNS name answers nothing until {@linkcode DNS_LATE_MS} after the new
 * process started, then the new address. Until then no peer can reach it,
 * so it cannot know the leader; converged counts from the new DNS answer.
 */
export async function restartWithNewAddress(
  cluster: NetCluster,
): Promise<Figures> {
  const old = await stableLeader(cluster);
  const stop = churn(cluster);
  try {
    await cluster.kill(old);
    const faultAt = wall();
    cluster.lab.setRecord(podDnsName(old), null);
    const address = cluster.lab.changeAddress(`r${old}`);
    const proc = cluster.startReplica(old);
    const figures = await measureFailover(cluster, {
      old,
      faultAt,
      scenario: "the leader's restart",
    });
    await cluster.until(
      `replica ${old} restarted`,
      () => proc.lines.some((l) => l.event === "started"),
    );
    await stop();
    const lateBy = faultAt + DNS_LATE_MS - wall();
    if (lateBy > 0) await new Promise((r) => setTimeout(r, lateBy));
    const convergedMs = await healAndConverge(
      cluster,
      () => cluster.lab.setRecord(podDnsName(old), address),
    );
    return { ...figures, scenario: "restart, new IP, DNS late", convergedMs };
  } finally {
    await stop();
  }
}

/**
 * Defect 13: the leader is cut from the API server only (blackhole routes
 * between its host and the API server's); it still reaches its peers. It
 * must hand leadership to a replica that reaches the API server, which
 * then reconciles a Website changed after the cut.
 */
export async function apiCutFromLeader(cluster: NetCluster): Promise<Figures> {
  const old = await stableLeader(cluster);
  cluster.lab.cut(`r${old}`, "api");
  const faultAt = wall();
  const stop = churn(cluster);
  try {
    const figures = await measureFailover(cluster, {
      old,
      faultAt,
      scenario: "the API server cut from the leader",
    });
    await stop();
    const bumped = await cluster.command({ op: "bump", name: SITES[0] });
    await cluster.until(
      `replica ${figures.newLeader} reconciling generation ${bumped.generation} of ${
        SITES[0]
      }`,
      () =>
        cluster.writes().some((w) =>
          w.replica === figures.newLeader && w.t > bumped.t &&
          (w.path as string).includes(`/websites/${SITES[0]}/status`)
        ),
    );
    const convergedMs = await healAndConverge(
      cluster,
      () => cluster.lab.heal(),
    );
    return { ...figures, scenario: "API cut from leader", convergedMs };
  } finally {
    await stop();
  }
}

/** Formats figures as one line of a table. */
export function formatFigures(f: Figures): string {
  const ms = (v: number | null) => v === null ? "-" : `${Math.round(v)}`;
  return `${f.scenario.padEnd(26)} leader ${f.oldLeader}→${f.newLeader}  ` +
    `old guard end ${ms(f.oldGuardEndMs)} ms, old last write ${
      ms(f.oldLastWriteMs)
    } ms, elected ${ms(f.electedMs)} ms, new guard ${
      ms(f.newGuardStartMs)
    } ms, new first write ${ms(f.newFirstWriteMs)} ms; converged ${
      ms(f.convergedMs)
    } ms after the heal`;
}
