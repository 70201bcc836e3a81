/**
 * A FileStorage keeps its incarnation in its data directory: written with
 * the first save, read back at every open, refused when damaged or of
 * another version; a wiped directory has none, so the node starts as a new
 * incarnation.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStorage } from "../../raft/file_storage.ts";
import { RaftCore } from "../../raft/core.ts";

const bootstrap = { voters: [1, 2, 3], learners: [] };

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "raft-incarnation-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Opens the storage, builds a core on it, and saves its first ready. */
async function boot(dir: string, incarnation: number): Promise<number> {
  const storage = await FileStorage.open(dir, { fsync: false });
  const core = new RaftCore({
    id: 1,
    state: storage.load(),
    bootstrap,
    random: () => 0.5,
    incarnation,
  });
  const ready = core.ready();
  await storage.save({ ...ready, snapshot: null });
  await storage.close();
  return core.status().incarnation;
}

describe("the incarnation of a FileStorage", () => {
  it("is written with the first save and kept across reopening; a wiped directory starts a new one", async () => {
    await withDir(async (dir) => {
      assert.equal(await boot(dir, 11), 11, "a new storage takes the new one");
      assert.equal(await boot(dir, 22), 11, "a reopened one keeps its own");
      await rm(dir, { recursive: true });
      assert.equal(await boot(dir, 33), 33, "a wiped one is new again");
    });
  });

  it("refuses a damaged or unknown-version incarnation file, naming it", async () => {
    await withDir(async (dir) => {
      await boot(dir, 44);
      const path = join(dir, "incarnation");
      const good = await readFile(path);
      const flipped = new Uint8Array(good);
      flipped[12] ^= 0xff;
      await writeFile(path, flipped);
      await assert.rejects(
        FileStorage.open(dir),
        (e: Error) =>
          e.name === "IncarnationFileError" && /checksum/.test(e.message) &&
          e.message.includes(path),
      );
      const newer = new Uint8Array(good);
      newer[7] = 9;
      await writeFile(path, newer);
      await assert.rejects(
        FileStorage.open(dir),
        (e: Error) => /version 1, found version 9/.test(e.message),
      );
      await writeFile(path, good.subarray(0, 5));
      await assert.rejects(FileStorage.open(dir), /20-byte incarnation file/);
    });
  });
});
