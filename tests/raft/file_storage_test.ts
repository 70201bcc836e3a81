import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
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
} from "../../raft/file_storage.ts";
import type { Entry, Snapshot } from "../../raft/types.ts";
import { below, seeded } from "./_random.ts";

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
      const s = await FileStorage.open(dir);
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
        const cut = below(random, full.length);
        await writeFile(join(dir, "wal.log"), full.subarray(0, cut));
        const r = await FileStorage.open(dir);
        const saves = sizes.filter((n) => n <= cut).length;
        const state = r.load();
        // Each save wrote an entries record then a hard-state record.
        assert.ok(
          state.entries.length === saves || state.entries.length === saves + 1,
        );
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
        const again = await FileStorage.open(dir);
        await again.save({
          hardState: null,
          entries: [entry(state.entries.length + 1, 99)],
          snapshot: null,
        });
        await again.close();
        const last = await FileStorage.open(dir);
        assert.equal(last.load().entries.at(-1)?.term, 99);
        await last.close();
      }
    });
  });

  it("refuses to start on a corrupted byte before the last record, and drops only a damaged last record", async () => {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir);
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
        const at = below(random, full.length);
        const bad = new Uint8Array(full);
        bad[at] ^= 1 + below(random, 255);
        await writeFile(join(dir, "wal.log"), bad);
        if (at < lastStart) {
          await assert.rejects(FileStorage.open(dir), (e: unknown) => {
            assert.ok(e instanceof StorageCorruptionError);
            assert.match(e.message, /damaged/);
            return true;
          });
          assert.deepEqual(
            new Uint8Array(await readFile(join(dir, "wal.log"))),
            bad,
            "a refused file is left as it was",
          );
          refused++;
        } else {
          const r = await FileStorage.open(dir);
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
