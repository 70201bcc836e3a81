/**
 * The npm build, as functions: reads `deno.json`, walks the import graph
 * from every entry point and every test, writes `package.json`, installs the
 * dependencies, type-checks with the TypeScript compiler and emits
 * JavaScript and declarations with their import specifiers rewritten for
 * Node. `scripts/build_npm.ts` is the command line around it.
 *
 * Specifiers are rewritten as follows, in JavaScript and declarations alike:
 * relative `x.ts` becomes `x.js`, a Deno-only `x.deno.ts` becomes its twin
 * `x.node.js`, `npm:pkg@1.2.3/sub` and a bare name mapped to it in
 * `deno.json` become `pkg/sub`, `node:` stays. `jsr:`, `http:` and `https:`
 * imports fail the build.
 *
 * @module
 */
import ts from "typescript";
import { spawn } from "node:child_process";
import {
  copyFile,
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import {
  type MappedSpecifier,
  mapSpecifier,
  moduleSpecifiers,
  NpmBuildError,
  sourceTwin,
  specifierTransformer,
  toJsPath,
} from "./npm_specifiers.ts";

export * from "./npm_specifiers.ts";

/** The type definitions of Node the build compiles against (build only). */
export const NODE_TYPES = "@types/node@22.20.5";

/** The Node versions the package supports (those of client-node). */
export const NODE_ENGINES = ">=22.19.0";

/** The npm package name used when `deno.json` has none. */
export const DEFAULT_NPM_NAME = "k8s-operator";

/** Where the sources live publicly. */
export const REPOSITORY = "https://github.com/k8s-operator/k8s-operator";

/** Words npm search indexes the package by. */
export const KEYWORDS: readonly string[] = [
  "kubernetes",
  "k8s",
  "operator",
  "controller",
  "raft",
  "leader-election",
  "high-availability",
  "deno",
];

/** Files copied beside the package.json when they exist. */
export const COPIED_FILES: readonly string[] = [
  "LICENSE-APACHE",
  "LICENSE-MIT",
];

/**
 * The package's README for Node users (install, ESM, the Node version,
 * TypeBox, a JavaScript example), written as `README.md` into the package;
 * the repository's README is Deno's.
 */
export const NPM_README = "scripts/npm_readme.md";

/** The parts of `deno.json` the build reads. */
export interface DenoConfig {
  /** The JSR name, `@scope/name`. */
  name?: string;
  /** The version, shared by both registries. */
  version?: string;
  /** The SPDX license expression. */
  license?: string;
  /** Entry points: `"."` or `"./sub"` to a `.ts` file, or a single path. */
  exports?: string | Record<string, string>;
  /** The import map: bare names to `npm:` or `node:` specifiers. */
  imports?: Record<string, string>;
}

/** One entry point of the package. */
export interface EntryPoint {
  /** The subpath in `exports`: `"."` or `"./raft"`. */
  subpath: string;
  /** The source file, relative to the root: `raft/mod.ts`. */
  source: string;
  /** The emitted module, relative to the package: `./raft/mod.js`. */
  js: string;
  /** Its declarations: `./raft/mod.d.ts`. */
  types: string;
}

/** How to build. */
export interface BuildOptions {
  /** The project root holding `deno.json` (default: the working directory). */
  root?: string;
  /** Where the package is written (default: `<root>/npm`). */
  outDir?: string;
  /** Print progress lines (default true). */
  log?: (line: string) => void;
}

/** What a build produced. */
export interface BuildResult {
  /** The package directory. */
  outDir: string;
  /** The written `package.json`. */
  packageJson: PackageJson;
  /** Every entry point. */
  entryPoints: EntryPoint[];
  /** Compiled test files, relative to `outDir`, to run with `node --test`. */
  testFiles: string[];
  /** Source files compiled (library and tests), relative to the root. */
  sourceFiles: string[];
}

/** The fields of the generated `package.json`. */
export interface PackageJson {
  /** The npm name. */
  name: string;
  /** The version. */
  version: string;
  /** The first paragraph of the root entry point's module doc. */
  description: string;
  /** Always `"module"`. */
  type: "module";
  /** The root entry point's module. */
  main: string;
  /** The root entry point's declarations. */
  types: string;
  /** Subpath exports with `types` and `default` conditions. */
  exports: Record<string, { types: string; default: string }>;
  /** The files the tarball holds. */
  files: string[];
  /** Supported Node versions. */
  engines: { node: string };
  /** SPDX license expression. */
  license: string;
  /** Source repository. */
  repository: { type: "git"; url: string };
  /** Search keywords. */
  keywords: string[];
  /** npm packages the library imports. */
  dependencies: Record<string, string>;
  /** npm packages only the tests import. */
  devDependencies: Record<string, string>;
}

/**
 * The names the tests of a project declare Deno-only: `*_deno_test.ts`
 * files (and helpers named `*_deno.ts`) are not compiled for Node.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(isDenoOnly("tests/raft/files_deno_test.ts"), true);
 * ```
 */
export function isDenoOnly(path: string): boolean {
  return /_deno(_test)?\.ts$/.test(basename(path));
}

/** The entry points declared by `deno.json` `exports`. */
export function entryPoints(config: DenoConfig): EntryPoint[] {
  const exports = typeof config.exports === "string"
    ? { ".": config.exports }
    : config.exports ?? {};
  const entries = Object.entries(exports);
  if (entries.length === 0) {
    throw new NpmBuildError(
      `Expected "exports" in deno.json to name at least one module, found none`,
    );
  }
  return entries.map(([subpath, path]) => {
    if (!/\.ts$/.test(path)) {
      throw new NpmBuildError(
        `Expected the export "${subpath}" to be a .ts file, found "${path}"`,
      );
    }
    const source = path.replace(/^\.\//, "");
    const js = `./${toJsPath(source)}`;
    return { subpath, source, js, types: js.replace(/\.m?js$/, ".d.ts") };
  });
}

interface Graph {
  files: Set<string>;
  npm: Map<string, { version: string; importer: string }>;
}

async function walk(
  roots: string[],
  imports: Record<string, string>,
): Promise<Graph> {
  const graph: Graph = { files: new Set(), npm: new Map() };
  const queue = [...roots];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (graph.files.has(file)) continue;
    graph.files.add(file);
    if (!/\.m?tsx?$/.test(file)) continue;
    const text = await readFile(file, "utf8");
    for (const specifier of moduleSpecifiers(file, text)) {
      let mapped: MappedSpecifier;
      try {
        mapped = mapSpecifier(specifier, imports);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new NpmBuildError(`${file}: ${message}`);
      }
      if (mapped.kind === "relative") {
        const target = resolve(dirname(file), sourceTwin(specifier));
        if (!(await exists(target))) {
          throw new NpmBuildError(
            `${file}: expected the imported file "${specifier}" to exist, ` +
              `found nothing at ${target}`,
          );
        }
        queue.push(target);
      } else if (mapped.npm) {
        const { name, version } = mapped.npm;
        const known = graph.npm.get(name);
        if (known && version && known.version && known.version !== version) {
          throw new NpmBuildError(
            `Expected one version of "${name}", found "${known.version}" ` +
              `in ${known.importer} and "${version}" in ${file}`,
          );
        }
        if (!known || (!known.version && version)) {
          graph.npm.set(name, { version, importer: file });
        }
      }
    }
  }
  return graph;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function listTs(dir: string): Promise<string[]> {
  if (!(await exists(dir))) return [];
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...await listTs(path));
    else if (/\.m?ts$/.test(entry.name) && !/\.d\.m?ts$/.test(entry.name)) {
      out.push(path);
    }
  }
  return out.sort();
}

function moduleDescription(text: string): string {
  const match = /^\s*\/\*\*([\s\S]*?)\*\//.exec(text);
  if (!match) return "";
  const lines = match[1].split("\n").map((l) => l.replace(/^\s*\* ?/, ""));
  const paragraph: string[] = [];
  for (const line of lines) {
    if (line.trim() === "" && paragraph.length > 0) break;
    if (line.trim().startsWith("@")) break;
    if (line.trim() !== "") paragraph.push(line.trim());
  }
  return paragraph.join(" ");
}

function versions(
  names: string[],
  graph: Graph,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names.sort()) {
    const { version, importer } = graph.npm.get(name)!;
    if (!version) {
      throw new NpmBuildError(
        `Expected a version for the npm package "${name}" imported by ` +
          `${importer}, found none; pin it in the "imports" of deno.json`,
      );
    }
    out[name] = version;
  }
  return out;
}

/** Runs a command; rejects with its output when it exits non-zero. */
export function run(
  command: string,
  options: { args: string[]; cwd: string },
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, options.args, {
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Uint8Array) => output += String(c));
    child.stderr.on("data", (c: Uint8Array) => output += String(c));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolvePromise(output);
      else {
        reject(
          new NpmBuildError(
            `Expected "${command} ${options.args.join(" ")}" to succeed, ` +
              `it exited with ${code}:\n${output}`,
          ),
        );
      }
    });
  });
}

/** `lib` files of the TypeScript compiler the package is checked against. */
const LIB = ["lib.es2024.d.ts", "lib.esnext.disposable.d.ts"];

/**
 * Declares `import.meta.main` (Deno, and Node from 24.2) for the build's
 * type check; on an older Node it is `undefined`, which scripts treat as
 * "imported, not run".
 */
const SHIM_NAME = "__npm_build_shim__.d.ts";
const SHIM_TEXT = "interface ImportMeta { main: boolean }\n";

/**
 * "This relative import path is unsafe to rewrite": the compiler's own
 * rewrite check, moot here since the transformer rewrites every specifier
 * (and `x.deno.ts` resolving to its twin is deliberate).
 */
const UNSAFE_REWRITE = 2876;

function compilerOptions(root: string, outDir: string): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: LIB,
    types: ["node"],
    typeRoots: [join(outDir, "node_modules", "@types")],
    strict: true,
    noImplicitOverride: true,
    useUnknownInCatchVariables: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    declaration: true,
    rootDir: root,
    outDir,
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    newLine: ts.NewLineKind.LineFeed,
  };
}

function formatDiagnostics(
  diagnostics: readonly ts.Diagnostic[],
  root: string,
): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => "\n",
  });
}

/**
 * Builds the npm package into `outDir`: package.json, dependencies
 * installed, JavaScript and declarations of the library and its tests,
 * README and licenses. Throws `NpmBuildError` on anything wrong.
 *
 * @example
 * ```ts ignore
 * // Not run: it compiles the whole package into npm/ (a minute).
 * const result = await buildNpm({ root: "." });
 * console.log(result.testFiles.length);
 * ```
 */
export async function buildNpm(
  options: BuildOptions = {},
): Promise<BuildResult> {
  const root = resolve(options.root ?? ".");
  const outDir = resolve(options.outDir ?? join(root, "npm"));
  const log = options.log ?? ((line: string) => console.log(line));
  const rel = (f: string) => relative(root, f).split(sep).join("/");
  const sources = await readSources(root, rel);
  const { config, entries, library, all } = sources;
  const runtimeDeps = [...library.npm.keys()];
  const testDeps = [...all.npm.keys()].filter((n) => !library.npm.has(n));
  const rootText = await readFile(join(root, entries[0].source), "utf8");
  const libraryFiles = [...library.files].map(rel).sort();
  const copied: string[] = [];
  for (const name of COPIED_FILES) {
    if (await exists(join(root, name))) copied.push(name);
  }
  const packageJson = packageJsonOf(sources, {
    rootText,
    libraryFiles,
    copied,
    runtimeDeps,
    testDeps,
  });
  await prepareOutDir(outDir, packageJson);
  log(
    `npm: installing ${runtimeDeps.length} dependencies, ` +
      `${testDeps.length} dev dependencies and ${NODE_TYPES}`,
  );
  await installDependencies(outDir);
  const sourceFiles = [...all.files].filter((f) => /\.m?tsx?$/.test(f)).sort();
  compile(sourceFiles, { root, outDir, imports: config.imports ?? {}, all });
  await copyAssets(all, { root, outDir, copied });
  const testFiles = sourceFiles.map(rel)
    .filter((f) => f.startsWith("tests/") && /_test\.m?ts$/.test(f))
    .map(toJsPath);
  log(
    `npm: emitted ${sourceFiles.length} modules (${libraryFiles.length} in ` +
      `the package, ${testFiles.length} test files) to ${rel(outDir)}/`,
  );
  return {
    outDir,
    packageJson,
    entryPoints: entries,
    testFiles,
    sourceFiles: sourceFiles.map(rel),
  };
}

/** What the build reads of `root`: `deno.json` and the import graphs. */
interface Sources {
  config: DenoConfig & { version: string };
  entries: EntryPoint[];
  /** What the entry points import. */
  library: Graph;
  /** What the entry points and the tests (not Deno-only) import. */
  all: Graph;
}

/**
 * Reads `deno.json` (it must have a version) and walks the import graphs
 * of the library and of the library with its tests; no Node-compiled file
 * may import a Deno-only one.
 */
async function readSources(
  root: string,
  rel: (file: string) => string,
): Promise<Sources> {
  const config = JSON.parse(
    await readFile(join(root, "deno.json"), "utf8"),
  ) as DenoConfig;
  if (!config.version) {
    throw new NpmBuildError(`Expected a "version" in deno.json, found none`);
  }
  const imports = config.imports ?? {};
  const entries = entryPoints(config);
  const entryFiles = entries.map((e) => join(root, e.source));
  const testRoots = (await listTs(join(root, "tests")))
    .filter((f) => !isDenoOnly(f));
  const library = await walk(entryFiles, imports);
  const all = await walk([...entryFiles, ...testRoots], imports);
  for (const file of all.files) {
    if (isDenoOnly(file)) {
      throw new NpmBuildError(
        `Expected no Node-compiled file to import the Deno-only ${rel(file)}`,
      );
    }
  }
  return {
    config: { ...config, version: config.version },
    entries,
    library,
    all,
  };
}

/** The package.json of the build. */
function packageJsonOf(
  sources: Sources,
  init: {
    /** The root entry point's text (its module doc is the description). */
    rootText: string;
    libraryFiles: string[];
    /** The {@linkcode COPIED_FILES} that exist. */
    copied: string[];
    runtimeDeps: string[];
    testDeps: string[];
  },
): PackageJson {
  const { config, entries, all } = sources;
  const main = entries.find((e) => e.subpath === ".");
  return {
    name: DEFAULT_NPM_NAME,
    version: config.version,
    description: moduleDescription(init.rootText),
    type: "module",
    main: main?.js ?? entries[0].js,
    types: main?.types ?? entries[0].types,
    exports: Object.fromEntries(
      entries.map((e) => [e.subpath, { types: e.types, default: e.js }]),
    ),
    files: [
      "README.md",
      ...init.libraryFiles.flatMap((f) => {
        const js = toJsPath(f);
        return /\.m?js$/.test(js)
          ? [js, js.replace(/\.(m?)js$/, ".d.$1ts")]
          : [js];
      }),
      ...init.copied,
    ],
    engines: { node: NODE_ENGINES },
    license: config.license ?? "Apache-2.0 OR MIT",
    repository: { type: "git", url: `git+${REPOSITORY}.git` },
    keywords: [...KEYWORDS],
    dependencies: versions(init.runtimeDeps, all),
    devDependencies: versions(init.testDeps, all),
  };
}

/**
 * Empties `outDir` but for its installed dependencies and writes
 * `packageJson` into it.
 */
async function prepareOutDir(
  outDir: string,
  packageJson: PackageJson,
): Promise<void> {
  await mkdir(outDir, { recursive: true });
  for (const entry of await readdir(outDir)) {
    if (entry === "node_modules" || entry === "package-lock.json") continue;
    await rm(join(outDir, entry), { recursive: true, force: true });
  }
  await writeFile(
    join(outDir, "package.json"),
    JSON.stringify(packageJson, null, 2) + "\n",
  );
}

/** `npm install` of package.json's dependencies and {@linkcode NODE_TYPES}. */
async function installDependencies(outDir: string): Promise<void> {
  await run("npm", {
    args: [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      "--no-save",
      "--loglevel=error",
      NODE_TYPES,
    ],
    cwd: outDir,
  });
}

/** Where {@linkcode compile} reads and writes. */
interface CompileInit {
  root: string;
  outDir: string;
  /** `deno.json`'s import map. */
  imports: Record<string, string>;
  /** Every file of the build. */
  all: Graph;
}

/**
 * Type-checks `sourceFiles` for Node and emits JavaScript and declarations
 * with their specifiers rewritten.
 */
function compile(sourceFiles: string[], init: CompileInit): void {
  const { root, outDir, imports } = init;
  const options = compilerOptions(root, outDir);
  const program = ts.createProgram({
    rootNames: [join(outDir, SHIM_NAME), ...sourceFiles],
    options,
    host: compilerHost(options, init),
  });
  const diagnostics = ts.getPreEmitDiagnostics(program)
    .filter((d) => d.code !== UNSAFE_REWRITE);
  if (diagnostics.length > 0) {
    throw new NpmBuildError(
      `Expected the sources to type-check for Node, found ` +
        `${diagnostics.length} error(s):\n` +
        formatDiagnostics(diagnostics, root),
    );
  }
  const map = (specifier: string) => mapSpecifier(specifier, imports).specifier;
  const emitted = program.emit(undefined, undefined, undefined, false, {
    before: [specifierTransformer(map)],
    afterDeclarations: [specifierTransformer(map)],
  });
  if (emitted.emitSkipped || emitted.diagnostics.length > 0) {
    throw new NpmBuildError(
      `Expected the compiler to emit the package, it failed:\n` +
        formatDiagnostics(emitted.diagnostics, root),
    );
  }
}

/**
 * A compiler host that serves the `import.meta.main` shim and resolves our
 * files' imports as Deno does (relative `.ts`, Deno-only twins, the import
 * map); everything else resolves as Node does.
 */
function compilerHost(
  options: ts.CompilerOptions,
  init: CompileInit,
): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  const shimPath = join(init.outDir, SHIM_NAME);
  const readSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, create) =>
    fileName === shimPath
      ? ts.createSourceFile(fileName, SHIM_TEXT, languageVersion)
      : readSourceFile(fileName, languageVersion, onError, create);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => f === shimPath || fileExists(f);
  const anchor = join(init.outDir, "__resolve__.ts");
  const ours = new Set(init.all.files);
  host.resolveModuleNameLiterals = (literals, containingFile) =>
    literals.map((literal) => {
      if (!ours.has(resolve(containingFile))) {
        return ts.resolveModuleName(
          literal.text,
          containingFile,
          options,
          host,
        );
      }
      const mapped = mapSpecifier(literal.text, init.imports);
      if (mapped.kind === "relative") {
        return resolvedRelative(resolve(
          dirname(containingFile),
          sourceTwin(literal.text),
        ));
      }
      return ts.resolveModuleName(mapped.specifier, anchor, options, host);
    });
  return host;
}

/** A relative import resolved to the file `target` itself. */
function resolvedRelative(
  target: string,
): ts.ResolvedModuleWithFailedLookupLocations {
  const extension = /\.json$/.test(target)
    ? ts.Extension.Json
    : /\.mts$/.test(target)
    ? ts.Extension.Mts
    : ts.Extension.Ts;
  return {
    resolvedModule: {
      resolvedFileName: target,
      extension,
      resolvedUsingTsExtension: extension !== ts.Extension.Json,
    },
  };
}

/**
 * Copies the README and every file that is not TypeScript beside the
 * build's files (data the modules read); of the root's, only the
 * {@linkcode COPIED_FILES}.
 */
async function copyAssets(
  all: Graph,
  init: { root: string; outDir: string; copied: string[] },
): Promise<void> {
  const { root, outDir } = init;
  await copyFile(join(root, NPM_README), join(outDir, "README.md"));
  const directories = new Set([...all.files].map((f) => dirname(f)));
  for (const dir of directories) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isFile() || /\.m?tsx?$/.test(entry.name)) continue;
      if (dir === root && !init.copied.includes(entry.name)) continue;
      const target = join(outDir, relative(root, dir), entry.name);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(join(dir, entry.name), target);
    }
  }
}
