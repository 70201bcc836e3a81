/**
 * Runs a test script (`_storage_writer.ts`, ...) under the current runtime
 * in a child process, optionally through `sh` with a prefix (a file-size
 * limit, a private mount namespace), and collects its JSON lines.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { scriptCommand } from "../_runtime.ts";

/** How long a child may run before the test fails (a loaded machine starts Deno slowly). */
export const CHILD_TIMEOUT_MS = 60_000;

/** `value` quoted for `sh`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The command line that runs `script` with one JSON argument, quoted for `sh`. */
export function scriptLine(script: URL, config: unknown): string {
  const { command, args } = scriptCommand(script, [JSON.stringify(config)]);
  return [command, ...args].map(shellQuote).join(" ");
}

/** What a child printed and how it ended. */
export interface ChildResult {
  /** Each stdout line that parsed as JSON. */
  lines: Record<string, unknown>[];
  /** Its exit code (`null` when killed by a signal). */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: string | null;
  /** Its standard error, for failure messages. */
  stderr: string;
}

/**
 * Runs `argv` (no shell unless `argv` starts one) and resolves when it
 * exits; rejects when it runs longer than {@linkcode CHILD_TIMEOUT_MS}.
 */
export function runChild(argv: string[]): Promise<ChildResult> {
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => stdout += chunk);
  child.stderr!.on("data", (chunk: string) => stderr += chunk);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `Expected ${
            argv.join(" ")
          } to exit within ${CHILD_TIMEOUT_MS} ms, found it running; stderr: ${stderr}`,
        ),
      );
    }, CHILD_TIMEOUT_MS);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const lines: Record<string, unknown>[] = [];
      for (const line of stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          lines.push(JSON.parse(line));
        } catch {
          // Not ours: a runtime's own output.
        }
      }
      resolve({ lines, code, signal, stderr });
    });
  });
}

/**
 * Why private tmpfs mounts cannot be used here (`unshare -m` then `mount -t
 * tmpfs` needs root), or `false` when they can.
 */
export function tmpfsUnavailable(): string | false {
  const probe = spawnSync("unshare", [
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    "mount -t tmpfs -o size=16k tmpfs /mnt",
  ]);
  if (probe.error !== undefined) return `unshare is missing (${probe.error})`;
  return probe.status === 0
    ? false
    : `a private tmpfs cannot be mounted (needs root): ${probe.stderr}`;
}
