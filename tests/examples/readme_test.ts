import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

const root = new URL("../../", import.meta.url);

describe("the README quick start", () => {
  it("is examples/main.ts, which deno task demo and deploy/ run", async () => {
    const readme = await readFile(new URL("README.md", root), "utf8");
    const main = await readFile(new URL("examples/main.ts", root), "utf8");
    const quickStart = readme.slice(readme.indexOf("## Quick start"));
    const block = /```ts\n([\s\S]*?)```/.exec(quickStart)?.[1];
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
