import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  claimedResults,
  type CodeBlock,
  countTable,
  exampleKind,
  extractBlocks,
  ignoreReason,
} from "../../scripts/doc_examples.ts";
import {
  autoImport,
  declaredExports,
  rebaseSpecifiers,
  splitImports,
  testModule,
} from "../../scripts/doc_test.ts";

const FENCE = "`".repeat(3);

/** A JSDoc comment around `lines`, indented by `indent`. */
function jsdoc(lines: string[], indent = ""): string {
  return [
    `${indent}/**`,
    ...lines.map((l) => `${indent} *${l === "" ? "" : ` ${l}`}`),
    `${indent} */`,
  ].join("\n");
}

const block = (code: string, ignored = false): CodeBlock => ({
  file: "raft/a.ts",
  line: 1,
  lang: "ts",
  ignored,
  code,
});

describe("doc_examples: extractBlocks", () => {
  it("finds the ts and js blocks of every JSDoc comment, with their line and code", () => {
    const text = [
      "import x from './x.ts';",
      jsdoc([
        "Describes f.",
        "",
        "@example",
        `${FENCE}ts`,
        'import { f } from "./a.ts";',
        "f();",
        FENCE,
      ]),
      "export function f() {}",
      jsdoc([`${FENCE}js ignore`, "// Not run: a reason.", FENCE], "  "),
    ].join("\n");
    const blocks = extractBlocks(text, "raft/a.ts");
    assert.deepEqual(blocks.map((b) => [b.line, b.lang, b.ignored]), [
      [6, "ts", false],
      [13, "js", true],
    ]);
    assert.equal(blocks[0].code, 'import { f } from "./a.ts";\nf();');
    assert.equal(blocks[1].code, "// Not run: a reason.");
  });

  it("leaves out fences of other languages and fences without one, as deno test --doc does", () => {
    const text = jsdoc([
      `${FENCE}sh`,
      "deno task check",
      FENCE,
      FENCE,
      " 0  u32  magic",
      FENCE,
      `${FENCE}json`,
      "{}",
      FENCE,
    ]);
    assert.deepEqual(extractBlocks(text, "a.ts"), []);
  });

  it("reads a Markdown file whole, and ignores code outside JSDoc in a .ts file", () => {
    const md = ["# Title", "", `${FENCE}ts`, "const a = 1;", FENCE].join("\n");
    assert.deepEqual(
      extractBlocks(md, "README.md").map((b) => [b.line, b.code]),
      [[3, "const a = 1;"]],
    );
    const ts = ["// not JSDoc", `// ${FENCE}ts`, "const s = `", "```ts", "`;"]
      .join("\n");
    assert.deepEqual(extractBlocks(ts, "a.ts"), []);
  });
});

describe("doc_examples: kinds", () => {
  it("reads an ignore reason only from a first line that starts with // Not run:", () => {
    assert.equal(
      ignoreReason(block("\n// Not run: needs a cluster.\nx();", true)),
      "needs a cluster.",
    );
    assert.equal(ignoreReason(block("// needs a cluster\nx();", true)), null);
    assert.equal(ignoreReason(block("x(); // Not run: late", true)), null);
  });

  it("finds results claimed in trailing comments, not URLs, prose or comment lines", () => {
    const code = [
      'console.log(id); // "web@1"',
      "f(); // 3 replicas",
      "g(); // [1, 2]",
      "h(); // => ok",
      'const url = "http://127.0.0.1:80"; // the address',
      "const t = `http://${host}/`;",
      "i(); // starts it",
      '// "only a comment"',
      "j(); // `code` in prose",
      "assert.ok(!holder.holds(3, 1500)); // 1000 + 500",
    ].join("\n");
    assert.deepEqual(claimedResults(code), [
      'console.log(id); // "web@1"',
      "f(); // 3 replicas",
      "g(); // [1, 2]",
      "h(); // => ok",
    ]);
  });

  it("ranks a claim above an assertion: a block that asserts one thing and claims another claims", () => {
    assert.equal(
      exampleKind(block('assert.equal(f(), 1);\ng(); // "x"')),
      "claims",
    );
    assert.equal(exampleKind(block("assert.ok(f());")), "asserts");
    assert.equal(exampleKind(block("await assert.rejects(f());")), "asserts");
  });

  it("tells examples that only declare from those that run something", () => {
    const compiles = [
      "import type { A } from './a.ts';\nfunction f(a: A) {\n  return a.run();\n}",
      "const f = (x: number) =>\n  x + 1;",
      "const g = async () => {\n  await h();\n};\ninterface I {\n  a: string;\n}",
    ];
    for (const code of compiles) {
      assert.equal(exampleKind(block(code)), "compiles", code);
    }
    const runs = [
      "const x = f();",
      "function f() {}\nf();",
      "const options = { a: 1 };",
    ];
    for (const code of runs) {
      assert.equal(exampleKind(block(code)), "runs", code);
    }
  });

  it("counts per top folder, run meaning every kind but ignored and unexplained", () => {
    const at = (file: string, kind: ReturnType<typeof exampleKind>) => ({
      block: { ...block(""), file },
      kind,
    });
    const table = countTable([
      at("raft/a.ts", "asserts"),
      at("raft/b.ts", "compiles"),
      at("raft/b.ts", "ignored"),
      at("mod.ts", "unexplained"),
    ]);
    assert.match(table, /^raft\/\s+3\s+2\s+1\s+0\s+0\s+1\s+1\s+0$/m);
    assert.match(table, /^mod\.ts\s+1\s+0\s+0\s+0\s+0\s+0\s+0\s+1$/m);
    assert.match(table, /^total\s+4\s+2\s+1\s+0\s+0\s+1\s+1\s+1$/m);
  });
});

describe("doc_test: the module of an example", () => {
  it("hoists imports of one or several lines, side-effect imports and import type", () => {
    const { imports, body } = splitImports([
      'import "./setup.ts";',
      "import {",
      "  a,",
      '} from "./a.ts";',
      'import type { B } from "./b.ts";',
      "const b: B = a();",
      'const text = "import x from y";',
    ].join("\n"));
    assert.deepEqual(imports, [
      'import "./setup.ts";',
      'import {\n  a,\n} from "./a.ts";',
      'import type { B } from "./b.ts";',
    ]);
    assert.equal(body, 'const b: B = a();\nconst text = "import x from y";');
  });

  it("rebases relative specifiers of imports, and in a body only those of import()", () => {
    const dirs = { fromDir: "raft", toDir: ".doc_tests" };
    assert.equal(
      rebaseSpecifiers('import { a } from "../crd/a.ts";', dirs),
      'import { a } from "../crd/a.ts";',
    );
    assert.equal(
      rebaseSpecifiers('import "./x.ts";', dirs),
      'import "../raft/x.ts";',
    );
    assert.equal(
      rebaseSpecifiers(
        'const s = \'from "./a.ts"\';\nawait import("./b.ts");',
        { ...dirs, dynamicOnly: true },
      ),
      'const s = \'from "./a.ts"\';\nawait import("../raft/b.ts");',
    );
    assert.equal(
      rebaseSpecifiers('import { a } from "node:path";', dirs),
      'import { a } from "node:path";',
    );
  });

  it("imports the documented module's exports the example uses, not those it imports or declares", () => {
    const exports = declaredExports([
      "export function open() {}",
      "export async function close() {}",
      "export interface Options {}",
      "export type Mode = 'a';",
      "export const LIMIT = 3;",
      "export class Store {}",
      "function hidden() {}",
    ].join("\n"));
    assert.deepEqual(exports.map((e) => [e.name, e.type]), [
      ["open", false],
      ["close", false],
      ["Options", true],
      ["Mode", true],
      ["LIMIT", false],
      ["Store", false],
    ]);
    const code = [
      'import { close } from "@k8s-operator/k8s-operator/raft";',
      "const LIMIT = 2; // declared here",
      "const options: Options = {};",
      "await open(options); // open",
      "store.Store; // a property, not the export",
    ].join("\n");
    assert.equal(
      autoImport(code, { exports, specifier: "../raft/a.ts" }),
      'import { open, type Options } from "../raft/a.ts";',
    );
    assert.equal(
      autoImport("const x = 1;", { exports, specifier: "../raft/a.ts" }),
      null,
    );
  });

  it("wraps the body in a test named after the file and line, imports first", () => {
    const source = "export function f() { return 1; }";
    const module = testModule(
      {
        ...block(
          'import assert from "node:assert/strict";\nassert.equal(f(), 1);',
        ),
        line: 7,
      },
      { outDir: ".doc_tests", source },
    );
    assert.equal(
      module,
      [
        "// Generated from raft/a.ts:7 by scripts/doc_test.ts; edit the example there.",
        'import assert from "node:assert/strict";',
        'import { f } from "../raft/a.ts";',
        'Deno.test("raft/a.ts:7", async () => {',
        "assert.equal(f(), 1);",
        "});",
        "",
      ].join("\n"),
    );
  });
});
