/**
 * Internal: the `incarnation` file of a {@linkcode FileStorage} data
 * directory, which holds the storage's incarnation (see `ConfState`): a
 * random number written once, with the storage's first save, and read at
 * every open. A directory whose volume was wiped has none, so the node
 * starts as a new incarnation.
 *
 * Format, version 1: `"RAFTINC" | version u8 (1) | incarnation f64 |
 * crc32 u32` of the 16 bytes before, 20 bytes in all. It is replaced
 * atomically (temporary file, sync, rename, sync of the directory).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "./_crc32.ts";
import { writeAtomically } from "./_files.ts";

const MAGIC = new TextEncoder().encode("RAFTINC");
const VERSION = 1;
const SIZE = 20;
const NAME = "incarnation";

/**
 * Raised by `FileStorage.open` when the data directory's `incarnation` file is
 * damaged or of another format version. The file is left as it was.
 *
 * @example
 * ```ts
 * import { FileStorage, IncarnationFileError } from "@k8s-operator/k8s-operator/raft";
 * async function open(dir: string): Promise<FileStorage> {
 *   try {
 *     return await FileStorage.open(dir);
 *   } catch (error) {
 *     // Moving the directory aside is safe: the node rejoins as a new member.
 *     if (error instanceof IncarnationFileError) console.error(error.message);
 *     throw error;
 *   }
 * }
 * ```
 */
export class IncarnationFileError extends Error {
  /** Describes what was expected and what was found. */
  constructor(message: string, path: string) {
    super(`${message} (${path})`);
    this.name = "IncarnationFileError";
  }
}

/** The incarnation stored in `dir`, or `undefined` when there is none. */
export async function readIncarnation(
  dir: string,
): Promise<number | undefined> {
  const path = join(dir, NAME);
  let bytes: Uint8Array;
  try {
    const b = await readFile(path);
    bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return undefined;
    throw error;
  }
  if (bytes.length !== SIZE || !MAGIC.every((c, i) => bytes[i] === c)) {
    throw new IncarnationFileError(
      `Expected a ${SIZE}-byte incarnation file starting with "RAFTINC", found ${bytes.length} bytes`,
      path,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SIZE);
  if (bytes[7] !== VERSION) {
    throw new IncarnationFileError(
      `Expected incarnation file version ${VERSION}, found version ${bytes[7]}`,
      path,
    );
  }
  if (view.getUint32(16) !== crc32(bytes.subarray(0, 16))) {
    throw new IncarnationFileError(
      "Expected the incarnation file's checksum to match, found it damaged",
      path,
    );
  }
  const incarnation = view.getFloat64(8);
  if (!Number.isSafeInteger(incarnation) || incarnation <= 0) {
    throw new IncarnationFileError(
      `Expected a positive safe integer incarnation, found ${incarnation}`,
      path,
    );
  }
  return incarnation;
}

/** Stores `incarnation` in `dir`, durably, before it resolves. */
export async function writeIncarnation(
  dir: string,
  incarnation: number,
): Promise<void> {
  const bytes = new Uint8Array(SIZE);
  bytes.set(MAGIC);
  bytes[7] = VERSION;
  const view = new DataView(bytes.buffer);
  view.setFloat64(8, incarnation);
  view.setUint32(16, crc32(bytes.subarray(0, 16)));
  // Written in full or failed (StorageWriteError), like every file of the
  // storage.
  await writeAtomically(dir, { name: NAME, bytes });
}
