/**
 * One run of the linearizability test: real node processes
 * (`testing/raft/_node_process.ts`) on loopback, their Raft traffic through
 * cuttable proxies, concurrent clients recording a history of gets, puts
 * and compare-and-sets, a nemesis injecting faults, then the checker
 * (`testing/linearizability/`) on the history.
 *
 * How outcomes are recorded (getting this wrong makes the checker miss bugs
 * or report false ones):
 *
 * - Times are `performance.now()` of this process, the one clock of every
 *   client: the invocation just before the command is written to the node's
 *   stdin, the completion when its answer is read.
 * - An answer is a completed operation: a get's value, a put's `ok`, a
 *   compare-and-set's `ok: true | false` (a failed one had no effect).
 * - A write refused with `proposed: false` (the node was not the leader and
 *   handed nothing to Raft) certainly had no effect: discarded.
 * - A write with no answer (timeout, the node killed or paused) or a
 *   failure once proposed (leadership lost before it applied: it may still
 *   commit) is indeterminate: completion at infinity, output unknown.
 * - A read that failed or got no answer is discarded: a read has no effect.
 *
 * @module
 */
import {
  checkLinearizability,
  type Operation,
  type PartitionResult,
  type RegisterInput,
  registerModel,
  type RegisterOutput,
  type Verdict,
} from "../../testing/mod.ts";
import {
  type NodeEvent,
  ProcessCluster,
} from "../../testing/raft/processes.ts";
import { Prng } from "../../testing/raft/random.ts";
import {
  delay,
  FAULT_KINDS,
  type FaultKind,
  Nemesis,
  type PartitionVariant,
} from "./_nemesis.ts";
import type { FaultRecord } from "./_nemesis.ts";
import { LinkProxies } from "./_proxy.ts";
import { Workload } from "./_workload.ts";
import { KeyedHistory } from "./_history.ts";

/** Options of {@linkcode runJepsen}. */
export interface JepsenOptions {
  /** Seeds the nemesis and the workload. */
  seed: number;
  /** Milliseconds of clients under faults. */
  durationMs: number;
  /** Node processes (3 or 5). */
  nodes?: number;
  /**
   * `file` (default), or `memory`: a killed node restarts empty and
   * rejoins. Memory storage forgets acknowledged entries, so a lost write is
   * possible when the nodes that held it are killed in turn
   * (`raft/README.md`, Storage guarantees).
   */
  storage?: "file" | "memory";
  /** Concurrent clients doing gets, puts and compare-and-sets (default 6). */
  clients?: number;
  /**
   * Concurrent clients doing only gets (default 2): they never wait on a
   * write that hangs on a cut-off leader, so reads go on through every fault.
   */
  readers?: number;
  /** `local`: the broken build whose reads skip the read barrier. */
  reads?: "barrier" | "local" | "leader-local";
  /** Fault kinds to inject (default all). */
  faults?: readonly FaultKind[];
  /** How often a fault aims at the leader (default 0.5). */
  leaderShare?: number;
  /** Partition variants (default all). */
  partitions?: readonly PartitionVariant[];
  /** Faults with a duration at once (default 2). */
  maxActiveFaults?: number;
  /** Gap between faults, `[min, max]` ms (default `[500, 2000]`). */
  faultGapMs?: [number, number];
  /** Duration of a fault, `[min, max]` ms (default `[1000, 3000]`). */
  faultDurationMs?: [number, number];
  /** A client's operation without an answer after this is given up (default 500). */
  opTimeoutMs?: number;
  /** Keys in use at once (default 4). */
  activeKeys?: number;
  /** Operations per key before it is retired (default 250). */
  opsPerKey?: number;
  /** Share of operations sent to a random node instead of the leader (default 0.2). */
  randomNodeShare?: number;
  /** Snapshot after this many applied entries (default 200: often, so that lagging nodes get snapshots). */
  snapshotEvery?: number;
  /** Time allowed to the checker (default 120 s). */
  checkTimeoutMs?: number;
  /** Progress and fault lines (default: none). */
  log?: (line: string) => void;
}

/** Counts of one kind of operation by outcome. */
export interface OutcomeCounts {
  /** Answered (for a compare-and-set: it swapped). */
  ok: number;
  /** A compare-and-set answered that it did not swap. */
  failed: number;
  /** No answer, or failed once proposed: in the history as indeterminate. */
  indeterminate: number;
  /** Certainly without effect: left out of the history. */
  discarded: number;
}

/** What a run did and what the checker said. */
export interface JepsenSummary {
  seed: number;
  nodes: number;
  storage: "file" | "memory";
  clients: number;
  readers: number;
  reads: "barrier" | "local" | "leader-local";
  /** Seconds under faults. */
  seconds: number;
  /** Operations in the history the checker read. */
  operations: number;
  /** Per operation kind. */
  byOp: Record<RegisterInput["op"], OutcomeCounts>;
  /** Indeterminate operations in the history. */
  indeterminate: number;
  /** Operations discarded (certainly without effect). */
  discarded: number;
  /** Per key: operations and indeterminate ones. */
  keys: { key: string; operations: number; indeterminate: number }[];
  /**
   * Faults injected per kind, and how many took effect (a transfer that
   * handed over, a membership change that removed and re-added; the other
   * kinds always do).
   */
  faults: Record<FaultKind, { injected: number; effective: number }>;
  /** Terms in which some node became leader. */
  leaderTerms: number;
  /** Snapshots taken, and installed (a node's state replaced by one). */
  snapshots: { taken: number; installed: number };
  /** Every fault, in order. */
  faultLog: FaultRecord[];
  /** Milliseconds the checker took, and its search steps. */
  checkerMs: number;
  checkerSteps: number;
  verdict: Verdict;
  /** The checker's explanation unless `ok`. */
  explanation?: string;
  /**
   * On a violation: the faults active while the stale read ran, or, when no
   * read is to blame, while the checker's blocked operation ran.
   */
  faultsDuring?: FaultRecord[];
  /**
   * On a violation: the checker's verdict on the violating key's history
   * without its reads. `ok` says the writes are linearizable and a read is
   * to blame (the checker's blocked operation may still be a write: which
   * operation its search gets stuck on is an accident of the search).
   */
  writesAlone?: Verdict;
  /**
   * When the writes alone are linearizable: the first read, by invocation,
   * whose addition to them leaves no valid order, and who answered it.
   */
  staleRead?: StaleRead;
  /** Problems besides the verdict: node crashes, a cluster that never recovered. */
  problems: string[];
}

/** A read that saw an old value, and who answered it. */
export interface StaleRead {
  /** The read, as the checker describes operations. */
  operation: string;
  /** The node that answered (known for the broken builds' reads). */
  node?: number;
  /** The term it answered in (known for the broken builds' reads). */
  term?: number;
  /**
   * A leader of a later term than the one the read was answered in,
   * announced before the read was invoked: the answering node was a deposed
   * leader that had not heard of it.
   */
  newerLeader?: { id: number; term: number; atMs: number };
}

/** A broken read's answer: which node, in which term, between which times. */
interface AnsweredRead {
  client: number;
  fromMs: number;
  toMs: number;
  node: number;
  term: number;
}

const RESULT_TIMEOUT_MS = 30_000;
const READER_PAUSE_MS = 2;

/** Runs the test once. */
export async function runJepsen(
  options: JepsenOptions,
): Promise<JepsenSummary> {
  const nodes = options.nodes ?? 3;
  const storage = options.storage ?? "file";
  const clients = options.clients ?? 6;
  const readers = options.readers ?? 2;
  const reads = options.reads ?? "barrier";
  const opTimeoutMs = options.opTimeoutMs ?? 500;
  const randomShare = options.randomNodeShare ?? 0.2;
  const log = options.log ?? (() => {});
  const ids = Array.from({ length: nodes }, (_, i) => i);
  const root = new Prng(options.seed);
  const nemesisRng = root.fork();
  const workloadRng = root.fork();
  const routeRng = root.fork();
  const problems: string[] = [];

  const cluster = await ProcessCluster.create({
    voters: ids,
    storage,
    // kill -9 does not lose what a process wrote to the page cache; the
    // nemesis never crashes the machine, so fsync would only slow the run.
    fsync: false,
    snapshotEvery: options.snapshotEvery ?? 200,
    proxied: true,
    reads,
  });
  const proxies = await LinkProxies.start(ids, cluster.dir);
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;

  // Who leads, as the nodes report it: the highest term a running node leads.
  const roles = new Map<number, { role: string; term: number }>();
  const leaderTerms = new Set<number>();
  // Every leader as it announced itself, in milliseconds since the run
  // began (the history's clock): a deposed leader's read is told from it.
  const leaderships: { id: number; term: number; atMs: number }[] = [];
  const snapshots = { taken: 0, installed: 0 };
  const unsubscribe = cluster.onEvent((e) => {
    if (e.event === "role") {
      roles.set(e.id, { role: e.role as string, term: e.term as number });
      if (e.role === "leader") {
        leaderTerms.add(e.term as number);
        leaderships.push({
          id: e.id,
          term: e.term as number,
          atMs: performance.now() - started,
        });
      }
    } else if (e.event === "snapshot") snapshots.taken++;
    else if (e.event === "restore") snapshots.installed++;
  });
  const leader = (): number | null => {
    let best: number | null = null;
    let term = -1;
    for (const [id, r] of roles) {
      if (r.role === "leader" && r.term > term && cluster.procs.has(id)) {
        best = id;
        term = r.term;
      }
    }
    return best;
  };

  const killing = new Set<number>();
  let closing = false;
  const watchExit = (id: number) => {
    const p = cluster.procs.get(id)!;
    p.exited.then((code) => {
      if (!killing.has(id) && !closing) {
        const problem = `node ${id} exited on its own (code ${code}, ` +
          `signal ${p.child.signalCode}) at ${elapsed().toFixed(1)} s`;
        problems.push(problem);
        log(problem);
        // Gone: the final heal starts it again.
        if (cluster.procs.get(id) === p) cluster.procs.delete(id);
      }
    });
  };
  const start = async (id: number) => {
    const p = cluster.start(id);
    watchExit(id);
    await p.waitFor((e) => e.event === "listening", RESULT_TIMEOUT_MS);
  };
  const kill = async (id: number) => {
    killing.add(id);
    await cluster.kill(id);
    roles.delete(id);
    killing.delete(id);
  };

  /** Waits for the next role event, at most `capMs`: pacing for retries. */
  const nextRoleEvent = (capMs: number) =>
    cluster.waitFor((e) => e.event === "role", {
      since: cluster.events.length,
      timeoutMs: capMs,
    }).then(() => {}, () => {});

  const onLeader = async (
    cmd: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<NodeEvent> => {
    const deadline = performance.now() + timeoutMs;
    let last: NodeEvent = {
      event: "result",
      id: -1,
      t: 0,
      error: "NoLeader",
      message: "no leader found in time",
    };
    while (performance.now() < deadline) {
      const id = leader();
      const p = id === null ? undefined : cluster.procs.get(id);
      if (p === undefined) {
        await nextRoleEvent(250);
        continue;
      }
      try {
        last = await p.request(
          cmd,
          Math.max(
            1,
            Math.min(RESULT_TIMEOUT_MS, deadline - performance.now()),
          ),
        );
      } catch (error) {
        last = {
          event: "result",
          id: p.id,
          t: 0,
          error: (error as Error).name,
          message: (error as Error).message,
        };
      }
      if (last.error === undefined) return last;
      await nextRoleEvent(250);
    }
    return last;
  };

  // Milliseconds since the run began, on this process's monotonic clock.
  const recorder = new KeyedHistory(() => performance.now() - started);
  // The broken builds' reads, to name who answered a stale one.
  const answeredReads: AnsweredRead[] = [];
  const workload = new Workload(workloadRng, {
    activeKeys: options.activeKeys ?? 4,
    opsPerKey: options.opsPerKey ?? 250,
    onRetire: (key) => recorder.retire(key),
  });
  const zero = () => ({ ok: 0, failed: 0, indeterminate: 0, discarded: 0 });
  const byOp = { get: zero(), put: zero(), cas: zero() };
  const count = (op: RegisterInput["op"], outcome: keyof OutcomeCounts) =>
    byOp[op][outcome]++;

  /** Runs one operation against node `target` and records it. */
  const perform = async (
    client: number,
    input: RegisterInput,
    target: number,
  ): Promise<"ok" | "refused" | "unknown"> => {
    const p = cluster.procs.get(target);
    if (p === undefined) return "refused";
    const fromMs = performance.now() - started;
    const handle = recorder.invoke(client, input);
    let answer: NodeEvent;
    const recorded = () => workload.recorded(input.key);
    try {
      answer = await p.request({ ...input }, opTimeoutMs);
    } catch {
      if (input.op === "get") {
        recorder.discard(handle);
        count("get", "discarded");
        return "refused";
      }
      recorder.indeterminate(handle);
      recorded();
      count(input.op, "indeterminate");
      return "unknown";
    }
    if (answer.error === undefined) {
      recorded();
      if (input.op === "get") {
        const value = answer.value as string | null;
        recorder.complete(handle, { value });
        workload.observe(input.key, value);
        count("get", "ok");
        if (reads !== "barrier") {
          answeredReads.push({
            client,
            fromMs,
            toMs: performance.now() - started,
            node: target,
            term: answer.term as number,
          });
        }
      } else if (input.op === "put") {
        recorder.complete(handle, {});
        workload.observe(input.key, input.value);
        count("put", "ok");
      } else {
        const ok = answer.ok === true;
        recorder.complete(handle, { ok });
        if (ok) workload.observe(input.key, input.value);
        count("cas", ok ? "ok" : "failed");
      }
      return "ok";
    }
    if (input.op === "get" || answer.proposed === false) {
      recorder.discard(handle);
      count(input.op, "discarded");
      return "refused";
    }
    recorder.indeterminate(handle);
    recorded();
    count(input.op, "indeterminate");
    return "unknown";
  };

  /**
   * The believed leader, a random node when none is known, or on purpose
   * (`random`: a refusal is expected there) a random node now and then.
   */
  const route = (): { target: number; random: boolean } | undefined => {
    const running = [...cluster.procs.keys()];
    if (running.length === 0) return undefined;
    const target = running[Math.floor(routeRng.next() * running.length)];
    const l = leader();
    if (l === null) return { target, random: false };
    return routeRng.chance(randomShare)
      ? { target, random: true }
      : { target: l, random: false };
  };

  let stopClients = false;
  const client = async (id: number, reader: boolean) => {
    while (!stopClients) {
      const to = route();
      if (to === undefined) {
        await nextRoleEvent(100);
        continue;
      }
      const input = workload.next(id, { reader });
      const outcome = await perform(id, input, to.target);
      if (outcome !== "ok" && !to.random) {
        // No leader, or it refused or did not answer: do not spin while
        // another is elected.
        await nextRoleEvent(50);
      } // Readers pause between reads: a steady stream through every fault,
      // without taking the machine from the nodes (reads need no round trip
      // and would otherwise come thousands a second).
      else if (reader) await delay(READER_PAUSE_MS);
    }
  };

  const execute = async (): Promise<JepsenSummary> => {
    for (const id of ids) await start(id);
    await cluster.waitForLeader(0, RESULT_TIMEOUT_MS);
    log(`${elapsed().toFixed(1)} s: ${nodes} nodes up, node ${leader()} leads`);
    const nemesis = new Nemesis(
      {
        cluster,
        proxies,
        ids,
        leader,
        kill,
        restart: start,
        onLeader,
        elapsed,
        log,
      },
      nemesisRng,
      {
        kinds: options.faults ?? FAULT_KINDS,
        leaderShare: options.leaderShare,
        partitions: options.partitions,
        maxActive: options.maxActiveFaults ?? 2,
        gapMs: options.faultGapMs ?? [500, 2_000],
        durationMs: options.faultDurationMs ?? [1_000, 3_000],
      },
    );
    const faultStart = performance.now();
    const workers = Array.from(
      { length: clients + readers },
      (_, i) => client(i, i >= clients),
    );
    const progress = setInterval(() => {
      log(
        `${
          elapsed().toFixed(1)
        } s: ${recorder.operations} operations (${recorder.indeterminateCount} indeterminate), ` +
          `${nemesis.records.length} faults, node ${leader()} leads`,
      );
    }, 10_000);
    try {
      await nemesis.run(faultStart + options.durationMs);
      const seconds = (performance.now() - faultStart) / 1000;
      // Heal whatever is left and make sure every node is back as a voter.
      proxies.healAll();
      for (const id of ids) {
        if (!cluster.procs.has(id)) await start(id);
        else cluster.procs.get(id)!.signal("SIGCONT");
      }
      const members = await onLeader(
        { op: "members", voters: ids, timeoutMs: 10_000 },
        60_000,
      );
      if (members.error !== undefined) {
        problems.push(
          `the membership did not return to ${
            JSON.stringify(ids)
          } after the faults: ${members.error}: ${members.message}`,
        );
      }
      stopClients = true;
      await Promise.all(workers);
      clearInterval(progress);
      // Final reads: every key once more through the leader, which also
      // proves the cluster recovered.
      const finalClient = clients + readers;
      for (const key of workload.keys) {
        const deadline = performance.now() + 30_000;
        let done = false;
        while (!done && performance.now() < deadline) {
          const l = leader();
          if (l === null) {
            await nextRoleEvent(250);
            continue;
          }
          done = await perform(finalClient, { key, op: "get" }, l) === "ok";
          if (!done) await nextRoleEvent(100);
        }
        if (!done) {
          problems.push(`the final read of ${key} got no answer in 30 s`);
          break;
        }
      }
      log(`${elapsed().toFixed(1)} s: checking`);
      const result = checkKeys(recorder, options.checkTimeoutMs ?? 120_000);
      const summary: JepsenSummary = {
        seed: options.seed,
        nodes,
        storage,
        clients,
        readers,
        reads,
        seconds,
        operations: recorder.operations,
        byOp,
        indeterminate: recorder.indeterminateCount,
        discarded: recorder.discardedCount,
        keys: result.partitions.map((p) => ({
          key: p.key,
          operations: p.operations,
          indeterminate: p.indeterminate,
        })),
        faults: nemesis.counts(),
        leaderTerms: leaderTerms.size,
        snapshots,
        faultLog: nemesis.records,
        checkerMs: result.ms,
        checkerSteps: result.steps,
        verdict: result.verdict,
        problems,
      };
      if (result.explanation !== undefined) {
        summary.explanation = result.explanation;
      }
      if (result.writesAlone !== undefined) {
        summary.writesAlone = result.writesAlone;
      }
      const stale = result.staleRead;
      const blamed = stale ?? result.blocked;
      if (blamed !== undefined) {
        // Fault times are seconds, operation times milliseconds, both since
        // the run began.
        summary.faultsDuring = nemesis.records.filter((f) =>
          f.at * 1000 <= blamed.completedAt &&
          (f.healed ?? f.at) * 1000 >= blamed.invokedAt
        );
      }
      if (stale !== undefined) {
        const read = answeredReads.find((r) =>
          r.client === stale.client && r.fromMs <= stale.invokedAt &&
          stale.invokedAt <= r.toMs
        );
        const newer = read === undefined
          ? undefined
          : leaderships.find((l) =>
            l.term > read.term && l.atMs <= stale.invokedAt
          );
        summary.staleRead = {
          operation: describeOperation(stale),
          ...read === undefined ? {} : { node: read.node, term: read.term },
          ...newer === undefined ? {} : { newerLeader: newer },
        };
      }
      return summary;
    } finally {
      stopClients = true;
      clearInterval(progress);
    }
  };
  try {
    return await execute();
  } finally {
    closing = true;
    unsubscribe();
    for (const p of cluster.procs.values()) {
      if (p.child.exitCode === null) p.signal("SIGCONT");
    }
    await cluster.close();
    await proxies.close();
  }
}

type Op = Operation<RegisterInput, RegisterOutput>;

interface KeysResult {
  verdict: Verdict;
  steps: number;
  ms: number;
  partitions: PartitionResult<RegisterInput, RegisterOutput>[];
  explanation?: string;
  blocked?: Op;
  /** On a violation: the verdict on its key's writes alone. */
  writesAlone?: Verdict;
  /** When those are linearizable: the first read that breaks them. */
  staleRead?: Op;
}

/** An operation as the checker's explanations show it. */
function describeOperation(op: Op): string {
  const { input, output } = op;
  const args = input.op === "get"
    ? ""
    : input.op === "put"
    ? ` ${JSON.stringify(input.value)}`
    : ` ${JSON.stringify(input.expected)} -> ${JSON.stringify(input.value)}`;
  const result = output === undefined
    ? ""
    : input.op === "get"
    ? ` -> ${output.value === null ? "absent" : JSON.stringify(output.value)}`
    : input.op === "cas"
    ? `: ${output.ok ? "ok" : "failed"}`
    : "";
  return `${input.op} ${
    JSON.stringify(input.key)
  }${args}${result} (client ${op.client}, invoked at ${
    op.invokedAt.toFixed(1)
  } ms, completed at ${op.completedAt.toFixed(1)} ms)`;
}

/**
 * Which read of a key's non-linearizable history is to blame: none when its
 * writes alone have no valid order either; else the first read, by
 * invocation, whose addition to the writes (with every read before it)
 * leaves no valid order. A history with no valid order keeps none when
 * operations are added, so the shortest such prefix of the reads is found
 * by bisection.
 */
export function blameRead(
  ops: Op[],
  deadline: number,
): { writesAlone: Verdict; staleRead?: Op } {
  const check = (history: Op[]) =>
    checkLinearizability(history, {
      model: registerModel,
      timeoutMs: Math.max(0, deadline - performance.now()),
    }).verdict;
  const writes = ops.filter((o) => o.input.op !== "get");
  const writesAlone = check(writes);
  if (writesAlone !== "ok") return { writesAlone };
  const reads = ops.filter((o) => o.input.op === "get")
    .sort((a, b) => a.invokedAt - b.invokedAt);
  // Invariant: the first `lo` reads keep a valid order, the first `hi` do not.
  let lo = 0;
  let hi = reads.length;
  if (check([...writes, ...reads]) !== "violation") return { writesAlone };
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const verdict = check([...writes, ...reads.slice(0, mid)]);
    if (verdict === "violation") hi = mid;
    else if (verdict === "ok") lo = mid;
    else return { writesAlone };
  }
  return { writesAlone, staleRead: reads[hi - 1] };
}

/**
 * Checks every key's history, one key at a time (never all of them as
 * objects at once), within `timeoutMs` for all.
 */
function checkKeys(history: KeyedHistory, timeoutMs: number): KeysResult {
  const started = performance.now();
  const partitions: PartitionResult<RegisterInput, RegisterOutput>[] = [];
  const violating = new Map<string, Op[]>();
  let steps = 0;
  for (const [key, ops] of history.histories()) {
    const r = checkLinearizability(ops, {
      model: registerModel,
      timeoutMs: Math.max(0, started + timeoutMs - performance.now()),
    });
    partitions.push(...r.partitions);
    steps += r.steps;
    if (r.verdict === "violation") violating.set(key, ops);
  }
  partitions.sort((a, b) =>
    a.key.localeCompare(b.key, "en", { numeric: true })
  );
  const violation = partitions.find((p) => p.verdict === "violation");
  const unknown = partitions.filter((p) => p.verdict === "unknown");
  const result: KeysResult = {
    verdict: violation ? "violation" : unknown.length > 0 ? "unknown" : "ok",
    steps,
    ms: performance.now() - started,
    partitions,
  };
  if (violation !== undefined) {
    result.explanation = violation.explanation;
    result.blocked = violation.blocked;
    const blame = blameRead(
      violating.get(violation.key)!,
      started + timeoutMs,
    );
    result.writesAlone = blame.writesAlone;
    if (blame.staleRead !== undefined) result.staleRead = blame.staleRead;
  } else if (unknown.length > 0) {
    result.explanation = `${unknown.length} of ${partitions.length} keys ` +
      `undecided, ${unknown[0].key} first: ${unknown[0].explanation}`;
  }
  return result;
}

function keyLine(keys: JepsenSummary["keys"]): string {
  if (keys.length <= 24) {
    return keys.map((k) => `${k.key} ${k.operations}/${k.indeterminate}`)
      .join(", ");
  }
  const ops = keys.map((k) => k.operations).sort((a, b) => a - b);
  const worst = [...keys].sort((a, b) => b.indeterminate - a.indeterminate)
    .slice(0, 5);
  return `${keys.length} keys, operations per key min ${ops[0]}, median ${
    ops[ops.length >> 1]
  }, max ${ops[ops.length - 1]}; most indeterminate: ${
    worst.map((k) => `${k.key} ${k.operations}/${k.indeterminate}`).join(", ")
  }`;
}

/** The summary as the task prints it. */
export function formatSummary(s: JepsenSummary): string {
  const ops = Object.entries(s.byOp).map(([name, c]) =>
    `${name} ${c.ok} ok` +
    (name === "cas" ? `, ${c.failed} failed` : "") +
    `, ${c.indeterminate} indeterminate, ${c.discarded} discarded`
  );
  const faults = Object.entries(s.faults).map(([k, n]) =>
    `${k} ${n.injected}` +
    (n.effective < n.injected ? ` (${n.effective} took effect)` : "")
  );
  const lines = [
    `seed ${s.seed}: ${s.nodes} nodes (${s.storage} storage), ${s.clients} clients and ${s.readers} readers, ` +
    `reads ${s.reads}, ` +
    `${s.seconds.toFixed(1)} s under faults`,
    `operations checked: ${s.operations} (${s.indeterminate} indeterminate; ` +
    `${s.discarded} discarded as certainly without effect)`,
    `by kind: ${ops.join("; ")}`,
    `per key (operations/indeterminate): ${keyLine(s.keys)}`,
    `faults injected: ${faults.join(", ")} (${s.faultLog.length} in all); ` +
    `leaders in ${s.leaderTerms} terms; snapshots ${s.snapshots.taken} taken, ` +
    `${s.snapshots.installed} installed`,
    `checker: ${s.checkerMs.toFixed(0)} ms, ${s.checkerSteps} search steps`,
    `verdict: ${s.verdict}`,
  ];
  if (s.explanation !== undefined) lines.push(`  ${s.explanation}`);
  if (s.writesAlone !== undefined) {
    lines.push(
      `  the key's writes alone: ${s.writesAlone}${
        s.writesAlone === "ok" ? " (a read is to blame)" : ""
      }`,
    );
  }
  if (s.staleRead !== undefined) {
    const r = s.staleRead;
    const by = r.node === undefined
      ? ""
      : `, answered by node ${r.node} in term ${r.term}; ${
        r.newerLeader === undefined
          ? "no leader of a later term had announced itself"
          : `node ${r.newerLeader.id} had announced itself leader of term ${r.newerLeader.term} at ${
            r.newerLeader.atMs.toFixed(1)
          } ms`
      }`;
    lines.push(`  the first read that breaks them: ${r.operation}${by}`);
  }
  if (s.faultsDuring !== undefined) {
    lines.push(
      `  faults active meanwhile: ${
        s.faultsDuring.map((f) =>
          `${f.kind} ${f.detail} (${f.at.toFixed(1)}–${
            (f.healed ?? f.at).toFixed(1)
          } s)`
        ).join("; ") || "none"
      }`,
    );
  }
  for (const p of s.problems) lines.push(`problem: ${p}`);
  return lines.join("\n");
}
