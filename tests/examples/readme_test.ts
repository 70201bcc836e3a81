import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";

/**
 * The repository root: the nearest folder above this file with deno.json
 * (the compiled tests run from npm/ inside the repository).
 */
function findRoot(): URL {
  let dir = new URL("./", import.meta.url);
  while (!existsSync(new URL("deno.json", dir))) {
    const parent = new URL("../", dir);
    if (parent.href === dir.href) {
      throw new Error(
        `Expected deno.json in a folder above ${import.meta.url}, found none`,
      );
    }
    dir = parent;
  }
  return dir;
}

const root = findRoot();

describe("the README quick start", () => {
  it("is examples/main.ts, which deno task demo and deploy/ run", async () => {
    const readme = await readFile(new URL("README.md", root), "utf8");
    const main = await readFile(new URL("examples/main.ts", root), "utf8");
    const quickStart = readme.slice(readme.indexOf("## Quick start"));
    // Fenced `ts ignore` with its reason first (its imports are relative to
    // examples/, so it cannot run as a doc test of the README).
    const block = /```ts(?: ignore)?\n(?:\/\/ Not run: .*\n)?([\s\S]*?)```/
      .exec(quickStart)?.[1];
    assert.ok(block, "Expected a ts code block in the quick start");
    const code = main.slice(main.indexOf("import "));
    assert.equal(
      block,
      code.replace('from "../mod.ts"', 'from "@k8s-operator/k8s-operator"'),
    );
    const tasks = JSON.parse(
      await readFile(new URL("deno.json", root), "utf8"),
    ).tasks;
    assert.equal(tasks.demo, "deno run -A examples/demo.ts");
    assert.match(readme, /npx --yes deno@2\.9\.6 task demo/);
  });
});
