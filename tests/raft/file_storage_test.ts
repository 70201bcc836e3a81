import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  truncate,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FileStorage,
  StorageCorruptionError,
  StorageVersionError,
} from "../../raft/file_storage.ts";
import { crc32 } from "../../raft/_crc32.ts";
import { scanLog } from "../../raft/_wal_format.ts";
import { writeEntry, writeHardState, Writer } from "../../raft/_codec.ts";
import { legacySnapshot, legacyState, legacyWal } from "./_fixture_0_1_0.ts";
import type { StorageWrite } from "../../raft/storage.ts";
import type { Entry, PersistedState, Snapshot } from "../../raft/types.ts";
import { below, seeded } from "../../testing/raft/random.ts";

function entry(index: number, term: number, size = 8): Entry {
  const data = new Uint8Array(size).fill(index & 0xff);
  return { index, term, type: "normal", data };
}

function range(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "raft-fs-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The log header: magic, version, salt, checksum. */
const HEADER = 24;

/**
 * Units only, no zeros written ahead: the tests that find where each save
 * ended from the file's size. The zero-filled space has its own tests
 * ("FileStorage zero-filled space").
 */
const UNFILLED = { preallocate: 0 };

const snap: Snapshot = {
  metadata: { index: 5, term: 2, conf: { voters: [0, 1, 2], learners: [] } },
  data: new TextEncoder().encode("state at 5"),
};

describe("FileStorage", () => {
  it("recovers hard state, entries and overwritten suffixes after reopening", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir);
      assert.deepEqual(s.load(), {
        hardState: { term: 0, vote: null, commit: 0 },
        snapshot: null,
        entries: [],
      });
      await s.save({
        hardState: { term: 1, vote: 2, commit: 0 },
        entries: range(1, 5, 1),
        snapshot: null,
      });
      await s.save({
        hardState: null,
        entries: range(4, 6, 2),
        snapshot: null,
      });
      await s.save({
        hardState: { term: 2, vote: null, commit: 4 },
        entries: [],
        snapshot: null,
      });
      await s.close();
      const r = await FileStorage.open(dir);
      const state = r.load();
      assert.deepEqual(state.hardState, { term: 2, vote: null, commit: 4 });
      assert.deepEqual(state.entries, [...range(1, 3, 1), ...range(4, 6, 2)]);
      await r.close();
    });
  });

  it("writes a save that moves only the commit index with the next unit, or at close, never on its own", async () => {
    await withDir(async (dir) => {
      const wal = join(dir, "wal.log");
      const s = await FileStorage.open(dir, UNFILLED);
      await s.save({
        hardState: { term: 3, vote: 1, commit: 0 },
        entries: range(1, 4, 3),
        snapshot: null,
      });
      const size = (await stat(wal)).size;
      await s.save({
        hardState: { term: 3, vote: 1, commit: 2 },
        entries: [],
        snapshot: null,
      });
      assert.equal((await stat(wal)).size, size, "nothing written or synced");
      assert.deepEqual(s.load().hardState, { term: 3, vote: 1, commit: 2 });
      // A crash now: a reopened copy finds the older commit index.
      const crashed = join(dir, "crashed");
      await mkdir(crashed);
      await writeFile(join(crashed, "wal.log"), await readFile(wal));
      const before = await FileStorage.open(crashed, UNFILLED);
      assert.deepEqual(before.load().hardState, {
        term: 3,
        vote: 1,
        commit: 0,
      });
      await before.close();
      // The next unit carries it.
      await s.save({ hardState: null, entries: [entry(5, 3)], snapshot: null });
      await writeFile(join(crashed, "wal.log"), await readFile(wal));
      const after = await FileStorage.open(crashed, UNFILLED);
      assert.deepEqual(after.load().hardState, { term: 3, vote: 1, commit: 2 });
      await after.close();
      // A term or a vote is written at once.
      await s.save({
        hardState: { term: 4, vote: null, commit: 3 },
        entries: [],
        snapshot: null,
      });
      assert.ok((await stat(wal)).size > size);
      // And close writes a commit index still waiting.
      await s.save({
        hardState: { term: 4, vote: null, commit: 5 },
        entries: [],
        snapshot: null,
      });
      await s.close();
      const r = await FileStorage.open(dir, UNFILLED);
      assert.deepEqual(r.load().hardState, { term: 4, vote: null, commit: 5 });
      assert.equal(r.load().entries.length, 5);
      await r.close();
    });
  });

  it("keeps the snapshot and later entries across compaction and reopening", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir);
      await s.save({
        hardState: { term: 2, vote: 0, commit: 7 },
        entries: range(1, 8, 2),
        snapshot: null,
      });
      await s.compact(snap);
      await s.save({ hardState: null, entries: [entry(9, 2)], snapshot: null });
      await s.close();
      const r = await FileStorage.open(dir);
      const state = r.load();
      assert.deepEqual(state.snapshot, snap);
      assert.deepEqual(state.entries, range(6, 9, 2));
      assert.deepEqual(state.hardState, { term: 2, vote: 0, commit: 7 });
      await r.close();
    });
  });

  it("replaces a conflicting log with a received snapshot", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir);
      await s.save({
        hardState: null,
        entries: range(1, 8, 1),
        snapshot: null,
      });
      await s.save({
        hardState: { term: 2, vote: null, commit: 5 },
        entries: [],
        snapshot: snap,
      });
      assert.deepEqual(s.load().entries, []);
      await s.close();
      const r = await FileStorage.open(dir);
      assert.deepEqual(r.load().entries, []);
      assert.deepEqual(r.load().snapshot, snap);
      await r.close();
    });
  });

  it("cuts a torn tail at random truncation points and keeps the intact prefix", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir, UNFILLED);
      const sizes: number[] = [];
      for (let i = 1; i <= 6; i++) {
        await s.save({
          hardState: { term: i, vote: 1, commit: i - 1 },
          entries: [entry(i, i)],
          snapshot: null,
        });
        sizes.push((await stat(join(dir, "wal.log"))).size);
      }
      await s.close();
      const full = await readFile(join(dir, "wal.log"));
      const random = seeded(7);
      for (let k = 0; k < 25; k++) {
        // The header is written whole before the file gets its name.
        const cut = HEADER + below(random, full.length - HEADER);
        await writeFile(join(dir, "wal.log"), full.subarray(0, cut));
        const r = await FileStorage.open(dir, UNFILLED);
        const saves = sizes.filter((n) => n <= cut).length;
        const state = r.load();
        // Each save is one unit: it survives whole or not at all.
        assert.equal(state.entries.length, saves);
        assert.equal(state.hardState.term, saves);
        assert.deepEqual(
          state.entries,
          range(1, state.entries.length, 0).map((e) => ({
            ...e,
            term: e.index,
          })),
        );
        await r.close();
        assert.equal((await stat(join(dir, "wal.log"))).size <= cut, true);
        // The cut file accepts new writes after the intact prefix.
        const again = await FileStorage.open(dir, UNFILLED);
        await again.save({
          hardState: null,
          entries: [entry(state.entries.length + 1, 99)],
          snapshot: null,
        });
        await again.close();
        const last = await FileStorage.open(dir, UNFILLED);
        assert.equal(last.load().entries.at(-1)?.term, 99);
        await last.close();
      }
    });
  });

  it("refuses to start on a corrupted byte before the last record, and drops only a damaged last record", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir, UNFILLED);
      const ends: number[] = [];
      for (let i = 1; i <= 6; i++) {
        await s.save({
          hardState: null,
          entries: [entry(i, 1, 40)],
          snapshot: null,
        });
        ends.push((await stat(join(dir, "wal.log"))).size);
      }
      await s.close();
      const full = await readFile(join(dir, "wal.log"));
      const lastStart = ends[4];
      const random = seeded(99);
      let refused = 0;
      for (let k = 0; k < 60; k++) {
        const at = HEADER + below(random, full.length - HEADER);
        const bad = new Uint8Array(full);
        bad[at] ^= 1 + below(random, 255);
        await writeFile(join(dir, "wal.log"), bad);
        if (at < lastStart) {
          await assert.rejects(
            FileStorage.open(dir, UNFILLED),
            (e: unknown) => {
              assert.ok(e instanceof StorageCorruptionError);
              assert.match(e.message, /damaged/);
              return true;
            },
          );
          assert.deepEqual(
            new Uint8Array(await readFile(join(dir, "wal.log"))),
            bad,
            "a refused file is left as it was",
          );
          refused++;
        } else {
          const r = await FileStorage.open(dir, UNFILLED);
          assert.deepEqual(
            r.load().entries,
            range(1, 5, 1).map((e) => entry(e.index, 1, 40)),
          );
          await r.close();
        }
      }
      assert.ok(refused > 0);
    });
  });

  it("refuses a corrupted snapshot file", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir);
      await s.save({
        hardState: null,
        entries: range(1, 6, 2),
        snapshot: null,
      });
      await s.compact(snap);
      await s.close();
      const path = join(dir, "snapshot.bin");
      const bytes = await readFile(path);
      bytes[bytes.length - 3] ^= 0xff;
      await writeFile(path, bytes);
      await assert.rejects(FileStorage.open(dir), StorageCorruptionError);
      await truncate(path, 5);
      await assert.rejects(FileStorage.open(dir), /snapshot record/);
    });
  });
});

/** A record of the 0.1.0 format: `"WAL1" | length | crc32 | payload`. */
function legacyRecord(payload: Uint8Array): Uint8Array {
  const w = new Writer();
  w.u32(0x57414c31);
  w.u32(payload.length);
  w.u32(crc32(payload));
  w.bytesRaw(payload);
  return w.finish().slice();
}

/** A hard-state record body (kind 3), as both formats hold it. */
function hardStatePayload(term: number): Uint8Array {
  const w = new Writer();
  w.u8(3);
  writeHardState(w, { term, vote: 7, commit: 0 });
  return w.finish().slice();
}

/**
 * Bytes a client could put into an entry: a complete 0.1.0 record and a
 * version 2 unit checked with a guessed (zero) salt, each holding a hard
 * state with term 99.
 */
function plantedRecords(): Uint8Array {
  const payload = hardStatePayload(99);
  const unit = new Writer();
  unit.u32(0x57414c32);
  unit.u32(payload.length);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, payload.length);
  unit.u32(crc32(payload, crc32(length, crc32(new Uint8Array(8)))));
  unit.bytesRaw(payload);
  const legacy = legacyRecord(payload);
  const out = new Uint8Array(legacy.length + unit.finish().length + 16);
  out.set(legacy, 8);
  out.set(unit.finish(), 8 + legacy.length);
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

describe("FileStorage torn tails", () => {
  it("cuts a torn save whose entry holds valid-looking records, at every tear point", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir, UNFILLED);
      await s.save({
        hardState: { term: 1, vote: 1, commit: 0 },
        entries: range(1, 3, 1),
        snapshot: null,
      });
      const before = (await stat(join(dir, "wal.log"))).size;
      const planted = plantedRecords();
      await s.save({
        hardState: { term: 2, vote: 1, commit: 3 },
        entries: [{ term: 2, index: 4, type: "normal", data: planted }],
        snapshot: null,
      });
      await s.close();
      const full = new Uint8Array(await readFile(join(dir, "wal.log")));
      const plantedEnd = indexOf(full, planted) + planted.length;
      assert.ok(plantedEnd > before);
      for (let cut = plantedEnd - 16; cut < full.length; cut++) {
        await writeFile(join(dir, "wal.log"), full.subarray(0, cut));
        const r = await FileStorage.open(dir, UNFILLED);
        const state = r.load();
        assert.deepEqual(
          [state.hardState.term, state.entries.length],
          [1, 3],
          `a tear at byte ${cut} of ${full.length}`,
        );
        await r.close();
        assert.equal((await stat(join(dir, "wal.log"))).size, before);
      }
    });
  });

  it("cuts a torn save whose later bytes reached the disk before its middle", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir, UNFILLED);
      await s.save({
        hardState: { term: 1, vote: 1, commit: 0 },
        entries: range(1, 2, 1),
        snapshot: null,
      });
      const before = (await stat(join(dir, "wal.log"))).size;
      await s.save({
        hardState: { term: 2, vote: 1, commit: 2 },
        entries: [entry(3, 2, 9000)],
        snapshot: null,
      });
      await s.close();
      const full = new Uint8Array(await readFile(join(dir, "wal.log")));
      // A page in the middle of the last save never reached the disk; the
      // pages after it (the hard state) did.
      const torn = full.slice();
      torn.fill(0, before + 4096, before + 8192);
      await writeFile(join(dir, "wal.log"), torn);
      const r = await FileStorage.open(dir, UNFILLED);
      assert.deepEqual(
        [r.load().hardState.term, r.load().entries.length],
        [1, 2],
      );
      await r.close();
    });
  });

  it("still refuses damage followed by an intact save, naming the file and the damaged save's offset", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir, UNFILLED);
      const starts: number[] = [];
      for (let i = 1; i <= 3; i++) {
        starts.push((await stat(join(dir, "wal.log"))).size);
        await s.save({
          hardState: { term: i, vote: 1, commit: 0 },
          entries: [entry(i, i, 100)],
          snapshot: null,
        });
      }
      await s.close();
      const bytes = new Uint8Array(await readFile(join(dir, "wal.log")));
      bytes[starts[1] + 40] ^= 0x55;
      await writeFile(join(dir, "wal.log"), bytes);
      await assert.rejects(FileStorage.open(dir, UNFILLED), (e: unknown) => {
        assert.ok(e instanceof StorageCorruptionError);
        assert.equal(e.file, join(dir, "wal.log"));
        assert.equal(e.offset, starts[1]);
        assert.match(e.message, new RegExp(`at byte ${starts[1]}\\)$`));
        return true;
      });
    });
  });
});

/** 4 KiB of zeros written ahead: small enough to cross it in a test. */
const FILLED = { preallocate: 4096 };

/** Where each unit of the log in `dir` starts, and where the last ends. */
async function units(dir: string): Promise<{
  bytes: Uint8Array;
  starts: number[];
  end: number;
}> {
  const path = join(dir, "wal.log");
  const bytes = new Uint8Array(await readFile(path));
  const log = scanLog(bytes, path);
  return {
    bytes,
    starts: log.payloads.map((p) => p.offset),
    end: log.validLength,
  };
}

/**
 * Opens the storage in `dir` with zeros written ahead ({@linkcode FILLED}),
 * makes `saves` in order and closes it; returns what it loaded when opened.
 */
async function reopened(
  dir: string,
  saves: StorageWrite[] = [],
): Promise<PersistedState> {
  const s = await FileStorage.open(dir, FILLED);
  const loaded = s.load();
  for (const write of saves) await s.save(write);
  await s.close();
  return loaded;
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

describe("FileStorage zero-filled space", () => {
  it("refuses a preallocate that is not a whole number of bytes, before touching the directory", async () => {
    await withDir(async (root) => {
      const dir = join(root, "raft");
      for (const preallocate of [-1, 1.5, NaN, Infinity]) {
        await assert.rejects(
          FileStorage.open(dir, { preallocate }),
          (e: unknown) => {
            assert.ok(e instanceof RangeError, String(e));
            assert.match(e.message, new RegExp(`found ${preallocate}$`));
            return true;
          },
        );
      }
      await assert.rejects(stat(dir), { code: "ENOENT" });
    });
  });

  it("writes zeros ahead of the last unit, writes saves over them without growing the file, and reads the zeros as the end of the log", async () => {
    await withDir(async (dir) => {
      await reopened(dir, [{
        hardState: { term: 1, vote: 1, commit: 0 },
        entries: range(1, 3, 1),
        snapshot: null,
      }]);
      const closed = await units(dir);
      assert.ok(closed.bytes.length >= closed.end + 2048, "zeros ahead");
      assert.ok(isZero(closed.bytes.subarray(closed.end)));
      const r = await FileStorage.open(dir, FILLED);
      assert.deepEqual(r.load().entries, range(1, 3, 1));
      await r.save({ hardState: null, entries: [entry(4, 1)], snapshot: null });
      // Written over the zeros: the file kept its size.
      assert.equal(
        (await stat(join(dir, "wal.log"))).size,
        closed.bytes.length,
      );
      await r.close();
      const again = await reopened(dir);
      assert.deepEqual(again.entries, range(1, 4, 1));
      assert.deepEqual(again.hardState, { term: 1, vote: 1, commit: 0 });
    });
  });

  it("keeps every save across many stretches of zeros, and after compaction", async () => {
    await withDir(async (dir) => {
      let s = await FileStorage.open(dir, FILLED);
      for (let i = 1; i <= 300; i++) {
        await s.save({
          hardState: { term: 1, vote: 1, commit: i - 1 },
          entries: [entry(i, 1, 100)],
          snapshot: null,
        });
        if (i % 97 === 0) {
          await s.close();
          s = await FileStorage.open(dir, FILLED);
        }
      }
      await s.compact({ ...snap, metadata: { ...snap.metadata, term: 1 } });
      for (let i = 301; i <= 320; i++) {
        await s.save({
          hardState: null,
          entries: [entry(i, 1)],
          snapshot: null,
        });
      }
      await s.close();
      const log = await units(dir);
      assert.ok(log.bytes.length > log.end, "zeros after compaction too");
      const r = await reopened(dir);
      assert.deepEqual(
        r.entries.map((e) => e.index),
        range(6, 320, 1).map((e) => e.index),
      );
      assert.equal(r.hardState.commit, 299);
    });
  });

  it("reads a crash after the zeros were written and before the first save as an empty log", async () => {
    await withDir(async (dir) => {
      await reopened(dir);
      const fresh = await units(dir);
      assert.ok(fresh.bytes.length > fresh.end);
      // As the new file is written, and with only its header there.
      for (const kept of [fresh.end, HEADER]) {
        const bytes = fresh.bytes.slice();
        bytes.fill(0, kept);
        await writeFile(join(dir, "wal.log"), bytes);
        const r = await reopened(dir, [{
          hardState: { term: 2, vote: 0, commit: 0 },
          entries: [entry(1, 2)],
          snapshot: null,
        }]);
        assert.deepEqual(r, {
          hardState: { term: 0, vote: null, commit: 0 },
          snapshot: null,
          entries: [],
        });
        const again = await reopened(dir);
        assert.deepEqual(again.entries, [entry(1, 2)]);
        assert.equal(again.hardState.term, 2);
      }
    });
  });

  it("cuts a save torn in the zero-filled space at every tear point, and leaves none of its bytes behind the next save", async () => {
    await withDir(async (dir) => {
      await reopened(dir, [{
        hardState: { term: 1, vote: 1, commit: 0 },
        entries: range(1, 3, 1),
        snapshot: null,
      }, {
        hardState: { term: 2, vote: 1, commit: 3 },
        entries: [{
          term: 2,
          index: 4,
          type: "normal",
          data: plantedRecords(),
        }],
        snapshot: null,
      }]);
      const full = await units(dir);
      const lastStart = full.starts.at(-1)!;
      const tears: Uint8Array[] = [];
      // The save reached the disk up to `cut`: zeros after it (a cut in
      // the zero bytes the save ends with is no tear: the save is whole).
      const lastNonZero = full.bytes.findLastIndex((b, i) => i < full.end && b);
      for (let cut = lastStart + 1; cut <= lastNonZero; cut++) {
        const torn = full.bytes.slice();
        torn.fill(0, cut, full.end);
        tears.push(torn);
      }
      // A page in its middle never reached the disk, its end did.
      const holed = full.bytes.slice();
      holed.fill(0, lastStart + 20, lastStart + 40);
      tears.push(holed);
      for (const [i, torn] of tears.entries()) {
        await writeFile(join(dir, "wal.log"), torn);
        const r = await reopened(dir, [{
          hardState: null,
          entries: [entry(4, 7, 1)],
          snapshot: null,
        }]);
        assert.deepEqual(
          [r.hardState.term, r.entries.length],
          [1, 3],
          `tear ${i}`,
        );
        const after = await units(dir);
        assert.equal(after.starts.length, full.starts.length, `tear ${i}`);
        assert.ok(isZero(after.bytes.subarray(after.end)), `tear ${i}`);
        const again = await reopened(dir);
        assert.deepEqual(again.entries.at(-1), entry(4, 7, 1));
      }
    });
  });

  it("refuses damage followed by an intact save, and a save zeroed in the middle of the log, leaving the file as it was", async () => {
    await withDir(async (dir) => {
      await reopened(
        dir,
        [1, 2, 3].map((i) => ({
          hardState: { term: i, vote: 1, commit: 0 },
          entries: [entry(i, i, 100)],
          snapshot: null,
        })),
      );
      const full = await units(dir);
      const second = full.starts[2];
      const flipped = full.bytes.slice();
      flipped[second + 40] ^= 0x55;
      const zeroed = full.bytes.slice();
      zeroed.fill(0, second, full.starts[3]);
      for (const bad of [flipped, zeroed]) {
        await writeFile(join(dir, "wal.log"), bad);
        await assert.rejects(FileStorage.open(dir, FILLED), (e: unknown) => {
          assert.ok(e instanceof StorageCorruptionError, String(e));
          assert.equal(e.offset, second);
          return true;
        });
        assert.deepEqual(
          new Uint8Array(await readFile(join(dir, "wal.log"))),
          bad,
        );
      }
    });
  });
});

describe("FileStorage format versions", () => {
  async function writeLegacy(dir: string, wal: Uint8Array): Promise<void> {
    await writeFile(join(dir, "wal.log"), wal);
    await writeFile(join(dir, "snapshot.bin"), legacySnapshot);
  }

  it("reads the files of k8s-operator 0.1.0 and rewrites them in the current versions", async () => {
    await withDir(async (dir) => {
      await writeLegacy(dir, legacyWal);
      const s = await FileStorage.open(dir);
      assert.deepEqual(s.load(), legacyState);
      const wal = new Uint8Array(await readFile(join(dir, "wal.log")));
      const snapshot = new Uint8Array(
        await readFile(join(dir, "snapshot.bin")),
      );
      assert.equal(new TextDecoder().decode(wal.subarray(0, 8)), "RAFT-WAL");
      assert.equal(new DataView(wal.buffer).getUint32(8), 3);
      assert.equal(new DataView(snapshot.buffer).getUint32(8), 2);
      assert.equal(
        new TextDecoder().decode(snapshot.subarray(0, 8)),
        "RAFTSNAP",
      );
      await s.save({ hardState: null, entries: [entry(8, 2)], snapshot: null });
      await s.close();
      const r = await FileStorage.open(dir);
      assert.deepEqual(r.load(), {
        ...legacyState,
        entries: [...legacyState.entries, entry(8, 2)],
      });
      await r.close();
    });
  });

  it("cuts a torn 0.1.0 record whose entry holds a valid-looking record", async () => {
    await withDir(async (dir) => {
      const payload = new Writer();
      payload.u8(2);
      payload.u32(1);
      writeEntry(payload, {
        term: 2,
        index: 8,
        type: "normal",
        data: plantedRecords(),
      });
      const record = legacyRecord(payload.finish().slice());
      const planted = legacyRecord(hardStatePayload(99));
      const plantedEnd = indexOf(record, planted) + planted.length;
      for (let cut = plantedEnd; cut < record.length; cut += 5) {
        const wal = new Uint8Array(legacyWal.length + cut);
        wal.set(legacyWal);
        wal.set(record.subarray(0, cut), legacyWal.length);
        await writeLegacy(dir, wal);
        const s = await FileStorage.open(dir);
        assert.deepEqual(s.load(), legacyState, `a tear at byte ${cut}`);
        await s.close();
      }
    });
  });

  it("refuses a 0.1.0 log whose record length was damaged in the middle instead of cutting what follows", async () => {
    await withDir(async (dir) => {
      for (const length of [0x7fffff00, 0x0000002c]) {
        const wal = legacyWal.slice();
        // The second record (at byte 29) gets a wrong length.
        new DataView(wal.buffer).setUint32(29 + 4, length);
        await writeLegacy(dir, wal);
        await assert.rejects(FileStorage.open(dir), (e: unknown) => {
          assert.ok(e instanceof StorageCorruptionError, String(e));
          assert.equal(e.offset, 29);
          return true;
        });
        assert.deepEqual(
          new Uint8Array(await readFile(join(dir, "wal.log"))),
          wal,
          "a refused file is left as it was",
        );
      }
    });
  });

  it("reads a log of version 2 (no zeros ahead), cutting its torn tail, and rewrites it in version 3", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir, UNFILLED);
      await s.save({
        hardState: { term: 2, vote: 1, commit: 1 },
        entries: range(1, 4, 2),
        snapshot: null,
      });
      await s.save({ hardState: null, entries: [entry(5, 2)], snapshot: null });
      await s.close();
      const v3 = new Uint8Array(await readFile(join(dir, "wal.log")));
      // The same units under a version 2 header, the last save torn.
      const v2 = v3.slice(0, v3.length - 3);
      const header = new DataView(v2.buffer);
      header.setUint32(8, 2);
      header.setUint32(20, crc32(v2.subarray(0, 20)));
      await writeFile(join(dir, "wal.log"), v2);
      const r = await FileStorage.open(dir);
      assert.deepEqual(r.load().entries, range(1, 4, 2));
      assert.deepEqual(r.load().hardState, { term: 2, vote: 1, commit: 1 });
      await r.close();
      const rewritten = new Uint8Array(await readFile(join(dir, "wal.log")));
      assert.equal(new DataView(rewritten.buffer).getUint32(8), 3);
      const again = await FileStorage.open(dir);
      assert.deepEqual(again.load().entries, range(1, 4, 2));
      await again.close();
    });
  });

  it("refuses files of a newer format version, naming both versions and leaving them as they were", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir);
      await s.save({
        hardState: null,
        entries: range(1, 6, 1),
        snapshot: null,
      });
      await s.compact(snap);
      await s.close();
      for (
        const [file, current] of [["wal.log", 3], ["snapshot.bin", 2]] as const
      ) {
        const path = join(dir, file);
        const good = new Uint8Array(await readFile(path));
        const newer = good.slice();
        new DataView(newer.buffer).setUint32(8, current + 1);
        await writeFile(path, newer);
        await assert.rejects(FileStorage.open(dir), (e: unknown) => {
          assert.ok(e instanceof StorageVersionError, String(e));
          assert.equal(e.file, path);
          assert.deepEqual([e.found, e.expected], [current + 1, current]);
          assert.match(
            e.message,
            new RegExp(`version ${current} .*found version ${current + 1}`),
          );
          return true;
        });
        assert.deepEqual(new Uint8Array(await readFile(path)), newer);
        await writeFile(path, good);
      }
    });
  });
});
