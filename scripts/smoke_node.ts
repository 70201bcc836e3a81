/**
 * The tarball smoke test: packs the built npm package, installs the tarball
 * into a fresh project, and under Node imports every entry point (checking
 * each exports the same names as under Deno), type-checks a TypeScript
 * consumer against the shipped declarations, and starts a three-node Raft
 * cluster on loopback until it has a leader.
 *
 * @module
 */
import ts from "typescript";
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { BuildResult } from "./npm_package.ts";
import { moduleSpecifiers, NODE_TYPES, run } from "./npm_package.ts";

/** How to run the smoke test. */
export interface SmokeOptions {
  /** The Node executable to run the consumer with. */
  node: string;
  /** The project root (where the Deno sources are). */
  root: string;
  /** Print progress lines. */
  log?: (line: string) => void;
}

/** What the smoke test saw. */
export interface SmokeResult {
  /** The packed tarball's file name. */
  tarball: string;
  /** Entry points imported under Node, with the names each exports. */
  exports: Record<string, string[]>;
  /** The cluster's outcome once it had exactly one leader. */
  cluster: ClusterOutcome;
}

/** The three-node cluster once exactly one node leads and all agree. */
export interface ClusterOutcome {
  /** The leader's node id. */
  leader: number;
  /** The term it leads in, the same on every node. */
  term: number;
  /** How many nodes reported themselves leader at that moment (always 1). */
  leaders: number;
  /** Milliseconds from the first listening transport to agreement. */
  elapsedMs: number;
}

/** The smoke test found the package broken. */
export class SmokeError extends Error {
  /** Creates the error with a message that says what is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "SmokeError";
  }
}

/**
 * The consumer program run under Node: imports every entry point by its
 * package specifier and prints the exported names, then runs the cluster.
 */
const CONSUMER = `
import process from "node:process";
const [packageName, subpathsJson] = process.argv.slice(2);
const exports = {};
for (const subpath of JSON.parse(subpathsJson)) {
  const specifier = subpath === "." ? packageName : packageName + subpath.slice(1);
  exports[subpath] = Object.keys(await import(specifier)).sort();
}
const { cluster } = await import("./cluster.mjs");
const outcome = await cluster(await import(packageName + "/raft"));
console.log(JSON.stringify({ exports, cluster: outcome }));
process.exit(0);
`;

/**
 * The three-node cluster on loopback: `RaftNode`, `HttpTransport`,
 * `MemoryStorage` and `KeyValueStore` from the package, ids 0, 1, 2, every
 * transport on port 0; resolves once exactly one node reports itself leader
 * and every node names it as leader in its term, or fails after a deadline.
 */
const CLUSTER = `
const NEEDED = ["RaftNode", "HttpTransport", "MemoryStorage", "KeyValueStore"];
const DEADLINE_MS = 30000;

export async function cluster(raft) {
  const missing = NEEDED.filter((name) => typeof raft[name] !== "function");
  if (missing.length > 0) {
    throw new Error("Expected k8s-operator/raft to export " + NEEDED.join(", ") +
      ", found no " + missing.join(", "));
  }
  const ids = [0, 1, 2];
  const urls = new Map();
  const nodes = new Map();
  const transports = ids.map((id) => new raft.HttpTransport({
    id,
    clusterId: "smoke",
    secret: "smoke-secret",
    peerUrl: (peer) => urls.get(peer),
    onMessages: (messages) => nodes.get(id)?.receive(messages),
  }));
  const started = performance.now();
  try {
    for (const [i, transport] of transports.entries()) {
      const port = await transport.listen({ port: 0, hostname: "127.0.0.1" });
      urls.set(ids[i], "http://127.0.0.1:" + port);
    }
    let timer;
    const elected = new Promise((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error("Expected one leader within " + DEADLINE_MS + " ms, found none")),
        DEADLINE_MS,
      );
      const check = () => {
        if (nodes.size < ids.length) return;
        const statuses = [...nodes.values()].map((n) => n.status());
        const leaders = statuses.filter((s) => s.role === "leader");
        if (leaders.length !== 1) return;
        const [leader] = leaders;
        if (
          statuses.every((s) => s.leader === leader.id && s.term === leader.term)
        ) {
          resolve({ leader: leader.id, term: leader.term, leaders: leaders.length });
        }
      };
      for (const [i, transport] of transports.entries()) {
        raft.RaftNode.start({
          id: ids[i],
          storage: new raft.MemoryStorage(),
          bootstrap: { voters: ids, learners: [] },
          stateMachine: new raft.KeyValueStore(),
          send: (messages) => transport.send(messages),
          tickMs: 50,
        }).then((node) => {
          nodes.set(ids[i], node);
          node.onRoleChange(check);
          check();
        }, reject);
      }
    });
    const outcome = await elected.finally(() => clearTimeout(timer));
    return { ...outcome, elapsedMs: Math.round(performance.now() - started) };
  } finally {
    await Promise.all([...nodes.values()].map((n) => n.stop().catch(() => {})));
    await Promise.all(transports.map((t) => t.close()));
  }
}
`;

/**
 * Packs `build.outDir`, installs the tarball in a fresh project and runs the
 * consumer under `options.node`. Throws `SmokeError` when an entry point is
 * missing, exports other names than under Deno, the declarations do not
 * type-check, or the cluster elects no leader.
 *
 * @example
 * ```ts ignore
 * // Not run: it starts three operator processes on Node from the npm build.
 * const result = await smokeNode(build, { node: "node", root: "." });
 * ```
 */
export async function smokeNode(
  build: BuildResult,
  options: SmokeOptions,
): Promise<SmokeResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const name = build.packageJson.name;
  const dir = await mkdtemp(join(tmpdir(), "k8s-operator-smoke-"));
  try {
    const packed = JSON.parse(
      await run("npm", {
        args: ["pack", "--json", "--pack-destination", dir, "--loglevel=error"],
        cwd: build.outDir,
      }),
    ) as { filename: string; entryCount: number }[];
    const tarball = join(dir, packed[0].filename);
    log(`smoke: packed ${packed[0].filename} (${packed[0].entryCount} files)`);
    const app = join(dir, "app");
    await mkdir(app);
    await writeFile(
      join(app, "package.json"),
      JSON.stringify({ name: "smoke", private: true, type: "module" }),
    );
    await run("npm", {
      args: [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--loglevel=error",
        tarball,
        NODE_TYPES,
      ],
      cwd: app,
    });
    log(`smoke: installed the tarball into a fresh project`);

    const checked = await checkSpecifiers(
      join(app, "node_modules", name),
      build.packageJson,
    );
    log(
      `smoke: every import in ${checked} shipped files resolves in the package`,
    );

    typeCheckConsumer(app, build);
    log(`smoke: a TypeScript consumer type-checks against the declarations`);

    await writeFile(join(app, "consumer.mjs"), CONSUMER);
    await writeFile(join(app, "cluster.mjs"), CLUSTER);
    const subpaths = build.entryPoints.map((e) => e.subpath);
    const output = await run(options.node, {
      args: ["consumer.mjs", name, JSON.stringify(subpaths)],
      cwd: app,
    });
    const lastLine = output.trim().split("\n").at(-1) ?? "";
    const seen = JSON.parse(lastLine) as Omit<SmokeResult, "tarball">;

    for (const entry of build.entryPoints) {
      const url = pathToFileURL(resolve(options.root, entry.source)).href;
      const expected = Object.keys(await import(url)).sort();
      const actual = seen.exports[entry.subpath];
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        throw new SmokeError(
          `Expected "${entry.subpath}" to export ${JSON.stringify(expected)} ` +
            `under Node as under Deno, found ${JSON.stringify(actual)}`,
        );
      }
    }
    log(
      `smoke: ${subpaths.length} entry points import under Node with the ` +
        `same exports as under Deno`,
    );
    return { tarball: packed[0].filename, ...seen };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Type-checks a consumer that imports every entry point by package name,
 * with `nodenext` resolution and the package's declarations checked too.
 */
function typeCheckConsumer(app: string, build: BuildResult): void {
  const lines = build.entryPoints.map((e, i) => {
    const spec = e.subpath === "."
      ? build.packageJson.name
      : build.packageJson.name + e.subpath.slice(1);
    return `import * as entry${i} from "${spec}";\nexport { entry${i} };`;
  });
  const file = join(app, "consumer.ts");
  const host = ts.createCompilerHost({});
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    lib: ["lib.es2024.d.ts"],
    types: ["node"],
    typeRoots: [join(app, "node_modules", "@types")],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
  };
  const read = host.readFile.bind(host);
  host.readFile = (f) => resolve(f) === file ? lines.join("\n") : read(f);
  const exists = host.fileExists.bind(host);
  host.fileExists = (f) => resolve(f) === file || exists(f);
  const program = ts.createProgram({ rootNames: [file], options, host });
  const ours = join(app, "node_modules", build.packageJson.name);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) =>
    !d.file || d.file.fileName === file || d.file.fileName.startsWith(ours)
  );
  if (diagnostics.length > 0) {
    throw new SmokeError(
      `Expected a consumer to type-check against the package's declarations, ` +
        `found:\n` +
        ts.formatDiagnostics(diagnostics, {
          getCanonicalFileName: (f) => f,
          getCurrentDirectory: () => app,
          getNewLine: () => "\n",
        }),
    );
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...await listFiles(path));
    else out.push(path);
  }
  return out;
}

/**
 * Checks every module specifier in the shipped `.js` and `.d.ts` files: a
 * relative one must end in `.js` (or `.json`) and name a file in the
 * package, a bare one must be a Node built-in or a declared dependency.
 * Returns how many files were checked.
 */
async function checkSpecifiers(
  dir: string,
  packageJson: BuildResult["packageJson"],
): Promise<number> {
  const files = (await listFiles(dir)).filter((f) =>
    /\.(m?js|d\.m?ts)$/.test(f)
  );
  const deps = new Set(Object.keys(packageJson.dependencies));
  const problems: string[] = [];
  for (const file of files) {
    const text = await readFile(file, "utf8");
    for (const specifier of moduleSpecifiers(file, text)) {
      const where = `${relative(dir, file)}: "${specifier}"`;
      if (specifier.startsWith(".")) {
        const target = resolve(dirname(file), specifier);
        const present = await stat(target).then(() => true, () => false);
        if (!/\.(m?js|json)$/.test(specifier)) {
          problems.push(`${where} does not end in .js`);
        } else if (!present) problems.push(`${where} is not in the package`);
      } else if (
        !specifier.startsWith("node:") && !builtinModules.includes(specifier)
      ) {
        const bare = /^(@[^/]+\/[^/]+|[^/]+)/.exec(specifier)?.[1] ?? "";
        if (!deps.has(bare)) {
          problems.push(`${where} is not a dependency of the package`);
        }
      }
    }
  }
  if (problems.length > 0) {
    throw new SmokeError(
      `Expected every import in the package to resolve, found:\n` +
        problems.join("\n"),
    );
  }
  return files.length;
}

/** Reads the version a Node executable reports, e.g. `v24.11.0`. */
export async function nodeVersion(node: string): Promise<string> {
  return (await run(node, { args: ["--version"], cwd: "." })).trim();
}
