/**
 * Test support for the Operator builder: free loopback ports, environments
 * for a local cluster, and waiting on a condition under a deadline.
 *
 * @module
 */
import type { LogFields, Logger } from "../../mod.ts";
import { freeLoopbackPorts } from "../../testing/mod.ts";

/** A secret long enough for the operator (tests only). */
export const TEST_SECRET = "test-secret-0123456789abcdef";

/** `n` distinct free ports (the replica harness's). */
export const freePorts: (n: number) => Promise<number[]> = freeLoopbackPorts;

/**
 * The environments of a local cluster of `raftPorts.length` nodes on
 * loopback with explicit peers; the HTTP servers pick free ports.
 */
export function clusterEnv(
  raftPorts: number[],
  extra: Record<string, string> = {},
): Record<string, string>[] {
  const peers = raftPorts.map((port, id) => `${id}=127.0.0.1:${port}`).join(
    ",",
  );
  return raftPorts.map((_, id) => ({
    RAFT_NODE_ID: String(id),
    RAFT_PEERS: peers,
    RAFT_SECRET: TEST_SECRET,
    RAFT_CLUSTER_ID: "operator-test",
    OPERATOR_HTTP_PORT: "0",
    ...extra,
  }));
}

/**
 * Resolves once `check` returns a value other than `undefined` or `false`,
 * re-checking every few milliseconds; rejects after `timeoutMs` saying what
 * was awaited. The default only bounds waiting, for elections and
 * reconciles of operators starting on a loaded 2-core machine (CI's ran 2.5
 * times slower than a quiet one): 30 s, as the replica harness waits.
 */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) {
      throw new Error(`Expected ${what} within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** One line a {@linkcode recordingLogger} recorded. */
export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  fields?: LogFields;
}

/**
 * A logger that records every line in `lines`; logging the message
 * `throwOn` (after recording it) throws, as a sink that broke would.
 */
export function recordingLogger(
  throwOn?: string,
): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine["level"]) => (message: string, fields?: LogFields) => {
      lines.push({ level, message, fields });
      if (message === throwOn) throw new Error("the log sink is closed");
    };
  return {
    lines,
    logger: {
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
    },
  };
}
