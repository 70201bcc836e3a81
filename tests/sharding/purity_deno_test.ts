/**
 * sharding/ is pure, like the Raft core: every module `sharding/mod.ts`
 * exports from imports only its siblings and `common/leadership.ts` (types only),
 * and touches no clock, timer, randomness, I/O or runtime global. `mod.ts`
 * itself also imports the runtime check, as every entry point does.
 * Deno-only: it reads the sources.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

const ROOT = new URL("../../sharding/", import.meta.url);

const BANNED: [string, RegExp][] = [
  ["the clock", /\bDate\b|\bperformance\b/],
  ["Math.random", /Math\.random/],
  ["crypto", /\bcrypto\b/],
  ["timers", /\b(setTimeout|setInterval|queueMicrotask|setImmediate)\b/],
  ["runtime globals", /\b(Deno|process|globalThis|require)\b/],
  ["I/O", /\b(fetch|console|WebSocket|XMLHttpRequest)\b/],
  ["dynamic import", /\bimport\s*\(/],
];

function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

function imports(source: string): { specifier: string; typeOnly: boolean }[] {
  return [
    ...code(source).matchAll(
      /\b(import|export)\s+(type\s+)?[^"]*?\bfrom\s+"([^"]+)"|\bimport\s+"([^"]+)"/g,
    ),
  ].map((m) => ({ specifier: m[3] ?? m[4], typeOnly: m[2] !== undefined }));
}

async function closure(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const pending = ["mod.ts"];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (files.has(name)) continue;
    const source = await readFile(new URL(name, ROOT), "utf8");
    files.set(name, source);
    for (const { specifier } of imports(source)) {
      const sibling = /^\.\/([a-z_]+\.ts)$/.exec(specifier);
      if (sibling !== null) pending.push(sibling[1]);
    }
  }
  return files;
}

describe("sharding/ is pure", () => {
  it("imports only its siblings, and common/leadership.ts for types", async () => {
    const files = await closure();
    assert.ok(
      files.has("grants.ts") && files.has("_bytes.ts"),
      "follows imports",
    );
    const foreign = [...files].flatMap(([name, source]) =>
      imports(source)
        .filter(({ specifier, typeOnly }) =>
          !/^\.\/[a-z_]+\.ts$/.test(specifier) &&
          !(specifier === "../common/leadership.ts" && typeOnly) &&
          !(name === "mod.ts" && specifier === "../platform/check_runtime.ts")
        )
        .map(({ specifier }) => `${name} imports ${specifier}`)
    );
    assert.deepEqual(foreign, []);
  });

  it("reads no clock, keeps no timers, draws no randomness and does no I/O", async () => {
    const found: string[] = [];
    for (const [name, source] of await closure()) {
      for (const [what, pattern] of BANNED) {
        const hit = pattern.exec(code(source));
        if (hit !== null) found.push(`${name}: ${what} (${hit[0]})`);
      }
    }
    assert.deepEqual(found, []);
  });

  it("the checks see a forbidden import, a value import of raft and a clock", () => {
    const bad = 'import { RaftCore } from "../raft/core.ts";\n' +
      'import { NodeId } from "../common/leadership.ts";\nconst t = Date.now();';
    assert.deepEqual(imports(bad), [
      { specifier: "../raft/core.ts", typeOnly: false },
      { specifier: "../common/leadership.ts", typeOnly: false },
    ]);
    assert.deepEqual(
      imports('import type { A } from "../common/leadership.ts";'),
      [
        { specifier: "../common/leadership.ts", typeOnly: true },
      ],
    );
    assert.ok(BANNED[0][1].test(code(bad)));
  });
});
