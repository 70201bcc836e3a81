/**
 * Child processes of the envtest launcher: started with their output in a
 * log file, stopped with SIGTERM then SIGKILL, and killed by a reaper
 * process when the test process ends in any way before `stop()` ran. Only
 * `node:` built-ins (and `/bin/sh`), so it runs unchanged on Deno and Node.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import process from "node:process";

/** How a child process ended. */
export interface ExitStatus {
  /** Its exit code, or `null` when a signal ended it. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: string | null;
  /** Why it could not be started at all (`spawn` failed). */
  error?: Error;
}

/** Says how a child ended, for error messages: `exited with code 1`. */
export function describeExit(status: ExitStatus): string {
  if (status.error) return `could not be started (${status.error.message})`;
  if (status.code !== null) return `exited with code ${status.code}`;
  return `was ended by ${status.signal ?? "a signal"}`;
}

/** A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The reaper's script. It reads `+pid` and `-pid` lines from its standard
 * input, a pipe whose other end only the test process holds; the kernel
 * closes that end however the test process ends (a normal exit, a signal
 * such as `deno test`'s own SIGINT handling, SIGKILL, a crash), and at that
 * end of file the reaper kills the pids still listed and removes the
 * folder. It ignores SIGINT and SIGTERM so that a Ctrl-C sent to the whole
 * process group leaves it to do that.
 */
const REAPER_SCRIPT = `trap '' INT TERM
pids=" "
while IFS= read -r line; do
  case "$line" in
    +*) pids="$pids\${line#+} " ;;
    -*) pids=$(printf '%s' "$pids" | sed "s/ \${line#-} / /") ;;
  esac
done
for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
for attempt in 1 2 3 4 5; do
  rm -rf "$1" 2>/dev/null
  [ -e "$1" ] || break
  sleep 1
done`;

/**
 * A watcher, outside the test process, of the processes and the folder of
 * one control plane: if the test process ends before `close()`, it kills
 * them and removes the folder. It never keeps the test process alive.
 */
export interface Reaper {
  /** Its process id. */
  readonly pid: number | undefined;
  /** Kill `pid` if the test process ends first. */
  add(pid: number): void;
  /** `pid` has ended: forget it (its number may be reused). */
  remove(pid: number): void;
  /** Stand down (everything was cleaned up in-process); resolves once it has exited. */
  close(): Promise<void>;
}

/** Starts the {@link Reaper} of `dir`. */
export function startReaper(dir: string): Reaper {
  const child = spawn("/bin/sh", ["-c", REAPER_SCRIPT, "envtest-reaper", dir], {
    stdio: ["pipe", "ignore", "ignore"],
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  child.unref();
  // A pipe keeps the event loop alive on Node; this one must not.
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  // A reaper that died early only takes the safety net with it.
  child.stdin?.on("error", () => {});
  const write = (line: string) => {
    if (child.stdin?.writable) child.stdin.write(`${line}\n`);
  };
  let closing: Promise<void> | undefined;
  return {
    pid: child.pid,
    add: (pid) => write(`+${pid}`),
    remove: (pid) => write(`-${pid}`),
    close() {
      closing ??= (async () => {
        // Waited for, it must keep the event loop alive until it exits.
        child.ref();
        child.stdin?.end();
        await exited;
      })();
      return closing;
    },
  };
}

/** Removes a folder; a failure (something still writing) is retried a few times. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}

/** What {@link startProcess} runs. */
export interface ProcessSpec {
  /** The name errors and logs use, e.g. `kube-apiserver`. */
  name: string;
  /** The executable. */
  binary: string;
  /** Its arguments. */
  args: string[];
  /** The file its standard output and error go to. */
  logFile: string;
  /** The reaper that kills it if the test process ends first. */
  reaper: Reaper;
}

/** A child process started by {@link startProcess}. */
export interface ManagedProcess {
  /** The name errors and logs use. */
  readonly name: string;
  /** Its process id (`undefined` when it could not be started). */
  readonly pid: number | undefined;
  /** How it ended, once it has. */
  readonly status: ExitStatus | null;
  /** Resolves when it has ended. */
  readonly exited: Promise<ExitStatus>;
  /** The last `lines` lines of its output. */
  logTail(lines: number): string[];
  /**
   * Sends SIGTERM, then SIGKILL after `graceMs`, and resolves once it has
   * ended.
   */
  stop(graceMs: number): Promise<void>;
}

/** The last `lines` non-empty lines of a file (at most its last 64 KiB). */
export function tailOfFile(path: string, lines: number): string[] {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return [];
  }
  try {
    const size = statSync(path).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = new Uint8Array(length);
    readSync(fd, buffer, 0, length, size - length);
    const all = new TextDecoder().decode(buffer).split(/\r?\n/)
      .filter((line) => line.trim() !== "");
    // The first line may be cut in the middle when the file was longer.
    if (size > length) all.shift();
    return all.slice(-lines);
  } finally {
    closeSync(fd);
  }
}

/**
 * Starts a child with its output appended to `spec.logFile` (so no pipe
 * fills up and the test process reads nothing while it runs). The child
 * does not keep the event loop alive, and `spec.reaper` kills it if the
 * test process ends before `stop()`.
 */
export function startProcess(spec: ProcessSpec): ManagedProcess {
  const fd = openSync(spec.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(spec.binary, spec.args, { stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  let status: ExitStatus | null = null;
  const exited = new Promise<ExitStatus>((resolve) => {
    const done = (result: ExitStatus) => {
      if (status) return;
      status = result;
      if (child.pid !== undefined) spec.reaper.remove(child.pid);
      resolve(result);
    };
    child.once("error", (error) => done({ code: null, signal: null, error }));
    child.once("exit", (code, signal) => done({ code, signal }));
  });
  if (child.pid !== undefined) spec.reaper.add(child.pid);
  child.unref();
  let stopping: Promise<void> | undefined;
  return {
    name: spec.name,
    pid: child.pid,
    get status() {
      return status;
    },
    exited,
    logTail: (lines) => tailOfFile(spec.logFile, lines),
    stop(graceMs) {
      stopping ??= (async () => {
        if (status) return;
        // Waited for, it must keep the event loop alive until it exits.
        child.ref();
        child.kill("SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<"late">((resolve) => {
          timer = setTimeout(() => resolve("late"), graceMs);
        });
        const first = await Promise.race([exited, late]);
        clearTimeout(timer);
        if (first === "late") {
          // By pid: Deno's `ChildProcess.kill` sends nothing once it has
          // sent a signal, so a child that outlasts SIGTERM (a
          // kube-apiserver draining open requests, up to a minute) would
          // be waited for to the end.
          if (status === null && child.pid !== undefined) {
            try {
              process.kill(child.pid, "SIGKILL");
            } catch (error) {
              if ((error as { code?: string }).code !== "ESRCH") throw error;
            }
          }
          await exited;
        }
      })();
      return stopping;
    },
  };
}

/** What a health endpoint answered. */
export interface ProbeResult {
  /** The HTTP status, or 0 when no answer came. */
  status: number;
  /** The body (first 2 KiB), or why no answer came. */
  text: string;
}

/** Options of {@link probe}. */
export interface ProbeOptions {
  /** A CA to trust (HTTPS). */
  ca?: string;
  /** A bearer token to send. */
  token?: string;
  /** Accept any certificate (a self-signed health endpoint of our own child). */
  insecure?: boolean;
  /** Give up after this many milliseconds (default 2000). */
  timeoutMs?: number;
}

/** One GET of a health endpoint; never rejects. */
export function probe(
  url: string,
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(target, {
      method: "GET",
      ca: options.ca,
      rejectUnauthorized: !options.insecure,
      headers: options.token
        ? { Authorization: `Bearer ${options.token}` }
        : {},
      timeout: options.timeoutMs ?? 2000,
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (text.length < 2048) text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", (error) => resolve({ status: 0, text: error.message }));
    });
    req.on("timeout", () => req.destroy(new Error("no answer in time")));
    req.on("error", (error) => resolve({ status: 0, text: error.message }));
    req.end();
  });
}

/** Resolves after `ms`, or at once when `until` settles first. */
export function pause(ms: number, until: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
    until.then(() => {}, () => {}),
  ]).finally(() => clearTimeout(timer));
}
