/**
 * The layering of the library (issue 14), over the whole import graph:
 *
 * - each library folder imports only the folders (and npm packages) its
 *   rule below allows, never another folder's `_private.ts` module, and the
 *   rules are a hierarchy (no cycle between folders);
 * - each library folder has a `mod.ts` and a README that states what it
 *   owns and, word for word, what it may import;
 * - the top level holds only `mod.ts`, configuration, docs and folders;
 * - `examples/` uses only the published entry points, `bench/` never
 *   imports `tests/`;
 * - no source file is over 900 lines, but the Raft core and the few listed
 *   with their reason;
 * - the Raft core is pure (issue 2): `raft/core.ts` and
 *   `raft/memory_storage.ts`, with everything they import, import only each
 *   other and `common/leadership.ts` (no npm, `node:` or `jsr:` module) and
 *   touch no clock, timer, randomness, I/O or runtime global.
 *
 * Deno-only: it reads the sources.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** A library folder's rule: the folders and npm packages it may import. */
interface Rule {
  folders: string[];
  npm: string[];
}

/**
 * Who may import whom, bottom to top. A folder may always import its own
 * files and `node:` built-ins. Each README states its line.
 */
const RULES: Record<string, Rule> = {
  platform: { folders: [], npm: [] },
  common: { folders: [], npm: [] },
  raft: { folders: ["common", "platform"], npm: [] },
  discovery: { folders: ["common", "platform"], npm: [] },
  client: {
    folders: ["common", "platform"],
    npm: ["@kubernetes/client-node", "re2js", "undici"],
  },
  controller: { folders: ["client", "common", "platform"], npm: [] },
  crd: { folders: ["client", "common", "platform"], npm: ["typebox"] },
  sharding: { folders: ["common", "platform"], npm: [] },
  metrics: {
    folders: ["common", "controller", "platform", "raft"],
    npm: ["prom-client"],
  },
  operator: {
    folders: [
      "client",
      "common",
      "controller",
      "discovery",
      "metrics",
      "platform",
      "raft",
      "sharding",
    ],
    npm: [],
  },
  testing: {
    folders: ["client", "common", "controller", "operator", "platform", "raft"],
    npm: ["@kubernetes/client-node", "js-yaml"],
  },
};

/** What may sit at the top level besides folders and dotfiles. */
const TOP_LEVEL = [
  "CHANGELOG.md",
  "LICENSE-APACHE",
  "LICENSE-MIT",
  "README.md",
  "deno.json",
  "deno.lock",
  "mod.ts",
];

/** The longest a source file may be, in lines. */
const MAX_LINES = 900;

/** The files allowed to be longer, and why. */
const LONG_FILES: Record<string, string> = {
  "raft/core.ts": "the Raft state machine, one job (issue 14)",
  "tests/crd/corpus/definitions.ts": "data: the corpus's CRD definitions",
};

/** The Raft core's roots, and the one shared module it may import. */
const CORE_ROOTS = ["raft/core.ts", "raft/memory_storage.ts"];
const CORE_SHARED = ["common/leadership.ts"];

/** Banned in the core: what reads the world or keeps time. */
const BANNED: [string, RegExp][] = [
  ["the clock", /\bDate\b|\bperformance\b/],
  ["Math.random", /Math\.random/],
  ["timers", /\b(setTimeout|setInterval|queueMicrotask|setImmediate)\b/],
  ["runtime globals", /\b(Deno|process|globalThis|require)\b/],
  ["I/O", /\b(fetch|console|WebSocket|XMLHttpRequest)\b/],
  ["dynamic import", /\bimport\s*\(/],
];

/** The source without comments (doc examples import the published names). */
function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/**
 * Every module a source names: static imports and re-exports, dynamic
 * `import()`, and module URLs (`new URL("./x.ts", import.meta.url)`, a
 * script a test or harness starts).
 */
function specifiers(source: string): string[] {
  const text = code(source);
  const found = [
    ...text.matchAll(/\bfrom\s+"([^"]+)"|\bimport\s+"([^"]+)"/g),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
    ...text.matchAll(/new URL\(\s*"([^"]+\.ts)",\s*import\.meta\.url/g),
  ];
  return found.map((m) => m[1] ?? m[2]);
}

/** The npm package an import names (`npm:x@1/y`, or a bare name), or null. */
function npmPackage(specifier: string): string | null {
  if (specifier.startsWith(".") || specifier.startsWith("node:")) return null;
  const bare = specifier.replace(/^npm:\/?/, "");
  const match = /^((?:@[^/@]+\/)?[^/@]+)/.exec(bare);
  return match ? match[1] : specifier;
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...await tsFiles(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** One import: from which file, the specifier, and the file it names. */
interface Edge {
  from: string;
  specifier: string;
  to: string | null;
}

async function edgesOf(file: string): Promise<Edge[]> {
  const source = await readFile(join(ROOT, file), "utf8");
  return specifiers(source).map((specifier) => ({
    from: file,
    specifier,
    to: specifier.startsWith(".")
      ? relative(ROOT, normalize(join(ROOT, dirname(file), specifier)))
      : null,
  }));
}

function folderOf(path: string): string {
  const slash = path.indexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

function isPrivate(path: string): boolean {
  return path.slice(path.lastIndexOf("/") + 1).startsWith("_");
}

/** The breaches of the rules by the imports of `file` (a library file). */
function breaches(edges: Edge[]): string[] {
  const found: string[] = [];
  for (const { from, specifier, to } of edges) {
    const own = folderOf(from);
    const rule = RULES[own];
    if (to === null) {
      const pkg = npmPackage(specifier);
      if (pkg !== null && !rule.npm.includes(pkg)) {
        found.push(`${from} imports ${specifier}: ${own}/ may not use ${pkg}`);
      }
      continue;
    }
    const target = folderOf(to);
    if (target === own) continue;
    if (!rule.folders.includes(target)) {
      found.push(`${from} imports ${to}: ${own}/ may not import ${target}/`);
    } else if (isPrivate(to)) {
      found.push(`${from} imports ${to}: private to ${target}/`);
    }
  }
  return found;
}

/** The rule a folder's README states: a paragraph `**May import:** …; npm: ….` */
function statedRule(readme: string): Rule | null {
  const line = readme.split(/\n\s*\n/)
    .find((paragraph) => paragraph.startsWith("**May import:** "));
  if (line === undefined) return null;
  const [folders, npm = ""] = line.split("; npm:");
  return {
    folders: [...folders.matchAll(/`([a-z]+)\/`/g)].map((m) => m[1]).sort(),
    npm: [...npm.matchAll(/`([^`]+)`/g)].map((m) => m[1]).sort(),
  };
}

async function exists(path: string): Promise<boolean> {
  return await stat(join(ROOT, path)).then(() => true, () => false);
}

async function publishedEntries(): Promise<string[]> {
  const config = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8"));
  return Object.values(config.exports as Record<string, string>)
    .map((path) => normalize(path));
}

async function coreClosure(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const pending = [...CORE_ROOTS];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (files.has(name)) continue;
    const source = await readFile(join(ROOT, name), "utf8");
    files.set(name, source);
    for (const edge of await edgesOf(name)) {
      if (edge.to !== null) pending.push(edge.to);
    }
  }
  return files;
}

describe("the library's layers", () => {
  it("each folder imports only the folders and npm packages its rule allows, never another's private modules", async () => {
    const found: string[] = [];
    for (const folder of Object.keys(RULES)) {
      for (const file of await tsFiles(folder)) {
        found.push(...breaches(await edgesOf(file)));
      }
    }
    assert.deepEqual(found, []);
  });

  it("the rules form a hierarchy: no folder reaches itself through others", () => {
    const cycles: string[] = [];
    const visit = (folder: string, path: string[]) => {
      for (const next of RULES[folder].folders) {
        if (path.includes(next)) cycles.push([...path, next].join(" → "));
        else visit(next, [...path, next]);
      }
    };
    for (const folder of Object.keys(RULES)) visit(folder, [folder]);
    assert.deepEqual(cycles, []);
  });

  it("each folder has a mod.ts and a README saying what it owns and, as the rule says, what it may import", async () => {
    const found: string[] = [];
    for (const [folder, rule] of Object.entries(RULES)) {
      if (!await exists(`${folder}/mod.ts`)) found.push(`${folder}/mod.ts`);
      const readme = await readFile(join(ROOT, folder, "README.md"), "utf8")
        .catch(() => "");
      if (!/^\*\*Owns:\*\* \S/m.test(readme)) {
        found.push(`${folder}/README.md: no **Owns:** line`);
      }
      const stated = statedRule(readme);
      const expected = {
        folders: [...rule.folders].sort(),
        npm: [...rule.npm].sort(),
      };
      if (JSON.stringify(stated) !== JSON.stringify(expected)) {
        found.push(
          `${folder}/README.md: **May import:** says ${
            JSON.stringify(stated)
          }, the rule ${JSON.stringify(expected)}`,
        );
      }
    }
    assert.deepEqual(found, []);
  });

  it("the root README's table of layers lists each folder with its rule", async () => {
    const text = await readFile(join(ROOT, "README.md"), "utf8");
    const readme = text.slice(
      text.indexOf("| may import"),
      text.indexOf("## The parts"),
    );
    const table = new Map<string, string[]>();
    for (
      const [, folder, cell] of readme.matchAll(
        /^\| `([a-z]+)\/` +\| (.*) \|$/gm,
      )
    ) {
      if (!(folder in RULES)) continue;
      const allowed = cell.replace(/\(.*?\)/g, "").matchAll(/`([a-z]+)\/`/g);
      table.set(folder, [...allowed].map((m) => m[1]).sort());
    }
    const expected = new Map(
      Object.entries(RULES).map(([f, rule]) => [f, [...rule.folders].sort()]),
    );
    assert.deepEqual(table, expected);
  });

  it("the top level holds only mod.ts, configuration, docs, licences and folders", async () => {
    const strays: string[] = [];
    for (const entry of await readdir(ROOT, { withFileTypes: true })) {
      if (entry.isDirectory() || entry.name.startsWith(".")) continue;
      if (!TOP_LEVEL.includes(entry.name)) strays.push(entry.name);
    }
    assert.deepEqual(strays, []);
  });

  it("mod.ts and deno.json's exports name only folders' mod.ts (and platform/)", async () => {
    const found: string[] = [];
    for (const { to } of await edgesOf("mod.ts")) {
      if (to === null || /^[a-z]+\/mod\.ts$/.test(to)) continue;
      if (folderOf(to) !== "platform") found.push(`mod.ts imports ${to}`);
    }
    for (const entry of await publishedEntries()) {
      if (entry !== "mod.ts" && !/^[a-z]+\/mod\.ts$/.test(entry)) {
        found.push(`deno.json exports ${entry}`);
      }
    }
    assert.deepEqual(found, []);
  });

  it("examples/ uses only published entry points; bench/ never imports tests/", async () => {
    const entries = await publishedEntries();
    const found: string[] = [];
    for (const file of await tsFiles("examples")) {
      for (const { to } of await edgesOf(file)) {
        if (
          to !== null && folderOf(to) !== "examples" && !entries.includes(to)
        ) {
          found.push(`${file} imports ${to}`);
        }
      }
    }
    for (const file of await tsFiles("bench")) {
      for (const { to } of await edgesOf(file)) {
        if (to !== null && folderOf(to) === "tests") {
          found.push(`${file} imports ${to}`);
        }
      }
    }
    assert.deepEqual(found, []);
  });

  it(`no source file is over ${MAX_LINES} lines but the listed ones`, async () => {
    const folders = [...Object.keys(RULES), "bench", "examples", "scripts"];
    const long: string[] = [];
    for (const folder of [...folders, "tests"]) {
      for (const file of await tsFiles(folder)) {
        const text = await readFile(join(ROOT, file), "utf8");
        const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
        if (lines > MAX_LINES && !(file in LONG_FILES)) {
          long.push(`${file}: ${lines} lines`);
        }
      }
    }
    assert.deepEqual(long, []);
  });

  it("the checks see a forbidden folder, a private module, a package and a stated rule", () => {
    const edges: Edge[] = [
      {
        from: "raft/node.ts",
        specifier: "../controller/x.ts",
        to: "controller/x.ts",
      },
      {
        from: "controller/a.ts",
        specifier: "../client/_p.ts",
        to: "client/_p.ts",
      },
      { from: "raft/node.ts", specifier: "npm:undici@8", to: null },
      { from: "raft/node.ts", specifier: "node:fs", to: null },
      {
        from: "raft/node.ts",
        specifier: "../common/log.ts",
        to: "common/log.ts",
      },
    ];
    assert.equal(breaches(edges).length, 3);
    assert.deepEqual(
      specifiers(
        '/** import "npm:x"; */\nimport { a } from "./a.ts";\nconst u = new URL("./child.ts", import.meta.url);\nawait import("./b.ts");',
      ),
      ["./a.ts", "./b.ts", "./child.ts"],
    );
    assert.deepEqual(
      statedRule(
        "x\n\n**May import:** `common/`, `platform/`; npm:\n`undici`.\n\n`raft/`",
      ),
      { folders: ["common", "platform"], npm: ["undici"] },
    );
    assert.deepEqual(statedRule("**May import:** nothing; npm: none.\n"), {
      folders: [],
      npm: [],
    });
  });
});

describe("the Raft core is pure", () => {
  it("imports only its sibling modules in raft/ and the shared leadership types", async () => {
    const files = await coreClosure();
    assert.ok(files.has("raft/_log.ts") && files.has("raft/types.ts"));
    const foreign = [...files.keys()].filter((name) =>
      folderOf(name) !== "raft" && !CORE_SHARED.includes(name)
    );
    const packages: string[] = [];
    for (const name of files.keys()) {
      for (const { specifier, to } of await edgesOf(name)) {
        if (to === null) packages.push(`${name} imports ${specifier}`);
      }
    }
    assert.deepEqual([...foreign, ...packages], []);
  });

  it("reads no clock, keeps no timers, draws no Math.random and does no I/O", async () => {
    const found: string[] = [];
    for (const [name, source] of await coreClosure()) {
      for (const [what, pattern] of BANNED) {
        const hit = pattern.exec(code(source));
        if (hit !== null) found.push(`${name}: ${what} (${hit[0]})`);
      }
    }
    assert.deepEqual(found, []);
  });

  it("the checks see a forbidden import and a forbidden call", () => {
    const bad =
      'import { serve } from "../platform/mod.ts";\nconst t = Date.now();';
    assert.deepEqual(specifiers(bad), ["../platform/mod.ts"]);
    assert.ok(BANNED[0][1].test(code(bad)));
    assert.deepEqual(specifiers('/** import { x } from "npm:y"; */'), []);
  });
});
