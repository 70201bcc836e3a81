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
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
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
 * generated module's).
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
  dirs: { fromDir: string; toDir: string },
): string {
  return code.replace(
    /(\bfrom\s+|\bimport\s*\(\s*|^import\s+)(["'])(\.\.?\/[^"']+)\2/gm,
    (_all, lead: string, quote: string, specifier: string) => {
      let path = relative(dirs.toDir, join(dirs.fromDir, specifier));
      if (!path.startsWith(".")) path = `./${path}`;
      return `${lead}${quote}${path}${quote}`;
    },
  );
}

/** The module that runs `block` as a test named `file:line`. */
export function testModule(block: CodeBlock, outDir: string): string {
  const { imports, body } = splitImports(block.code);
  const dirs = { fromDir: dirname(block.file), toDir: outDir };
  const name = `${block.file}:${block.line}`;
  return [
    `// Generated from ${name} by scripts/doc_test.ts; edit the example there.`,
    ...imports.map((i) => rebaseSpecifiers(i, dirs)),
    `Deno.test(${JSON.stringify(name)}, async () => {`,
    rebaseSpecifiers(body, dirs),
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
    await writeFile(join(OUT_DIR, name), testModule(block, OUT_DIR));
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
