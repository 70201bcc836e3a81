/**
 * Internal: an opt-in timing trace of the write path, for
 * `deno task bench:raft --trace` (`bench/results/write_path.md`); the sink
 * and its events are public (`trace.ts`, re-exported by `mod.ts`).
 *
 * The runtime (`node.ts`, `transport.ts`) reports each stage a log entry
 * goes through (proposed, handed to storage, synced, framed, received,
 * acknowledged, committed, applied) with the highest log index it concerns.
 * Nothing is recorded unless a process installs a sink with
 * {@linkcode setTraceSink}: each call site costs one comparison with `null`
 * otherwise. The sink is per process, so it sees the stages of every node
 * in that process (the benchmark runs one node per process).
 *
 * @module
 */
import type { NodeId } from "./types.ts";

/**
 * One stage of the write path, as reported to the sink installed with
 * {@linkcode setTraceSink}.
 *
 * @example
 * ```ts
 * import type { TraceEvent } from "@k8s-operator/k8s-operator/raft";
 * const event: TraceEvent = { node: 1, stage: "saved", index: 42, at: 1234.5 };
 * console.log(`node ${event.node}: entry ${event.index} ${event.stage}`);
 * ```
 */
export interface TraceEvent {
  /** The node that reports it. */
  node: NodeId;
  /** What happened (see `bench/results/write_path.md` for each stage). */
  stage: string;
  /** The highest log index it concerns. */
  index: number;
  /** The peer concerned (a frame's sender or receiver), when there is one. */
  peer?: NodeId;
  /** When, on `performance.now()` of this process. */
  at: number;
}

let sink: ((event: TraceEvent) => void) | null = null;

/**
 * Installs (or, with `null`, removes) the process's trace sink: from then
 * on every `RaftNode` and `HttpTransport` in the process reports each stage
 * a log entry goes through on the write path (`call`, `propose`, `ready`,
 * `send`, `post`, `arrived`, `verified`, `step`, `saved`, `committed`,
 * `applied`; `bench/results/write_path.md` says what each is). For
 * diagnostics and benchmarks: nothing is recorded, and each stage costs one
 * comparison, while no sink is installed.
 *
 * @example Recording the stages of a few writes
 * ```ts
 * import { setTraceSink, type TraceEvent } from "@k8s-operator/k8s-operator/raft";
 * const events: TraceEvent[] = [];
 * setTraceSink((e) => events.push(e));
 * // ... writes ...
 * setTraceSink(null);
 * console.log(`${events.length} stages recorded`);
 * ```
 */
export function setTraceSink(next: ((event: TraceEvent) => void) | null): void {
  sink = next;
}

/** Whether a sink is installed: call sites check it before building an event. */
export function tracing(): boolean {
  return sink !== null;
}

/** Reports a stage to the sink, if one is installed. */
export function trace(
  node: NodeId,
  stage: string,
  at: { index: number; peer?: NodeId; at?: number },
): void {
  if (sink === null) return;
  sink({
    node,
    stage,
    index: at.index,
    peer: at.peer,
    at: at.at ?? performance.now(),
  });
}

/**
 * The highest log index that appends and their acknowledgements among
 * `messages` concern (`-1` for none): what a frame carries, for the trace.
 */
export function tracedIndex(
  messages: readonly {
    type: string;
    index: number;
    entries?: readonly unknown[];
  }[],
): number {
  let index = -1;
  for (const m of messages) {
    if (m.type === "append") {
      index = Math.max(index, m.index + (m.entries?.length ?? 0));
    } else if (m.type === "appendResp") index = Math.max(index, m.index);
  }
  return index;
}
