/**
 * `scripts/doc_test.ts` end to end: the examples of a file in a scratch
 * folder are generated and run by `deno test`, which fails on an example
 * that fails, and on one that does not type-check.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(
  new URL("../../scripts/doc_test.ts", import.meta.url),
);
const FENCE = "`".repeat(3);

function run(
  args: string[],
  cwd: string,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd, env: { ...process.env, NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        const code = error === null
          ? 0
          : (error as { code?: number }).code ?? 1;
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

/** A module whose JSDoc holds one example per entry of `examples`. */
function moduleWith(examples: { code: string; fence?: string }[]): string {
  const docs = examples.map(({ code, fence }) =>
    [
      "/**",
      " * @example",
      ` * ${fence ?? `${FENCE}ts`}`,
      ...code.split("\n").map((l) => ` * ${l}`),
      ` * ${FENCE}`,
      " */",
    ].join("\n")
  );
  return [
    "export function double(n: number): number {",
    "  return 2 * n;",
    "}",
    ...docs.map((d, i) => `${d}\nexport const value${i} = ${i};`),
    "",
  ].join("\n");
}

/** Generates and runs the examples of `source` in a scratch folder. */
async function generateAndRun(
  source: string,
): Promise<{ generated: string[]; code: number; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), "doc-test-"));
  try {
    await writeFile(join(dir, "a.ts"), source);
    const gen = await run(
      ["run", "--allow-read", "--allow-write", SCRIPT, "a.ts"],
      dir,
    );
    assert.equal(gen.code, 0, gen.output);
    const generated = (await readdir(join(dir, ".doc_tests"))).sort();
    const test = await run(["test", ".doc_tests/all_test.ts"], dir);
    return { generated, ...test };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("doc_test end to end", () => {
  it("runs every example that is not ignored, with the documented module's exports", async () => {
    const result = await generateAndRun(moduleWith([
      {
        code:
          'import assert from "node:assert/strict";\nassert.equal(double(2), 4);',
      },
      {
        code: "// Not run: a reason.\nthrow new Error();",
        fence: `${FENCE}ts ignore`,
      },
      { code: "const x: number = double(1);" },
    ]));
    assert.deepEqual(result.generated, [
      "a.ts_L22.ts",
      "a.ts_L6.ts",
      "all_test.ts",
    ]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /ok \| 2 passed \| 0 failed/);
  });

  it("fails the run when an example's assertion fails, naming the file and line", async () => {
    const result = await generateAndRun(moduleWith([
      {
        code:
          'import assert from "node:assert/strict";\nassert.equal(double(2), 5);',
      },
    ]));
    assert.notEqual(result.code, 0);
    assert.match(result.output, /a\.ts:6 \.\.\. FAILED/);
    assert.match(result.output, /FAILED \| 0 passed \| 1 failed/);
  });

  it("fails the run when an example does not type-check", async () => {
    const result = await generateAndRun(moduleWith([
      { code: 'const n: number = double("2");' },
    ]));
    assert.notEqual(result.code, 0);
    assert.match(result.output, /TS2345/);
    assert.match(result.output, /a\.ts_L6\.ts/);
  });
});
