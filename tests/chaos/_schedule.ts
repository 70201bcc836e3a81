/**
 * The fault schedule of the operator chaos test: a pure function of a seed,
 * so a run is replayable (`deno task chaos --seed N`). What is injected,
 * when and for how long comes from the seed; which replica leads at that
 * moment does not (the harness aims replica faults at the leader it sees).
 *
 * Two lanes overlap freely:
 *
 * - API faults: 500s, 429s with `Retry-After`, dropped watches, compaction
 *   (410 on resume) and the API-server pauses;
 * - replica faults, one at a time with a recovery gap after each (so the
 *   cluster keeps a quorum most of the time): kill -9 of the leader,
 *   SIGSTOP of the leader past its lease, SIGTERM of the leader (a graceful
 *   handover). Each pause also stops the leader with SIGSTOP while the
 *   pause holds its requests: leadership moves while reconciles are in
 *   flight, the moment fencing exists for. Replica 0 is never killed or
 *   terminated (a kill or SIGTERM aimed at it while it leads becomes a
 *   SIGSTOP), so one process lives through the whole run and its RSS can
 *   be judged.
 *
 * Every kind occurs at least once in a schedule.
 *
 * @module
 */
import { below, seeded } from "../../testing/raft/random.ts";

/** What a fault does. */
export type FaultKind =
  | "error500"
  | "throttle429"
  | "dropWatches"
  | "compact"
  | "pause"
  | "kill"
  | "stop"
  | "term";

/** One scheduled fault. */
export interface Fault {
  /** Milliseconds after the fault phase starts. */
  at: number;
  /** What it does. */
  kind: FaultKind;
  /**
   * How long: the window in which error500 and throttle429 fail requests,
   * the pause, the SIGSTOP, or the downtime of a killed or terminated
   * replica before it is started again.
   */
  durationMs: number;
  /** error500, throttle429: how many requests fail. */
  count?: number;
  /** error500, throttle429: only these verbs (all when absent). */
  verbs?: Array<"get" | "list" | "watch" | "create" | "patch" | "delete">;
  /** throttle429: the `Retry-After` in seconds. */
  retryAfterSeconds?: number;
  /** dropWatches: end them with an ERROR 500 event rather than cleanly. */
  withError?: boolean;
  /** pause: SIGSTOP of the leader this long after the pause starts... */
  stopAfterMs?: number;
  /** ...for this long. */
  stopForMs?: number;
}

/** Options of {@linkcode chaosSchedule}. */
export interface ScheduleOptions {
  /** How long faults are injected, in milliseconds. */
  phaseMs: number;
  /** How long each API-server pause lasts (60 s; 20 s in CI). */
  pauseMs: number;
  /** One pause every this many milliseconds (default: one per run). */
  pauseEveryMs?: number;
}

const API_KINDS = [
  "error500",
  "throttle429",
  "dropWatches",
  "compact",
] as const;
const REPLICA_KINDS = ["kill", "stop", "term"] as const;
const VERB_SETS: NonNullable<Fault["verbs"]>[] = [
  ["patch"],
  ["create", "patch", "delete"],
  ["get", "list"],
  ["list", "watch"],
];

function between(random: () => number, low: number, high: number): number {
  return Math.round(low + random() * (high - low));
}

function shuffled<T>(random: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = below(random, i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function apiFault(
  random: () => number,
  kind: typeof API_KINDS[number],
  at: number,
): Fault {
  switch (kind) {
    case "error500":
      return {
        at,
        kind,
        durationMs: between(random, 500, 4_000),
        count: between(random, 5, 40),
        verbs: random() < 0.4
          ? undefined
          : VERB_SETS[below(random, VERB_SETS.length)],
      };
    case "throttle429":
      return {
        at,
        kind,
        durationMs: between(random, 500, 4_000),
        count: between(random, 5, 30),
        retryAfterSeconds: between(random, 1, 3),
        verbs: random() < 0.5
          ? undefined
          : VERB_SETS[below(random, VERB_SETS.length)],
      };
    case "dropWatches":
      return { at, kind, durationMs: 0, withError: random() < 0.5 };
    case "compact":
      return { at, kind, durationMs: 0 };
  }
}

/**
 * The schedule for `seed`, sorted by time.
 *
 * @example
 * ```ts ignore
 * const faults = chaosSchedule(42, { phaseMs: 75_000, pauseMs: 20_000 });
 * ```
 */
export function chaosSchedule(seed: number, options: ScheduleOptions): Fault[] {
  const random = seeded(seed);
  const { phaseMs, pauseMs } = options;
  const faults: Fault[] = [];

  // The pauses: the first after a quarter of the phase (or the interval),
  // each ending well before the phase does.
  const pauses: Fault[] = [];
  const every = options.pauseEveryMs ?? phaseMs;
  const span = Math.min(every, phaseMs);
  for (
    let at = between(random, span / 4, span / 3);
    at + pauseMs < phaseMs - 5_000;
    at += every
  ) {
    pauses.push({
      at,
      kind: "pause",
      durationMs: pauseMs,
      stopAfterMs: between(random, 1_000, Math.max(1_500, pauseMs / 4)),
      stopForMs: between(random, 1_500, 4_000),
    });
  }
  if (pauses.length === 0) {
    throw new RangeError(
      `Expected a fault phase long enough for a pause of ${pauseMs} ms, found ${phaseMs} ms`,
    );
  }
  faults.push(...pauses);

  // Replica faults, one at a time, never inside a pause (the pause brings
  // its own SIGSTOP), each kind at least once.
  const busy = (from: number, to: number) =>
    pauses.some((p) => from < p.at + p.durationMs + 3_000 && to > p.at);
  const kinds = shuffled(random, REPLICA_KINDS);
  let at = between(random, 2_000, 5_000);
  while (at < phaseMs - 8_000) {
    const kind = kinds[0] ?? REPLICA_KINDS[below(random, 3)];
    const durationMs = kind === "stop"
      ? between(random, 1_500, 4_000)
      : between(random, 1_000, 4_000);
    if (busy(at, at + durationMs + 2_000)) {
      at += 1_000;
      continue;
    }
    kinds.shift();
    faults.push({ at, kind, durationMs });
    at += durationMs + between(random, 4_000, 9_000);
  }

  // API faults: each kind once at a random time, then more at random
  // intervals (about one every 3 s).
  for (const kind of API_KINDS) {
    faults.push(
      apiFault(random, kind, between(random, 1_000, phaseMs - 3_000)),
    );
  }
  for (let t = between(random, 500, 3_000); t < phaseMs - 2_000;) {
    faults.push(apiFault(random, API_KINDS[below(random, 4)], t));
    t += between(random, 1_000, 5_000);
  }
  const missing = REPLICA_KINDS.filter((k) =>
    !faults.some((f) => f.kind === k)
  );
  if (missing.length > 0) {
    throw new RangeError(
      `Expected a fault phase long enough for every replica fault, found ${phaseMs} ms (no ${
        missing.join(", ")
      })`,
    );
  }
  return faults.sort((a, b) => a.at - b.at);
}

/**
 * One line saying what a fault does, for the printed schedule.
 *
 * @example
 * ```ts ignore
 * describeFault({ at: 1200, kind: "compact", durationMs: 0 }); // "compact the history (watches resume into 410 Gone)"
 * ```
 */
export function describeFault(fault: Fault): string {
  const verbs = fault.verbs ? ` of ${fault.verbs.join("/")}` : "";
  switch (fault.kind) {
    case "error500":
      return `fail up to ${fault.count} requests${verbs} in the next ${fault.durationMs} ms with 500`;
    case "throttle429":
      return `fail up to ${fault.count} requests${verbs} in the next ${fault.durationMs} ms with 429, Retry-After ${fault.retryAfterSeconds} s`;
    case "dropWatches":
      return fault.withError
        ? "end every watch with an ERROR 500 event"
        : "end every watch cleanly";
    case "compact":
      return "compact the history and end every watch (resumes get 410 Gone)";
    case "pause":
      return `pause the API server for ${fault.durationMs} ms (at the leader's next ConfigMap apply), SIGSTOP that replica after ${fault.stopAfterMs} ms for ${fault.stopForMs} ms and until another leads`;
    case "kill":
      return `kill -9 the leader, start it again after ${fault.durationMs} ms`;
    case "stop":
      return `SIGSTOP the leader for ${fault.durationMs} ms (past its lease) and until another replica leads, then SIGCONT`;
    case "term":
      return `SIGTERM the leader (handover), start it again ${fault.durationMs} ms after it exits`;
  }
}
