/**
 * A child process for the storage tests that need a process of their own (a
 * file-size limit, a full disk, a system-call trace). One JSON argument:
 *
 * - `{ mode: "write", dir, entryBytes, count, snapshotEvery?, snapshotBytes?,
 *   ballast? }`:
 *   opens a `FileStorage` in `dir` and saves entries `1..count` one per
 *   save, each with hard state `{ term: i, vote: 1, commit: i - 1 }`,
 *   printing `{"ack":i}` once a save resolved; with `snapshotEvery`,
 *   compacts after every that many entries with a snapshot of
 *   `snapshotBytes` bytes, printing `{"compacted":i}`. The first failure
 *   prints `{"failed":i,"error":name,"message":…,"loaded":last index
 *   load() reports,"retry":"refused"|"accepted"}` and the process exits 0:
 *   `retry` says whether one more small write was refused after deleting
 *   the file `ballast` (space freed on a full disk).
 * - `{ mode: "read", dir }`: opens the storage and prints `{"recovered":
 *   { term, vote, commit, snapshotIndex, indexes }}`, or `{"error":…}`.
 *
 * @module
 */
import { rm } from "node:fs/promises";
import { args } from "../../platform/mod.ts";
import { FileStorage } from "../../raft/file_storage.ts";
import type { Entry } from "../../raft/types.ts";

interface WriteConfig {
  mode: "write";
  dir: string;
  entryBytes: number;
  count: number;
  snapshotEvery?: number;
  snapshotBytes?: number;
  ballast?: string;
}

interface ReadConfig {
  mode: "read";
  dir: string;
}

/** The bytes of entry `index`: its index repeated, so a torn one shows. */
function entryData(index: number, size: number): Uint8Array {
  return new Uint8Array(size).fill(index % 251);
}

const config = JSON.parse(args()[0]) as WriteConfig | ReadConfig;
const print = (line: Record<string, unknown>) =>
  console.log(JSON.stringify(line));

if (config.mode === "read") {
  try {
    const storage = await FileStorage.open(config.dir);
    const state = storage.load();
    const size = (e: Entry) => e.data.length;
    print({
      recovered: {
        ...state.hardState,
        snapshotIndex: state.snapshot?.metadata.index ?? 0,
        indexes: state.entries.map((e) => e.index),
        intact: state.entries.every((e) =>
          e.data.every((b) => b === e.index % 251) && size(e) > 0
        ),
      },
    });
    await storage.close();
  } catch (error) {
    print({ error: (error as Error).name, message: (error as Error).message });
  }
} else {
  const storage = await FileStorage.open(config.dir);
  let i = 1;
  try {
    for (; i <= config.count; i++) {
      await storage.save({
        hardState: { term: i, vote: 1, commit: i - 1 },
        entries: [{
          term: i,
          index: i,
          type: "normal",
          data: entryData(i, config.entryBytes),
        }],
        snapshot: null,
      });
      print({ ack: i });
      if (config.snapshotEvery && i % config.snapshotEvery === 0) {
        await storage.compact({
          metadata: {
            index: i,
            term: i,
            conf: { voters: [0, 1, 2], learners: [] },
          },
          data: new Uint8Array(config.snapshotBytes ?? 0).fill(7),
        });
        print({ compacted: i });
      }
    }
  } catch (error) {
    const loaded = storage.load().entries.at(-1)?.index ?? 0;
    if (config.ballast !== undefined) await rm(config.ballast);
    let retry: "refused" | "accepted";
    try {
      await storage.save({
        hardState: { term: i, vote: 1, commit: 0 },
        entries: [],
        snapshot: null,
      });
      retry = "accepted";
    } catch {
      retry = "refused";
    }
    print({
      failed: i,
      error: (error as Error).name,
      message: (error as Error).message,
      loaded,
      retry,
    });
  }
}
