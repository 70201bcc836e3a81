/**
 * `deno task doc:examples`: which documentation examples `deno test --doc`
 * runs, which of them assert what they show, and which are marked `ignore`
 * and why. Reads the code blocks `deno test --doc` extracts: fenced blocks
 * in a JavaScript or TypeScript language in every JSDoc comment of a `.ts`
 * file and in every Markdown file, under the paths given (by default those
 * `deno task check` runs).
 *
 * Every block falls in one of these kinds:
 *
 * - `asserts`: runs and checks its results (`assert…(…)`).
 * - `claims`: runs, but states a result in a comment (`x; // "web@1"`)
 *   without checking it (even if it asserts something else): it could be
 *   wrong and nothing would notice.
 * - `runs`: runs, claims nothing (a value built, a call whose effect is
 *   the point).
 * - `compiles`: only declares (functions of their inputs, types): type
 *   checked, and nothing of it runs.
 * - `ignored`: `ignore`d, with the reason as its first line
 *   (`// Not run: …`).
 * - `unexplained`: `ignore`d without a reason.
 *
 * Usage: `deno run --allow-read scripts/doc_examples.ts [--list KIND]
 * [--strict] [paths...]`. `--list` prints the blocks of a kind, one a line;
 * `--strict` exits 1 when a block is `claims` or `unexplained`.
 *
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { args, exit } from "../platform/mod.ts";

/** The paths `deno task check` runs `deno test --doc` on. */
export const DOC_TEST_PATHS: readonly string[] = [
  "mod.ts",
  "README.md",
  "common/",
  "raft/",
  "controller/",
  "discovery/",
  "crd/",
  "client/",
  "operator/",
  "testing/",
  "metrics/",
  "platform/",
  "sharding/",
  "scripts/",
  "examples/",
  "deploy/",
  "bench/",
];

/**
 * Files whose blocks are run elsewhere, not as doc tests, with the reason;
 * their blocks count as `ignored`.
 */
export const RUN_ELSEWHERE: Readonly<Record<string, string>> = {
  "scripts/npm_readme.md":
    "the npm README's blocks are scripts/newcomer/*.mjs, which scripts/newcomer.sh runs under Node from the packed tarball (tests/scripts/readme_test.ts checks they are the same)",
};

/** The language tags `deno test --doc` runs. */
const LANGUAGES = new Set([
  "js",
  "javascript",
  "mjs",
  "cjs",
  "jsx",
  "ts",
  "typescript",
  "mts",
  "cts",
  "tsx",
]);

/** One fenced code block that `deno test --doc` extracts. */
export interface CodeBlock {
  /** The file it is in. */
  file: string;
  /** The line of its opening fence, from 1. */
  line: number;
  /** Its language tag. */
  lang: string;
  /** Whether the fence says `ignore`. */
  ignored: boolean;
  /** Its code, without the comment's `*` margin. */
  code: string;
}

/** What a block does when `deno test --doc` meets it. */
export type ExampleKind =
  | "asserts"
  | "claims"
  | "runs"
  | "compiles"
  | "ignored"
  | "unexplained";

/** The kinds, in the order they are printed. */
export const EXAMPLE_KINDS: readonly ExampleKind[] = [
  "asserts",
  "claims",
  "runs",
  "compiles",
  "ignored",
  "unexplained",
];

/**
 * The fenced blocks of a file: every JSDoc comment of a `.ts` file, or the
 * whole of a `.md` file. Fences without a JavaScript or TypeScript language
 * tag (`sh`, `json`, none) are not extracted, as by `deno test --doc`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { extractBlocks } from "./doc_examples.ts";
 * const fence = "`".repeat(3);
 * const lines = ["/**", " * @example", ` * ${fence}ts ignore`, " * // Not run: needs a cluster.", ` * ${fence}`, " *" + "/"];
 * const text = lines.join("\n");
 * const [block] = extractBlocks(text, "a.ts");
 * assert.equal(block.line, 3);
 * assert.equal(block.ignored, true);
 * assert.equal(block.code, "// Not run: needs a cluster.");
 * ```
 */
export function extractBlocks(text: string, file: string): CodeBlock[] {
  const lines = text.split("\n");
  const blocks: CodeBlock[] = [];
  const markdown = file.endsWith(".md");
  let inComment = markdown;
  let open:
    | { line: number; lang: string; ignored: boolean; fence: string }
    | null = null;
  let body: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (!markdown && !inComment) {
      if (/^\s*\/\*\*/.test(raw) && !raw.includes("*/")) inComment = true;
      continue;
    }
    if (!markdown && /\*\/\s*$/.test(raw) && open === null) {
      inComment = false;
      continue;
    }
    const content = markdown ? raw : raw.replace(/^\s*\*\/?\s?/, "");
    if (open === null) {
      const fence = /^\s*(`{3,})([\w-]*)(.*)$/.exec(content);
      if (fence === null) continue;
      open = {
        line: i + 1,
        lang: fence[2],
        ignored: fence[3].split(/\s+/).includes("ignore"),
        fence: fence[1],
      };
      body = [];
      continue;
    }
    if (
      content.trim().startsWith(open.fence) && content.trim() === open.fence
    ) {
      if (LANGUAGES.has(open.lang)) {
        blocks.push({
          file,
          line: open.line,
          lang: open.lang,
          ignored: open.ignored,
          code: body.join("\n"),
        });
      }
      open = null;
      continue;
    }
    body.push(content);
  }
  return blocks;
}

/**
 * The reason an `ignore`d block gives as its first line (`// Not run: …`),
 * or `null` when it gives none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ignoreReason } from "./doc_examples.ts";
 * assert.equal(
 *   ignoreReason({ file: "a.ts", line: 1, lang: "ts", ignored: true, code: "// Not run: it needs a cluster.\nawait x();" }),
 *   "it needs a cluster.",
 * );
 * assert.equal(ignoreReason({ file: "a.ts", line: 1, lang: "ts", ignored: true, code: "await x();" }), null);
 * ```
 */
export function ignoreReason(block: CodeBlock): string | null {
  const first = block.code.split("\n").find((l) => l.trim() !== "") ?? "";
  const match = /^\s*\/\/\s*Not run:\s*(\S.*)$/.exec(first);
  return match === null ? null : match[1].trim();
}

/**
 * The lines of `code` that state a result in a trailing comment: code, then
 * `//` and a value (a string, a number, an array or object, `true`,
 * `false`, `null`, `undefined`, or `=>` / `→` and anything).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { claimedResults } from "./doc_examples.ts";
 * assert.deepEqual(claimedResults('console.log(id); // "web@1"\nrun(); // starts it'), ['console.log(id); // "web@1"']);
 * ```
 */
export function claimedResults(code: string): string[] {
  return code.split("\n").filter((line) => {
    const comment = trailingComment(line);
    // A comment on an assertion explains what it checks.
    if (/\bassert(\.\w+)?\s*\(/.test(line)) return false;
    return comment !== null &&
      /^(["'[{]|-?\d|true\b|false\b|null\b|undefined\b|=>|→)/.test(comment);
  });
}

/**
 * The text of the `//` comment that ends `line` after some code (strings
 * and template literals skipped), or `null` when there is none.
 */
function trailingComment(line: string): string | null {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== null) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === "`") {
      quote = c;
    } else if (c === "/" && line[i + 1] === "/") {
      return line.slice(0, i).trim() === "" ? null : line.slice(i + 2).trim();
    }
  }
  return null;
}

/**
 * The kind of a block (see the module doc).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleKind } from "./doc_examples.ts";
 * const block = (code: string, ignored = false) => ({ file: "a.ts", line: 1, lang: "ts", ignored, code });
 * assert.equal(exampleKind(block("assert.equal(f(), 3);")), "asserts");
 * assert.equal(exampleKind(block("console.log(f()); // 3")), "claims");
 * assert.equal(exampleKind(block("const x = f();")), "runs");
 * assert.equal(exampleKind(block("function g(x: number) { return f(x); }")), "compiles");
 * assert.equal(exampleKind(block("// Not run: needs a cluster.", true)), "ignored");
 * assert.equal(exampleKind(block("await f();", true)), "unexplained");
 * ```
 */
export function exampleKind(block: CodeBlock): ExampleKind {
  if (block.ignored) {
    return ignoreReason(block) === null ? "unexplained" : "ignored";
  }
  if (claimedResults(block.code).length > 0) return "claims";
  if (/\bassert(\.\w+)?\s*\(/.test(block.code)) return "asserts";
  return declaresOnly(block.code) ? "compiles" : "runs";
}

/**
 * `true` when the top level of `code` only imports and declares: types,
 * interfaces, functions, classes, and constants bound to arrow functions.
 * Reads the code as lines with a bracket depth, not as a syntax tree (a
 * bracket inside a string can fool it; this is a count, not a compiler).
 */
function declaresOnly(code: string): boolean {
  const declaration =
    /^(export\s+)?((async\s+)?function\b|interface\b|type\b|class\b|import\b|const\s+\w+(\s*:[^=]+)?\s*=\s*(async\s*)?(\([^)]*\)|\w+)\s*(:\s*[^=]+)?=>)/;
  let depth = 0;
  let continued = false;
  for (const raw of code.split("\n")) {
    const line = raw.replace(/\/\/.*$/, "").trim();
    if (line === "") continue;
    if (depth === 0 && !continued && !declaration.test(line)) return false;
    for (const c of line.replace(/(["'`])(?:\\.|(?!\1).)*\1/g, '""')) {
      if ("{([".includes(c)) depth++;
      else if ("})]".includes(c)) depth--;
    }
    continued = depth === 0 && !/[;}]$/.test(line);
  }
  return true;
}

/** The `.ts` and `.md` files under `path` (a file or a directory). */
async function filesUnder(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const out: string[] = [];
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const child = `${path.replace(/\/$/, "")}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
      out.push(...await filesUnder(child));
    } else if (/\.(ts|md)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) {
      out.push(child);
    }
  }
  return out;
}

/** Every block under `paths`, with its kind. */
export async function scan(
  paths: readonly string[],
): Promise<{ block: CodeBlock; kind: ExampleKind }[]> {
  const out: { block: CodeBlock; kind: ExampleKind }[] = [];
  for (const path of paths) {
    for (const file of await filesUnder(path)) {
      const elsewhere = Object.hasOwn(RUN_ELSEWHERE, file);
      for (const block of extractBlocks(await readFile(file, "utf8"), file)) {
        out.push({ block, kind: elsewhere ? "ignored" : exampleKind(block) });
      }
    }
  }
  return out;
}

/**
 * A table of counts per top folder: total, run by `deno test --doc`
 * (every kind but `ignored` and `unexplained`), then each kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countTable } from "./doc_examples.ts";
 * const block = { file: "raft/a.ts", line: 1, lang: "ts", ignored: false, code: "" };
 * const table = countTable([{ block, kind: "asserts" }, { block, kind: "runs" }]);
 * assert.match(table, /^raft\/\s+2\s+2\s+1\s+0\s+1\s+0\s+0\s+0$/m);
 * assert.match(table, /^total\s+2\s+2\s+1\s+0\s+1\s+0\s+0\s+0$/m);
 * ```
 */
export function countTable(
  scanned: readonly { block: CodeBlock; kind: ExampleKind }[],
): string {
  const rows = new Map<string, Record<ExampleKind, number>>();
  const zero = () =>
    Object.fromEntries(EXAMPLE_KINDS.map((k) => [k, 0])) as Record<
      ExampleKind,
      number
    >;
  const total = zero();
  for (const { block, kind } of scanned) {
    const slash = block.file.indexOf("/");
    const folder = slash === -1 ? block.file : block.file.slice(0, slash + 1);
    if (!rows.has(folder)) rows.set(folder, zero());
    rows.get(folder)![kind]++;
    total[kind]++;
  }
  const line = (name: string, c: Record<ExampleKind, number>) => {
    const all = EXAMPLE_KINDS.reduce((n, k) => n + c[k], 0);
    const run = c.asserts + c.claims + c.runs + c.compiles;
    return [name.padEnd(12), all, run, ...EXAMPLE_KINDS.map((k) => c[k])]
      .map((v, i) => i === 0 ? v : String(v).padStart(i === 1 ? 6 : 9))
      .join(" ");
  };
  const header = ["folder".padEnd(12), "total".padStart(6), "run".padStart(9)]
    .concat(EXAMPLE_KINDS.map((k) => k.padStart(9))).join(" ");
  return [
    header,
    ...[...rows].map(([name, c]) => line(name, c)),
    line("total", total),
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const list = argv.includes("--list")
    ? argv[argv.indexOf("--list") + 1] as ExampleKind
    : null;
  if (list !== null && !EXAMPLE_KINDS.includes(list)) {
    console.error(
      `Expected --list followed by one of ${
        EXAMPLE_KINDS.join(", ")
      }, found ${list}`,
    );
    return 2;
  }
  const strict = argv.includes("--strict");
  const paths = argv.filter((a, i) =>
    !a.startsWith("--") && argv[i - 1] !== "--list"
  );
  const scanned = await scan(paths.length > 0 ? paths : DOC_TEST_PATHS);
  if (list !== null) {
    for (const { block, kind } of scanned) {
      if (kind !== list) continue;
      const detail = kind === "ignored"
        ? ignoreReason(block) ?? RUN_ELSEWHERE[block.file]
        : kind === "claims"
        ? claimedResults(block.code)[0].trim()
        : "";
      console.log(`${block.file}:${block.line}${detail ? `  ${detail}` : ""}`);
    }
    return 0;
  }
  console.log(countTable(scanned));
  const bad = scanned.filter(({ kind }) =>
    kind === "claims" || kind === "unexplained"
  );
  if (strict && bad.length > 0) {
    for (const { block, kind } of bad) {
      console.error(`${block.file}:${block.line}: ${kind}`);
    }
    return 1;
  }
  return 0;
}

if (import.meta.main) exit(await main(args()));
