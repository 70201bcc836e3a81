/**
 * Finds the Kubernetes binaries for the envtest runs and prints their
 * folder (for `KUBEBUILDER_ASSETS`), or nothing with the reason on stderr.
 *
 * `KUBEBUILDER_ASSETS`, when set, wins. Otherwise the xz-compressed 1.32
 * binaries in `../shared/k8s` beside the repository (where CI keeps them)
 * are decompressed into `.tools/k8s/` (ignored by git), each only when it is
 * missing or older than its archive.
 *
 * Usage: `deno run -A scripts/envtest_assets.ts` (what `.ci/run` and
 * `deno task test:envtest` do).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { getEnv } from "../platform/mod.ts";

/** The binaries envtest needs (the controller manager is optional). */
export const BINARIES = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
] as const;

/** Options of {@link prepareAssets}. */
export interface PrepareAssetsOptions {
  /** The repository root. */
  root: string;
  /** `KUBEBUILDER_ASSETS` as set by the caller, if at all. */
  assets?: string;
  /** Where the compressed binaries are (default `<root>/../shared/k8s`). */
  source?: string;
}

/** What {@link prepareAssets} found. */
export interface Assets {
  /** The folder for `KUBEBUILDER_ASSETS`, or `undefined` when there is none. */
  dir: string | undefined;
  /** What was done, or why there is no folder. */
  message: string;
}

async function mtime(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** `xz -dc archive > target`, through a temporary file, then `chmod +x`. */
function decompress(archive: string, target: string): Promise<void> {
  const partial = `${target}.partial`;
  return new Promise<void>((resolvePromise, reject) => {
    const out = createWriteStream(partial, { mode: 0o755 });
    const xz = spawn("xz", ["-dc", archive], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    xz.stderr.on("data", (chunk) => stderr += chunk);
    xz.stdout.pipe(out);
    xz.once("error", reject);
    xz.once("close", (code) => {
      if (code !== 0) {
        reject(new Error(`xz -dc ${archive} exited ${code}: ${stderr.trim()}`));
        return;
      }
      if (out.writableFinished) resolvePromise();
      else out.once("finish", () => resolvePromise());
    });
  }).then(async () => {
    await chmod(partial, 0o755);
    await rename(partial, target);
  }, async (error) => {
    await rm(partial, { force: true });
    throw error;
  });
}

/**
 * Finds or makes the binaries' folder.
 *
 * @example
 * ```ts ignore
 * // Not run: it may download etcd and kube-apiserver (about 100 MB).
 * const { dir, message } = await prepareAssets({ root: "." });
 * ```
 */
export async function prepareAssets(
  options: PrepareAssetsOptions,
): Promise<Assets> {
  if (options.assets) {
    return {
      dir: options.assets,
      message: `KUBEBUILDER_ASSETS is set: ${options.assets}`,
    };
  }
  const source = options.source ?? resolve(options.root, "..", "shared", "k8s");
  const present = await Promise.all(
    BINARIES.map((b) => mtime(join(source, `${b}.xz`))),
  );
  if (present[0] === undefined || present[1] === undefined) {
    return {
      dir: undefined,
      message: `no Kubernetes binaries: KUBEBUILDER_ASSETS is not set and ` +
        `${source} holds no etcd.xz and kube-apiserver.xz`,
    };
  }
  const dir = join(options.root, ".tools", "k8s");
  await mkdir(dir, { recursive: true });
  const done: string[] = [];
  for (const [i, binary] of BINARIES.entries()) {
    const archived = present[i];
    if (archived === undefined) continue;
    const target = join(dir, binary);
    const current = await mtime(target);
    if (current !== undefined && current >= archived) continue;
    await decompress(join(source, `${binary}.xz`), target);
    done.push(binary);
  }
  return {
    dir,
    message: done.length > 0
      ? `decompressed ${done.join(", ")} from ${source} into ${dir}`
      : `${dir} is up to date with ${source}`,
  };
}

if (import.meta.main) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const { dir, message } = await prepareAssets({
    root,
    assets: getEnv("KUBEBUILDER_ASSETS"),
  });
  console.error(`envtest assets: ${message}`);
  if (dir) console.log(dir);
}
