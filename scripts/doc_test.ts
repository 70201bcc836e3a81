/**
 * `deno task doc:test`: runs every documentation example that is not
 * `ignore`d, as `deno test --doc` would, but in one test process. `deno
 * test --doc` starts a worker per example and loads the example's imports
 * afresh in each (Kubernetes client, undici, TypeBox: about half a second a
 * worker); with four hundred examples that took minutes. This script writes
 * each example as a module of `.doc_tests/` the way `deno test --doc` builds
 * it (its imports hoisted, relative ones resolved from the documented
 * file's folder; the rest in the body of an async test named
 * `file:line`) and one `all_test.ts` that imports them all, so that
 * `deno test .doc_tests/all_test.ts` type-checks them as one program and
 * runs them in one worker. An example that passes here passes under
 * `deno test --doc FILE` too.
 *
 * Usage: `deno run --allow-read --allow-write=.doc_tests
 * scripts/doc_test.ts [paths...]` (default: `DOC_TEST_PATHS`), then
 * `deno test --allow-net=127.0.0.1 --allow-env .doc_tests/all_test.ts`.
 *
 * @module
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { args, exit } from "../platform/mod.ts";
import { type CodeBlock, DOC_TEST_PATHS, scan } from "./doc_examples.ts";

/** Where the generated modules go. */
export const OUT_DIR = ".doc_tests";

const EXTENSIONS: Record<string, string> = {
  js: "js",
  javascript: "js",
  mjs: "mjs",
  cjs: "cjs",
  jsx: "jsx",
  ts: "ts",
  typescript: "ts",
  mts: "mts",
  cts: "cts",
  tsx: "tsx",
};

/**
 * Splits a block into its top-level import declarations and the rest, the
 * way `deno test --doc` hoists imports out of the test body. An import
 * runs from a line that starts with `import` (not `import(`) to the line
 * that names its module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitImports } from "./doc_test.ts";
 * const { imports, body } = splitImports('import {\n  a,\n} from "./a.ts";\nconsole.log(a);');
 * assert.deepEqual(imports, ['import {\n  a,\n} from "./a.ts";']);
 * assert.equal(body, "console.log(a);");
 * ```
 */
export function splitImports(
  code: string,
): { imports: string[]; body: string } {
  const imports: string[] = [];
  const body: string[] = [];
  let current: string[] | null = null;
  for (const line of code.split("\n")) {
    if (current === null && /^import(\s|\{|\*|type\s)/.test(line)) {
      current = [];
    }
    if (current === null) {
      body.push(line);
      continue;
    }
    current.push(line);
    if (
      /(\bfrom\s*|^import\s*)["'][^"']+["']\s*(with\s*\{[^}]*\})?;?\s*$/
        .test(line)
    ) {
      imports.push(current.join("\n"));
      current = null;
    }
  }
  if (current !== null) body.push(...current);
  return { imports, body: body.join("\n") };
}

/**
 * `code` with each relative module specifier (`"./x.ts"`, `"../y.ts"`)
 * rewritten from `fromDir` (the documented file's folder) to `toDir` (the
 * generated module's); with `dynamicOnly`, only in `import(…)` calls (for a
 * test body, whose strings may hold import statements as text).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rebaseSpecifiers } from "./doc_test.ts";
 * assert.equal(
 *   rebaseSpecifiers('import { a } from "./a.ts";', { fromDir: "raft", toDir: ".doc_tests" }),
 *   'import { a } from "../raft/a.ts";',
 * );
 * ```
 */
export function rebaseSpecifiers(
  code: string,
  dirs: { fromDir: string; toDir: string; dynamicOnly?: boolean },
): string {
  const pattern = dirs.dynamicOnly === true
    ? /(\bimport\s*\(\s*)(["'])(\.\.?\/[^"']+)\2/gm
    : /(\bfrom\s+|\bimport\s*\(\s*|^import\s+)(["'])(\.\.?\/[^"']+)\2/gm;
  return code.replace(
    pattern,
    (_all, lead: string, quote: string, specifier: string) => {
      let path = relative(dirs.toDir, join(dirs.fromDir, specifier));
      if (!path.startsWith(".")) path = `./${path}`;
      return `${lead}${quote}${path}${quote}`;
    },
  );
}

/**
 * The names a module exports by declaration (`export function f`, `export
 * interface I`, ...), each with whether it is a type only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { declaredExports } from "./doc_test.ts";
 * assert.deepEqual(
 *   declaredExports("export function f() {}\nexport interface I {}\nconst x = 1;"),
 *   [{ name: "f", type: false }, { name: "I", type: true }],
 * );
 * ```
 */
export function declaredExports(
  source: string,
): { name: string; type: boolean }[] {
  const out: { name: string; type: boolean }[] = [];
  const pattern =
    /^export\s+(?:declare\s+)?(?:async\s+)?(function\*?|const|let|class|abstract\s+class|enum|interface|type)\s+([A-Za-z_$][\w$]*)/gm;
  for (const [, kind, name] of source.matchAll(pattern)) {
    out.push({ name, type: kind === "interface" || kind === "type" });
  }
  return out;
}

/**
 * The import `deno test --doc` adds to an example: the documented module's
 * exports that the example uses without importing or declaring them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { autoImport } from "./doc_test.ts";
 * const exports = [{ name: "f", type: false }, { name: "I", type: true }, { name: "g", type: false }];
 * assert.equal(
 *   autoImport("const i: I = f();", { exports, specifier: "./a.ts" }),
 *   'import { f, type I } from "./a.ts";',
 * );
 * ```
 */
export function autoImport(
  code: string,
  from: { exports: { name: string; type: boolean }[]; specifier: string },
): string | null {
  const used = from.exports.filter(({ name }) =>
    new RegExp(`(?<![\\w$.])${name.replace(/\$/g, "\\$")}(?![\\w$])`).test(
      code.replace(/\/\/.*$/gm, ""),
    ) &&
    !new RegExp(
      `(import[^;]*[{,\\s]${name}[\\s,}][^;]*from|(const|let|var|function|class|interface|type)\\s+${name}\\b)`,
    ).test(code)
  );
  if (used.length === 0) return null;
  const names = used.map(({ name, type }) => type ? `type ${name}` : name);
  return `import { ${names.join(", ")} } from ${
    JSON.stringify(from.specifier)
  };`;
}

/**
 * The module that runs `block` as a test named `file:line`; `source` is the
 * text of the documented file, whose exports the example may use without
 * importing them (as under `deno test --doc`).
 */
export function testModule(
  block: CodeBlock,
  at: { outDir: string; source: string },
): string {
  const { imports, body } = splitImports(block.code);
  const outDir = at.outDir;
  const dirs = { fromDir: dirname(block.file), toDir: outDir };
  const name = `${block.file}:${block.line}`;
  const own = block.file.endsWith(".md") ? null : autoImport(block.code, {
    exports: declaredExports(at.source),
    specifier: rebaseSpecifiers(`from "./${basename(block.file)}"`, dirs)
      .slice(6, -1),
  });
  return [
    `// Generated from ${name} by scripts/doc_test.ts; edit the example there.`,
    ...imports.map((i) => rebaseSpecifiers(i, dirs)),
    ...(own === null ? [] : [own]),
    `Deno.test(${JSON.stringify(name)}, async () => {`,
    rebaseSpecifiers(body, { ...dirs, dynamicOnly: true }),
    "});",
    "",
  ].join("\n");
}

/** A file name for the module of `block`. */
function moduleName(block: CodeBlock): string {
  const base = block.file.replace(/[^A-Za-z0-9_.-]/g, "_");
  return `${base}_L${block.line}.${EXTENSIONS[block.lang] ?? "ts"}`;
}

async function main(argv: string[]): Promise<number> {
  const paths = argv.length > 0 ? argv : DOC_TEST_PATHS;
  const scanned = await scan(paths);
  const run = scanned.filter(({ kind }) =>
    kind !== "ignored" && kind !== "unexplained"
  );
  await rm(OUT_DIR, { recursive: true, force: true });
  await mkdir(OUT_DIR, { recursive: true });
  const names: string[] = [];
  for (const { block } of run) {
    const name = moduleName(block);
    names.push(name);
    const source = await readFile(block.file, "utf8");
    await writeFile(
      join(OUT_DIR, name),
      testModule(block, { outDir: OUT_DIR, source }),
    );
  }
  await writeFile(
    join(OUT_DIR, "all_test.ts"),
    [
      "// Generated by scripts/doc_test.ts: every example, in one test worker.",
      ...names.map((n) => `import "./${n}";`),
      "",
    ].join("\n"),
  );
  console.log(
    `${OUT_DIR}/: ${run.length} examples to run, ${
      scanned.length - run.length
    } ignored`,
  );
  return 0;
}

if (import.meta.main) exit(await main(args()));
