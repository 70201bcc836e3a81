/**
 * The runtime check every entry point runs first, at import: on a Node or
 * Deno older than the package needs it throws
 * {@linkcode UnsupportedRuntimeError} ("needs Node ≥ 22.19.0, found
 * 20.20.2") instead of failing later and deep inside a dependency (undici
 * under Node 20: `Cannot read properties of undefined (reading 'bind')`).
 *
 * Runtime-neutral on purpose: it reads `Deno.version` or
 * `process.versions` through `globalThis` and imports nothing, so it runs
 * before any module that could fail on an old runtime.
 *
 * @module
 */

/** The oldest Node the npm package supports (that of `@kubernetes/client-node` 2 and undici 8). */
export const MIN_NODE_VERSION = "22.19.0";

/**
 * The oldest Deno the module supports: the one CI tests (`.ci/run`); no
 * older Deno is tested.
 */
export const MIN_DENO_VERSION = "2.9.6";

/**
 * The runtime is older than the package supports (or is neither Node nor
 * Deno). Thrown at import by every entry point.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnsupportedRuntimeError } from "@k8s-operator/k8s-operator";
 * const error = new UnsupportedRuntimeError({ runtime: "node", found: "20.20.2", needed: "22.19.0" });
 * assert.match(error.message, /^k8s-operator needs Node ≥ 22\.19\.0, found 20\.20\.2/);
 * ```
 */
export class UnsupportedRuntimeError extends Error {
  /** The runtime found: `node`, `deno`, or `unknown`. */
  readonly runtime: "node" | "deno" | "unknown";
  /** The version found (`""` for an unknown runtime). */
  readonly found: string;
  /** The oldest version supported. */
  readonly needed: string;

  /** Creates the error for `runtime` at version `found`. */
  constructor(
    init: {
      runtime: "node" | "deno" | "unknown";
      found: string;
      needed: string;
    },
  ) {
    super(
      init.runtime === "unknown"
        ? `k8s-operator needs Node ≥ ${MIN_NODE_VERSION} or Deno ≥ ${MIN_DENO_VERSION}, found neither`
        : `k8s-operator needs ${
          init.runtime === "node" ? "Node" : "Deno"
        } ≥ ${init.needed}, found ${init.found} (${
          init.runtime === "node"
            ? "install Node 22.19 or later, or Node 24"
            : "run `deno upgrade`"
        })`,
    );
    this.name = "UnsupportedRuntimeError";
    this.runtime = init.runtime;
    this.found = init.found;
    this.needed = init.needed;
  }
}

/**
 * Compares two `major.minor.patch` versions (a pre-release suffix is
 * ignored): negative when `a` is older.
 */
function compareVersions(a: string, b: string): number {
  const parts = (v: string) =>
    v.replace(/^v/, "").split(/[-+]/)[0].split(".").map((p) =>
      Number.parseInt(p, 10) || 0
    );
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The runtime's versions as the check reads them. */
export interface RuntimeVersions {
  /** `Deno.version.deno`, when running under Deno. */
  deno?: string;
  /** `process.versions.node`, under Node (Deno sets it too; Deno wins). */
  node?: string;
}

/**
 * Throws {@linkcode UnsupportedRuntimeError} unless `versions` (default:
 * this process's) name a supported runtime. Deno is checked first, since
 * Deno also sets `process.versions.node`.
 *
 * @example
 * ```ts
 * import { checkRuntimeVersion } from "@k8s-operator/k8s-operator";
 * checkRuntimeVersion({ node: "24.11.0" }); // passes
 * try {
 *   checkRuntimeVersion({ node: "20.20.2" });
 * } catch (error) {
 *   console.log((error as Error).message); // k8s-operator needs Node ≥ 22.19.0, found 20.20.2 ...
 * }
 * ```
 */
export function checkRuntimeVersion(
  versions: RuntimeVersions = currentVersions(),
): void {
  if (versions.deno !== undefined) {
    if (compareVersions(versions.deno, MIN_DENO_VERSION) < 0) {
      throw new UnsupportedRuntimeError({
        runtime: "deno",
        found: versions.deno,
        needed: MIN_DENO_VERSION,
      });
    }
    return;
  }
  if (versions.node !== undefined) {
    if (compareVersions(versions.node, MIN_NODE_VERSION) < 0) {
      throw new UnsupportedRuntimeError({
        runtime: "node",
        found: versions.node,
        needed: MIN_NODE_VERSION,
      });
    }
    return;
  }
  throw new UnsupportedRuntimeError({
    runtime: "unknown",
    found: "",
    needed: "",
  });
}

function currentVersions(): RuntimeVersions {
  const global = globalThis as {
    Deno?: { version?: { deno?: string } };
    process?: { versions?: { node?: string } };
  };
  return {
    deno: global.Deno?.version?.deno,
    node: global.process?.versions?.node,
  };
}
