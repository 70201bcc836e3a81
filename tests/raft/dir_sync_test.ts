/**
 * FileStorage syncs directories: a new name (a created directory, the new
 * log, a rename) survives a power loss only once its directory is synced.
 * A child process writes under `strace`; the trace shows, on the runtime
 * running this test, every system call in order. Each new name must be
 * followed by an `fsync` of its directory before the next acknowledgement
 * the child prints. `.ci/run` installs strace; without it this is skipped.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { runChild, scriptLine } from "./_child_run.ts";

const WRITER = new URL("./_storage_writer.ts", import.meta.url);

const probe = spawnSync("strace", ["-qq", "-e", "trace=none", "true"]);
const skip = probe.error !== undefined || probe.status !== 0
  ? `strace cannot trace here (${probe.error ?? probe.stderr})`
  : false;
if (skip) console.warn(`Skipping the directory sync tests: ${skip}`);

/** One completed system call. */
interface Call {
  name: string;
  args: string;
  result: number;
}

/** Completed calls in the order they returned (threads' halves joined). */
function parseTrace(text: string): Call[] {
  const pending = new Map<string, string>();
  const calls: Call[] = [];
  for (const raw of text.split("\n")) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (m === null) continue;
    const [, tid, rest] = m;
    let line = rest;
    const unfinished = /^(.*) <unfinished \.\.\.>$/.exec(line);
    if (unfinished !== null) {
      pending.set(tid, unfinished[1]);
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed !== null) {
      line = (pending.get(tid) ?? "") + resumed[1];
      pending.delete(tid);
    }
    const call = /^(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (call === null) continue;
    calls.push({ name: call[1], args: call[2], result: Number(call[3]) });
  }
  return calls;
}

function quoted(args: string): string[] {
  return [...args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
}

/** A name that must be synced into `dir` before the next acknowledgement. */
interface Obligation {
  what: string;
  dir: string;
}

/**
 * Walks the trace: tracks which directory each file descriptor refers to,
 * records each new name under `root`, discharges it on an `fsync` of its
 * directory, and returns what was still undischarged at each
 * acknowledgement the child printed.
 */
function unsyncedAtAcks(calls: Call[], root: string): string[] {
  const fds = new Map<number, string>();
  const open: Obligation[] = [];
  const failures: string[] = [];
  /** Paths that exist already: opening them with O_CREAT creates nothing. */
  const known = new Set<string>();
  const under = (path: string) => path.startsWith(root);
  for (const c of calls) {
    if (c.result < 0) continue;
    const fdArg = Number(c.args.split(",")[0]);
    switch (c.name) {
      case "openat":
      case "open": {
        const [path] = quoted(c.args);
        fds.set(c.result, path);
        if (
          under(path) && /O_CREAT/.test(c.args) && !known.has(path) &&
          !path.endsWith(".tmp")
        ) {
          open.push({ what: `created ${path}`, dir: dirname(path) });
        }
        known.add(path);
        break;
      }
      case "fcntl":
        if (/F_DUPFD/.test(c.args) && fds.has(fdArg)) {
          fds.set(c.result, fds.get(fdArg)!);
        }
        break;
      case "dup":
      case "dup2":
      case "dup3":
        if (fds.has(fdArg)) fds.set(c.result, fds.get(fdArg)!);
        break;
      case "close":
        fds.delete(fdArg);
        break;
      case "mkdir":
      case "mkdirat": {
        const [path] = quoted(c.args);
        if (under(path)) {
          open.push({ what: `mkdir ${path}`, dir: dirname(path) });
        }
        break;
      }
      case "rename":
      case "renameat":
      case "renameat2": {
        const [, to] = quoted(c.args);
        known.add(to);
        if (under(to)) open.push({ what: `rename to ${to}`, dir: dirname(to) });
        break;
      }
      case "fsync":
      case "fdatasync": {
        const path = fds.get(fdArg);
        for (let i = open.length - 1; i >= 0; i--) {
          if (open[i].dir === path) open.splice(i, 1);
        }
        break;
      }
      case "write":
        if (fdArg === 1 && /ack|compacted/.test(c.args)) {
          for (const o of open) failures.push(`${o.what} before ${c.args}`);
          open.length = 0;
        }
        break;
    }
  }
  return failures;
}

/**
 * The writes to `wal.log` that were not yet on disk at each acknowledgement
 * the child printed: a write on a descriptor opened without `O_DSYNC` is on
 * disk once an `fsync` or `fdatasync` of it follows. A save is written at
 * its offset (`pwrite64`, over the zeros written ahead). Also counts the
 * writes made with `O_DSYNC`.
 */
function unsyncedLogWrites(
  calls: Call[],
): { failures: string[]; dsync: number } {
  const dsync = new Map<number, boolean>();
  const pending = new Set<number>();
  const failures: string[] = [];
  let withDsync = 0;
  for (const c of calls) {
    if (c.result < 0) continue;
    const fd = Number(c.args.split(",")[0]);
    if (
      (c.name === "openat" || c.name === "open") && c.args.includes("wal.log")
    ) {
      const [path] = quoted(c.args);
      if (path.endsWith("wal.log")) dsync.set(c.result, /O_DSYNC/.test(c.args));
    } else if (c.name === "close") {
      dsync.delete(fd);
    } else if (c.name === "fsync" || c.name === "fdatasync") {
      pending.delete(fd);
    } else if (
      (c.name === "write" || c.name === "pwrite64") && dsync.has(fd)
    ) {
      if (dsync.get(fd)) withDsync++;
      else pending.add(fd);
    } else if (c.name === "write" && fd === 1 && /ack/.test(c.args)) {
      if (pending.size > 0) failures.push(`a log write unsynced at ${c.args}`);
    }
  }
  return { failures, dsync: withDsync };
}

describe("FileStorage directory syncs, traced", { skip }, () => {
  it("syncs each new directory's parent, the directory of a new log and of every rename before acknowledging", async () => {
    const root = await mkdtemp(join(tmpdir(), "raft-dirsync-"));
    try {
      const dir = join(root, "volume", "raft");
      const trace = join(root, "trace.txt");
      const writer = scriptLine(WRITER, {
        mode: "write",
        dir,
        entryBytes: 10,
        count: 3,
        snapshotEvery: 2,
        snapshotBytes: 10,
      });
      const traced = [
        "strace",
        "-f",
        "-qq",
        "-o",
        trace,
        "-e",
        "trace=openat,open,mkdir,mkdirat,rename,renameat,renameat2,fsync,fdatasync,write,pwrite64,fcntl,dup,dup2,dup3,close",
        "sh",
        "-c",
        `exec ${writer}`,
      ];
      const result = await runChild(traced);
      assert.deepEqual(
        result.lines.map((l) => l.ack ?? `c${l.compacted}`),
        [1, 2, "c2", 3],
        result.stderr,
      );
      const calls = parseTrace(await readFile(trace, "utf8"));
      const names = calls.map((c) => c.name);
      assert.ok(names.includes("mkdir") || names.includes("mkdirat"));
      assert.ok(names.some((n) => n.startsWith("rename")));
      assert.deepEqual(unsyncedAtAcks(calls, root), []);
      // Each save's log write is on disk before its acknowledgement: made
      // on a descriptor opened with O_DSYNC (Linux), or synced after it.
      const log = unsyncedLogWrites(calls);
      assert.deepEqual(log.failures, []);
      if (process.platform === "linux") {
        assert.ok(log.dsync >= 3, `${log.dsync}`);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
