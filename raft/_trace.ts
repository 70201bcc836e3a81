/**
 * Internal: an opt-in timing trace of the write path, for
 * `deno task bench:raft --trace` (`bench/results/write_path.md`).
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

/** One stage of the write path, as reported to the sink. */
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

/** Installs (or, with `null`, removes) the process's trace sink. */
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
