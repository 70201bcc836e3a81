/**
 * An opt-in trace of the Raft write path, for diagnostics and benchmarks
 * (`deno task bench:raft --trace`): {@linkcode setTraceSink} installs a
 * function that receives each stage a log entry goes through.
 *
 * @module
 */
export { setTraceSink } from "./_trace.ts";
export type { TraceEvent } from "./_trace.ts";
