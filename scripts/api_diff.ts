/**
 * `deno task api:diff`: compares the public API (every symbol exported by
 * each entry point `deno.json` publishes, with its signature as
 * `deno doc --json` describes it) of the working tree against a git ref or
 * a saved snapshot. Documentation and source locations are left out (also
 * the import path through which a type reference resolves): a moved file
 * or a reworded comment is no API change; a renamed, removed or
 * added export, or a changed parameter, property or type, is.
 *
 * Prints one line per changed symbol (`+` added, `-` removed, `~` changed
 * with the paths that differ) and a summary; exits 1 when anything changed,
 * 0 when the API is the same.
 *
 * Usage:
 *
 * ```sh
 * deno task api:diff                      # against main
 * deno task api:diff --ref 49ee6ca        # against a commit
 * deno task api:diff --snapshot api.json  # against a saved snapshot
 * deno task api:diff --write api.json     # saves the working tree's API
 * ```
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { args, exit } from "../platform/mod.ts";
import { type DenoConfig, entryPoints } from "./npm_package.ts";

/** A JSON value. */
export type Json =
  | null
  | boolean
  | number
  | string
  | Json[]
  | { [key: string]: Json };

/** Entry point (`"."`, `"./raft"`, …) → symbol name → its signature. */
export type ApiSnapshot = Record<string, Record<string, Json>>;

/** One difference between two snapshots. */
export interface ApiChange {
  /** The entry point, as `deno.json` names it. */
  entry: string;
  /** The exported symbol. */
  symbol: string;
  /** What happened to it. */
  change: "added" | "removed" | "changed";
  /** For `changed`: the JSON paths whose values differ (at most five). */
  paths: string[];
}

/**
 * The keys that say where a symbol or a type it names is written (its
 * file, the import a reference resolves through), how it is documented,
 * and whether a function is written `async` (it returns a promise either
 * way), not what it is.
 */
const NOT_SIGNATURE = new Set(["location", "jsDoc", "resolution", "isAsync"]);

/**
 * `value` without documentation, source locations and the details of
 * private members (that one exists, a private constructor say, is kept), at
 * any depth.
 */
export function withoutDocs(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutDocs);
  if (value === null || typeof value !== "object") return value;
  if (value.accessibility === "private") {
    return { accessibility: "private", name: value.name ?? null };
  }
  const out: Record<string, Json> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!NOT_SIGNATURE.has(key)) out[key] = withoutDocs(item);
  }
  return out;
}

interface DocNode {
  symbols: { name: string; declarations: { [key: string]: Json }[] }[];
}

/**
 * The signatures of the symbols of one `deno doc --json` output: each
 * symbol's declarations other than re-exports (`reference`), without
 * documentation and locations. A symbol re-exported from another file has
 * the same signature as where it is defined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signatures } from "./api_diff.ts";
 * const doc = { version: 2, nodes: { "file:///m.ts": { symbols: [{ name: "f", declarations: [
 *   { kind: "function", location: { line: 1 }, jsDoc: { doc: "F." }, def: { params: [] } },
 * ] }] } } };
 * assert.deepEqual(signatures(doc), { f: [{ kind: "function", def: { params: [] } }] });
 * ```
 */
export function signatures(doc: unknown): Record<string, Json> {
  const { nodes } = doc as { nodes: Record<string, DocNode> };
  const out: Record<string, Json> = {};
  for (const node of Object.values(nodes)) {
    for (const symbol of node.symbols) {
      const own = symbol.declarations.filter((d) => d.kind !== "reference");
      out[symbol.name] = withoutDocs(own as Json);
    }
  }
  return out;
}

/** The JSON paths at which `a` and `b` differ, in order, at most `limit`. */
export function differingPaths(a: Json, b: Json, limit = 5): string[] {
  const found: string[] = [];
  const walk = (x: Json, y: Json, path: string) => {
    if (found.length >= limit) return;
    const bothObjects = x !== null && y !== null && typeof x === "object" &&
      typeof y === "object" && Array.isArray(x) === Array.isArray(y);
    if (!bothObjects) {
      if (JSON.stringify(x) !== JSON.stringify(y)) found.push(path || "/");
      return;
    }
    const xs = x as Record<string, Json>;
    const ys = y as Record<string, Json>;
    const keys = [...new Set([...Object.keys(xs), ...Object.keys(ys)])];
    for (const key of keys) {
      if (!(key in xs) || !(key in ys)) {
        if (found.length < limit) found.push(`${path}/${key}`);
      } else walk(xs[key], ys[key], `${path}/${key}`);
    }
  };
  walk(a, b, "");
  return found;
}

/**
 * Every difference between two snapshots, sorted by entry and symbol.
 *
 * @example
 * ```ts
 * import { diffApi } from "./api_diff.ts";
 * diffApi({ ".": { f: 1, g: 2 } }, { ".": { f: 1, h: 3 } });
 * // [{ entry: ".", symbol: "g", change: "removed", paths: [] },
 * //  { entry: ".", symbol: "h", change: "added", paths: [] }]
 * ```
 */
export function diffApi(before: ApiSnapshot, after: ApiSnapshot): ApiChange[] {
  const changes: ApiChange[] = [];
  const entries = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .sort();
  for (const entry of entries) {
    const a = before[entry] ?? {};
    const b = after[entry] ?? {};
    const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const symbol of names) {
      if (!(symbol in b)) {
        changes.push({ entry, symbol, change: "removed", paths: [] });
      } else if (!(symbol in a)) {
        changes.push({ entry, symbol, change: "added", paths: [] });
      } else if (JSON.stringify(a[symbol]) !== JSON.stringify(b[symbol])) {
        const paths = differingPaths(a[symbol], b[symbol]);
        changes.push({ entry, symbol, change: "changed", paths });
      }
    }
  }
  return changes;
}

/** The report: one line per change, then a summary line. */
export function formatChanges(changes: readonly ApiChange[]): string {
  const mark = { added: "+", removed: "-", changed: "~" };
  const lines = changes.map((c) =>
    `${mark[c.change]} ${c.entry} ${c.symbol}${
      c.paths.length > 0 ? `  (${c.paths.join(", ")})` : ""
    }`
  );
  const count = (kind: ApiChange["change"]) =>
    changes.filter((c) => c.change === kind).length;
  lines.push(
    changes.length === 0
      ? "api: unchanged"
      : `api: ${count("added")} added, ${count("removed")} removed, ${
        count("changed")
      } changed`,
  );
  return lines.join("\n");
}

/** The API of the tree in `dir`: every entry point of its `deno.json`. */
export function snapshotOf(dir: string): ApiSnapshot {
  const config = JSON.parse(
    readFileSync(join(dir, "deno.json"), "utf8"),
  ) as DenoConfig;
  const snapshot: ApiSnapshot = {};
  for (const entry of entryPoints(config)) {
    const out = execFileSync(
      process.execPath,
      ["doc", "--json", entry.source],
      { cwd: dir, maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] },
    );
    snapshot[entry.subpath] = signatures(JSON.parse(out.toString()));
  }
  return snapshot;
}

/** The API at git ref `ref` of the repository in `dir`. */
export function snapshotAtRef(dir: string, ref: string): ApiSnapshot {
  const tree = mkdtempSync(join(tmpdir(), "api-diff-"));
  try {
    const archive = execFileSync("git", ["archive", "--format=tar", ref], {
      cwd: dir,
      maxBuffer: 1 << 30,
    });
    execFileSync("tar", ["-x", "-C", tree], { input: archive });
    return snapshotOf(tree);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

function option(name: string): string | undefined {
  const given = args();
  const i = given.indexOf(name);
  return i === -1 ? undefined : given[i + 1];
}

if (import.meta.main) {
  const cwd = process.cwd();
  const write = option("--write");
  const after = snapshotOf(cwd);
  if (write !== undefined) {
    writeFileSync(write, JSON.stringify(after) + "\n");
    console.log(`api: saved ${write}`);
    exit(0);
  }
  const saved = option("--snapshot");
  const before = saved !== undefined
    ? JSON.parse(readFileSync(saved, "utf8")) as ApiSnapshot
    : snapshotAtRef(cwd, option("--ref") ?? "main");
  const changes = diffApi(before, after);
  console.log(formatChanges(changes));
  exit(changes.length === 0 ? 0 : 1);
}
