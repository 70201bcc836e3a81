/**
 * Internal: file-writing steps that durable storage needs on both runtimes,
 * written against `node:fs/promises` (which Deno implements too).
 *
 * - {@linkcode writeFully}: a `write` may store fewer bytes than asked (a
 *   full disk, a file-size limit) and Node then resolves without an error;
 *   this keeps writing until every byte is stored, or throws.
 * - {@linkcode syncDir}: a new name in a directory (a created file, a
 *   rename, a new subdirectory) survives a crash only once the directory
 *   itself is synced.
 * - {@linkcode ensureDir}: creates missing directories, syncing each parent.
 * - {@linkcode writeAtomically}: temporary file, full write, sync, rename,
 *   directory sync.
 *
 * @module
 */
import { mkdir, open, rename, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

/**
 * Raised when bytes could not all be written to a file (a full disk, a
 * file-size limit, an I/O error). What was written before the failure may be
 * on disk: the writer must not report the write as done.
 *
 * @example
 * ```ts
 * import { type RaftNode, StorageWriteError } from "@k8s-operator/k8s-operator/raft";
 * // What a liveness probe might report about a node that stopped.
 * function diskTrouble(node: RaftNode): string | null {
 *   const failure = node.failure;
 *   return failure instanceof StorageWriteError
 *     ? `disk trouble on ${failure.file}: ${failure.message}`
 *     : null;
 * }
 * ```
 */
export class StorageWriteError extends Error {
  /** The file that was being written. */
  readonly file: string;
  /** Describes what was expected and what happened. */
  constructor(
    message: string,
    options: { file: string; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = "StorageWriteError";
    this.file = options.file;
  }
}

/** The part of a `FileHandle` that {@linkcode writeFully} uses. */
export interface WritableHandle {
  /**
   * Writes `length` bytes of `buffer` from `offset`, at `position` in the
   * file (or at its current position when `undefined`); may write fewer.
   */
  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position?: number,
  ): Promise<{ bytesWritten: number }>;
}

/**
 * Writes every byte of `bytes` through `handle` (at byte `position` of the
 * file when given, else at its current position), calling `write` again
 * after a short write. Throws {@linkcode StorageWriteError} naming `file`
 * when a write fails or makes no progress.
 */
export async function writeFully(
  handle: WritableHandle,
  target: { bytes: Uint8Array; file: string; position?: number },
): Promise<void> {
  const { bytes, file, position } = target;
  let done = 0;
  while (done < bytes.length) {
    let written: number;
    try {
      ({ bytesWritten: written } = await (position === undefined
        ? handle.write(bytes, done, bytes.length - done)
        : handle.write(bytes, done, bytes.length - done, position + done)));
    } catch (error) {
      throw new StorageWriteError(
        `Expected to write ${bytes.length} bytes to ${file}, wrote ${done} before the write failed: ${
          (error as Error).message
        }`,
        { file, cause: error },
      );
    }
    if (!Number.isSafeInteger(written) || written <= 0) {
      throw new StorageWriteError(
        `Expected to write ${bytes.length} bytes to ${file}, wrote ${done} and then a write stored ${written}`,
        { file },
      );
    }
    done += written;
  }
}

/**
 * Syncs a file's data to disk (`fdatasync`); throws
 * {@linkcode StorageWriteError} naming `file` when it fails.
 */
export async function syncFile(
  handle: { datasync(): Promise<void> },
  target: { file: string },
): Promise<void> {
  try {
    await handle.datasync();
  } catch (error) {
    throw new StorageWriteError(
      `Expected to sync ${target.file} to disk, found the sync failed: ${
        (error as Error).message
      }`,
      { file: target.file, cause: error },
    );
  }
}

/** Syncs the directory `dir`, so that names created or renamed in it persist. */
export async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return false;
    throw error;
  }
}

/**
 * Creates `dir` and any missing ancestors, syncing the parent of each
 * directory it creates, so that the new entries survive a crash.
 */
export async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(dir);
  while (!(await exists(at))) {
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const path of missing) {
    await mkdir(path, { recursive: true });
    await syncDir(dirname(path));
  }
}

/**
 * Replaces `dir/name` with `bytes` atomically: writes `name.tmp` fully,
 * syncs it, renames it over `name` and syncs the directory.
 */
export async function writeAtomically(
  dir: string,
  file: { name: string; bytes: Uint8Array },
): Promise<void> {
  const tmp = join(dir, `${file.name}.tmp`);
  const h = await open(tmp, "w");
  try {
    await writeFully(h, { bytes: file.bytes, file: tmp });
    await syncFile(h, { file: tmp });
  } finally {
    await h.close();
  }
  await rename(tmp, join(dir, file.name));
  await syncDir(dir);
}
