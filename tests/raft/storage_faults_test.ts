/**
 * FileStorage when the disk refuses bytes: a file-size limit (`ulimit -f`,
 * with SIGXFSZ ignored so the write returns short instead of killing the
 * process) and a full disk (a small tmpfs in a private mount namespace). A
 * child process writes and prints each acknowledged save; a fresh process
 * then reads the directory. Every acknowledged record must be there, and
 * nothing unacknowledged may be reported as saved.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StorageWriteError, writeFully } from "../../raft/_files.ts";
import {
  type ChildResult,
  runChild,
  scriptLine,
  tmpfsUnavailable,
} from "./_child_run.ts";

const WRITER = new URL("./_storage_writer.ts", import.meta.url);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "raft-faults-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the writer with a file-size limit of `blocks` 512-byte blocks. */
function writeLimited(
  blocks: number,
  config: Record<string, unknown>,
): Promise<ChildResult> {
  const line = scriptLine(WRITER, { mode: "write", ...config });
  return runChild([
    "sh",
    "-c",
    `trap '' XFSZ; ulimit -f ${blocks}; exec ${line}`,
  ]);
}

async function recovered(dir: string): Promise<Record<string, unknown>> {
  const read = await runChild(
    ["sh", "-c", `exec ${scriptLine(WRITER, { mode: "read", dir })}`],
  );
  const line = read.lines[0];
  assert.ok(line !== undefined, `reader printed nothing: ${read.stderr}`);
  return line;
}

function acks(result: ChildResult): number[] {
  return result.lines.filter((l) => "ack" in l).map((l) => l.ack as number);
}

function failure(result: ChildResult): Record<string, unknown> {
  const failed = result.lines.find((l) => "failed" in l);
  assert.ok(
    failed !== undefined,
    `Expected the writer to report a failed write, found exit ${result.code} (${result.signal}) after ${
      JSON.stringify(result.lines.slice(-3))
    }; stderr: ${result.stderr}`,
  );
  return failed;
}

/** The state a reader finds after acknowledgements `1..last`. */
function expectAllAcked(state: Record<string, unknown>, last: number): void {
  const r = state.recovered as {
    term: number;
    indexes: number[];
    snapshotIndex: number;
    intact: boolean;
  };
  assert.ok(
    r !== undefined,
    `Expected a readable log, found ${JSON.stringify(state)}`,
  );
  const highest = r.indexes.at(-1) ?? r.snapshotIndex;
  assert.ok(
    highest >= last && r.term >= last,
    `Expected every acknowledged save (1..${last}) on disk, found the log ending at ${highest} in term ${r.term}`,
  );
  assert.ok(r.intact, "Expected every recovered entry intact");
}

describe("FileStorage under a file-size limit", () => {
  it("never acknowledges an append the limit cut short, and loses none it acknowledged", async () => {
    await withDir(async (dir) => {
      const result = await writeLimited(16, {
        dir,
        entryBytes: 700,
        count: 100,
      });
      const failed = failure(result);
      const acked = acks(result);
      assert.ok(acked.length > 0);
      expectAllAcked(await recovered(dir), acked.length);
      assert.equal(failed.failed, acked.length + 1);
      assert.equal(
        failed.loaded,
        acked.length,
        "load() after the failure reports only acknowledged entries",
      );
      assert.equal(failed.error, "StorageWriteError", String(failed.message));
    });
  });

  it("keeps the old log and snapshot when a snapshot the limit cuts short is written", async () => {
    await withDir(async (dir) => {
      const result = await writeLimited(16, {
        dir,
        entryBytes: 100,
        count: 100,
        snapshotEvery: 3,
        snapshotBytes: 9000,
      });
      const failed = failure(result);
      const acked = acks(result);
      assert.equal(acked.length, 3, "the first compaction fails");
      expectAllAcked(await recovered(dir), 3);
      assert.equal(failed.error, "StorageWriteError", String(failed.message));
    });
  });
});

const noTmpfs = tmpfsUnavailable();
if (noTmpfs) console.warn(`Skipping the full-disk tests: ${noTmpfs}`);

describe("FileStorage on a full disk", { skip: noTmpfs }, () => {
  it("refuses to acknowledge what did not fit, loses nothing it acknowledged, and writes nothing more once space frees up", async () => {
    await withDir(async (dir) => {
      const mount = join(dir, "mnt");
      const data = join(mount, "raft");
      const ballast = join(mount, "ballast");
      const writer = scriptLine(WRITER, {
        mode: "write",
        dir: data,
        entryBytes: 1000,
        count: 500,
        ballast,
      });
      const reader = scriptLine(WRITER, { mode: "read", dir: data });
      // One private mount namespace: the tmpfs vanishes with it.
      const script = [
        `mkdir -p '${mount}'`,
        `mount -t tmpfs -o size=64k tmpfs '${mount}'`,
        `dd if=/dev/zero of='${ballast}' bs=1k count=16 2>/dev/null`,
        writer,
        reader,
      ].join(" && ");
      const result = await runChild([
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
      ]);
      const failed = failure(result);
      const acked = acks(result);
      const state = result.lines.find((l) =>
        "recovered" in l || ("error" in l && !("failed" in l))
      );
      assert.ok(state !== undefined, result.stderr);
      expectAllAcked(state, acked.length);
      assert.equal(failed.loaded, acked.length);
      assert.equal(
        failed.retry,
        "refused",
        "a write after a failed one would follow a torn record",
      );
      assert.equal(failed.error, "StorageWriteError", String(failed.message));
      assert.match(String(failed.message), /ENOSPC|No space left/);
    });
  });
});

describe("writeFully", () => {
  it("writes on after short writes until every byte is stored", async () => {
    const stored: number[] = [];
    const handle = {
      write(buffer: Uint8Array, offset: number, length: number) {
        const n = Math.min(length, 3);
        stored.push(...buffer.subarray(offset, offset + n));
        return Promise.resolve({ bytesWritten: n });
      },
    };
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    await writeFully(handle, { bytes, file: "f" });
    assert.deepEqual(stored, [...bytes]);
  });

  it("throws StorageWriteError naming the file and the bytes written when a write fails or stalls", async () => {
    let calls = 0;
    const failing = {
      write(_b: Uint8Array, _o: number, length: number) {
        if (calls++ === 0) return Promise.resolve({ bytesWritten: length - 2 });
        const error = Object.assign(new Error("no space left on device"), {
          code: "ENOSPC",
        });
        return Promise.reject(error);
      },
    };
    await assert.rejects(
      writeFully(failing, { bytes: new Uint8Array(10), file: "/d/wal.log" }),
      (e: unknown) => {
        assert.ok(e instanceof StorageWriteError);
        assert.equal(e.file, "/d/wal.log");
        assert.match(e.message, /10 bytes to \/d\/wal\.log, wrote 8/);
        assert.equal((e.cause as { code: string }).code, "ENOSPC");
        return true;
      },
    );
    const stalled = {
      write: () => Promise.resolve({ bytesWritten: 0 }),
    };
    await assert.rejects(
      writeFully(stalled, { bytes: new Uint8Array(4), file: "f" }),
      /wrote 0 and then a write stored 0/,
    );
  });
});
