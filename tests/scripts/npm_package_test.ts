import { describe, it } from "node:test";
import assert from "node:assert/strict";
import ts from "typescript";
import {
  entryPoints,
  isDenoOnly,
  mapSpecifier,
  moduleSpecifiers,
  NpmBuildError,
  parseNpmSpecifier,
  specifierTransformer,
} from "../../scripts/npm_package.ts";

const imports = {
  "@kubernetes/client-node": "npm:@kubernetes/client-node@2.0.1",
  "yaml": "npm:yaml@2.8.0",
  "lib/": "npm:/some-lib@1.2.3/dist/",
  "fs": "node:fs",
  "remote": "jsr:@std/assert@1",
};

const map = (specifier: string) => mapSpecifier(specifier, imports).specifier;

describe("npm build: specifiers", () => {
  it("rewrites relative .ts imports to .js and Deno twins to Node twins", () => {
    assert.equal(map("./types.ts"), "./types.js");
    assert.equal(map("../raft/mod.ts"), "../raft/mod.js");
    assert.equal(map("./platform.deno.ts"), "./platform.node.js");
    assert.equal(map("./data.json"), "./data.json");
    assert.equal(map("./x.mts"), "./x.mjs");
  });

  it("turns npm: specifiers into bare package names with their subpath", () => {
    assert.equal(
      map("npm:@kubernetes/client-node@2.0.1"),
      "@kubernetes/client-node",
    );
    assert.equal(map("npm:yaml@2/dist/index.js"), "yaml/dist/index.js");
    assert.equal(map("npm:ws"), "ws");
    assert.deepEqual(parseNpmSpecifier("npm:@a/b@^1.2.0/c/d"), {
      name: "@a/b",
      version: "^1.2.0",
      subpath: "c/d",
    });
  });

  it("maps bare names through the deno.json imports, exactly or by prefix", () => {
    assert.equal(map("@kubernetes/client-node"), "@kubernetes/client-node");
    assert.equal(map("yaml/types"), "yaml/types");
    assert.equal(map("lib/x.js"), "some-lib/dist/x.js");
    assert.equal(map("fs"), "node:fs");
    assert.equal(map("node:http"), "node:http");
    assert.deepEqual(mapSpecifier("yaml", imports).npm, {
      name: "yaml",
      version: "2.8.0",
      subpath: "",
    });
  });

  it("rejects jsr:, https: and unmapped bare imports with a clear error", () => {
    for (
      const bad of ["jsr:@std/assert", "https://deno.land/x/y.ts", "remote"]
    ) {
      assert.throws(
        () => map(bad),
        (e: unknown) =>
          e instanceof NpmBuildError && /Expected .*found/.test(e.message),
        bad,
      );
    }
    assert.throws(() => map("left-pad"), /no entry for it/);
  });

  it("names *_deno_test.ts and *_deno.ts files Deno-only", () => {
    assert.equal(isDenoOnly("tests/raft/wal_deno_test.ts"), true);
    assert.equal(isDenoOnly("tests/raft/_fixture_deno.ts"), true);
    assert.equal(isDenoOnly("tests/raft/wal_test.ts"), false);
    assert.equal(isDenoOnly("platform/platform.deno.ts"), false);
  });

  it("derives entry points with types and default from deno.json exports", () => {
    assert.deepEqual(
      entryPoints({ exports: { ".": "./mod.ts", "./raft": "./raft/mod.ts" } }),
      [
        { subpath: ".", source: "mod.ts", js: "./mod.js", types: "./mod.d.ts" },
        {
          subpath: "./raft",
          source: "raft/mod.ts",
          js: "./raft/mod.js",
          types: "./raft/mod.d.ts",
        },
      ],
    );
    assert.throws(() => entryPoints({}), NpmBuildError);
    assert.throws(
      () => entryPoints({ exports: { ".": "./mod.js" } }),
      /\.ts file/,
    );
  });
});

const source = `
import { a } from "./a.ts";
import type { B } from "npm:b-pkg@1.0.0";
export * from "./platform.deno.ts";
export type * from "./types.ts";
export { c } from "../c.ts";
export const text = "./not-an-import.ts";
export const script = new URL("./child.ts", import.meta.url);
export const base = new URL("../", import.meta.url);
export const elsewhere = new URL("./other.ts", "file:///x/");
export async function load(): Promise<unknown> {
  const m = await import("./lazy.ts");
  return [m, a];
}
export function typed(b: B): import("./d.ts").D {
  return b as never;
}
declare module "./augmented.ts" {
  interface Extra { x: number }
}
`;

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2023,
  module: ts.ModuleKind.ESNext,
  declaration: true,
  allowImportingTsExtensions: true,
  rewriteRelativeImportExtensions: true,
};

describe("npm build: specifier transformer", () => {
  it("finds every module reference of a source file, module URLs included", () => {
    assert.deepEqual(moduleSpecifiers("mod.ts", source), [
      "./a.ts",
      "npm:b-pkg@1.0.0",
      "./platform.deno.ts",
      "./types.ts",
      "../c.ts",
      "./child.ts",
      "./lazy.ts",
      "./d.ts",
      "./augmented.ts",
    ]);
  });

  it("rewrites import, export, dynamic import specifiers and module URLs in JavaScript and nothing else", () => {
    const js = ts.transpileModule(source, {
      compilerOptions,
      fileName: "mod.ts",
      transformers: { before: [specifierTransformer(map)] },
    }).outputText;
    assert.match(js, /from "\.\/a\.js"/);
    assert.match(js, /export \* from "\.\/platform\.node\.js"/);
    assert.match(js, /from "\.\.\/c\.js"/);
    assert.match(js, /import\("\.\/lazy\.js"\)/);
    assert.match(js, /new URL\("\.\/child\.js", import\.meta\.url\)/);
    assert.match(js, /new URL\("\.\.\/", import\.meta\.url\)/);
    assert.match(js, /new URL\("\.\/other\.ts", "file:\/\/\/x\/"\)/);
    assert.match(js, /"\.\/not-an-import\.ts"/);
    assert.doesNotMatch(js, /b-pkg|types\.ts|\.deno\./);
  });

  it("rewrites specifiers in declarations: import types, export type *, declare module", () => {
    const dts = ts.transpileDeclaration(source, {
      compilerOptions,
      fileName: "mod.ts",
      transformers: { afterDeclarations: [specifierTransformer(map)] },
    }).outputText;
    assert.match(dts, /from "b-pkg"/);
    assert.match(dts, /export type \* from "\.\/types\.js"/);
    assert.match(dts, /export \* from "\.\/platform\.node\.js"/);
    assert.match(dts, /import\("\.\/d\.js"\)\.D/);
    assert.match(dts, /declare module "\.\/augmented\.js"/);
    assert.match(dts, /"\.\/not-an-import\.ts"/);
    assert.doesNotMatch(dts, /from "[^"]*\.ts"|import\("[^"]*\.ts"\)/);
  });
});
