/**
 * Child processes of the envtest launcher: started with their output in a
 * log file, stopped with SIGTERM then SIGKILL, and killed by a hook when the
 * test process ends or is interrupted before `stop()` ran. Only `node:`
 * built-ins, so it runs unchanged on Deno and Node.
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

// Children (with the promise of their exit) and folders not yet cleaned
// up, across every control plane of this process, for the hooks below.
const liveChildren = new Map<ChildProcess, Promise<unknown>>();
const liveDirs = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
let hooked = false;

function killAll(): void {
  for (const child of liveChildren.keys()) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

function removeDirs(): void {
  for (const dir of liveDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A hook must not throw; the folder is in the temporary folder.
    }
  }
  liveDirs.clear();
}

/** The exit hook: synchronous, as `exit` listeners must be. */
function cleanUpNow(): void {
  killAll();
  liveChildren.clear();
  removeDirs();
}

/**
 * The signal hook: kills the children and waits (up to 5 s) until they
 * have ended, so none still writes into a folder being removed.
 */
async function onSignal(signal: "SIGINT" | "SIGTERM"): Promise<void> {
  // Alone on this signal, the hook stands in for its default action: once
  // done it lets go and sends the signal again, so the process ends as it
  // would have. When other code listens too, the process is left to it.
  const alone = process.listenerCount(signal) === 1;
  const exits = [...liveChildren.values()];
  killAll();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(exits),
    new Promise((resolve) => {
      timer = setTimeout(resolve, 5000);
    }),
  ]);
  clearTimeout(timer);
  liveChildren.clear();
  removeDirs();
  if (alone) {
    unhook();
    process.kill(process.pid, signal);
  } else {
    settle();
  }
}

// Deno does not emit `exit` after an uncaught exception or rejection; its
// global `error` and `unhandledrejection` events come first instead.
function onUncaught(event: Event): void {
  if (!event.defaultPrevented) cleanUpNow();
}

type GlobalEvents = {
  addEventListener?: (type: string, listener: (event: Event) => void) => void;
  removeEventListener?: (
    type: string,
    listener: (event: Event) => void,
  ) => void;
};

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", cleanUpNow);
  for (const signal of SIGNALS) process.on(signal, onSignal);
  const global = globalThis as GlobalEvents;
  global.addEventListener?.("error", onUncaught);
  global.addEventListener?.("unhandledrejection", onUncaught);
}

function unhook(): void {
  if (!hooked) return;
  hooked = false;
  process.off("exit", cleanUpNow);
  for (const signal of SIGNALS) process.off(signal, onSignal);
  const global = globalThis as GlobalEvents;
  global.removeEventListener?.("error", onUncaught);
  global.removeEventListener?.("unhandledrejection", onUncaught);
}

function settle(): void {
  if (liveChildren.size === 0 && liveDirs.size === 0) unhook();
}

/** Registers a folder to remove if the process ends before {@link releaseDir}. */
export function trackDir(dir: string): void {
  liveDirs.add(dir);
  hook();
}

/** Removes a folder and forgets it. */
export function releaseDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
  settle();
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
 * does not keep the event loop alive, and is killed by the exit hook if
 * the process ends before `stop()`.
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
      liveChildren.delete(child);
      settle();
      resolve(result);
    };
    child.once("error", (error) => done({ code: null, signal: null, error }));
    child.once("exit", (code, signal) => done({ code, signal }));
  });
  liveChildren.set(child, exited);
  hook();
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
        child.kill("SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<"late">((resolve) => {
          timer = setTimeout(() => resolve("late"), graceMs);
        });
        const first = await Promise.race([exited, late]);
        clearTimeout(timer);
        if (first === "late") {
          child.kill("SIGKILL");
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
