/**
 * The core is pure (issue 2): `raft/core.ts` and `raft/memory_storage.ts`,
 * with everything they import, import only each other (no other part of the
 * project, no npm, `node:` or `jsr:` module) and touch no clock, timer,
 * randomness, I/O or runtime global. Deno-only: it reads the sources.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

const RAFT = new URL("../../raft/", import.meta.url);
const ROOTS = ["core.ts", "memory_storage.ts"];

/** Banned in the core: what reads the world or keeps time. */
const BANNED: [string, RegExp][] = [
  ["the clock", /\bDate\b|\bperformance\b/],
  ["Math.random", /Math\.random/],
  ["timers", /\b(setTimeout|setInterval|queueMicrotask|setImmediate)\b/],
  ["runtime globals", /\b(Deno|process|globalThis|require)\b/],
  ["I/O", /\b(fetch|console|WebSocket|XMLHttpRequest)\b/],
  ["dynamic import", /\bimport\s*\(/],
];

function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

function specifiers(source: string): string[] {
  return [...code(source).matchAll(/\bfrom\s+"([^"]+)"|\bimport\s+"([^"]+)"/g)]
    .map((m) => m[1] ?? m[2]);
}

async function closure(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const pending = [...ROOTS];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (files.has(name)) continue;
    const source = await readFile(new URL(name, RAFT), "utf8");
    files.set(name, source);
    for (const s of specifiers(source)) {
      const sibling = /^\.\/([a-z_]+\.ts)$/.exec(s);
      if (sibling !== null) pending.push(sibling[1]);
    }
  }
  return files;
}

describe("the Raft core is pure", () => {
  it("imports only its sibling modules in raft/", async () => {
    const files = await closure();
    assert.ok(files.has("_log.ts") && files.has("types.ts"), "follows imports");
    const foreign = [...files].flatMap(([name, source]) =>
      specifiers(source)
        .filter((s) => !/^\.\/[a-z_]+\.ts$/.test(s))
        .map((s) => `${name} imports ${s}`)
    );
    assert.deepEqual(foreign, []);
  });

  it("reads no clock, keeps no timers, draws no Math.random and does no I/O", async () => {
    const found: string[] = [];
    for (const [name, source] of await closure()) {
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
