import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the nearest folder above this file with deno.json. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "deno.json"))) {
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `Expected deno.json in a folder above ${import.meta.url}, found none`,
      );
    }
    dir = parent;
  }
  return dir;
}

const root = findRoot();

describe("README: installing from JSR and npm", () => {
  it("shows the jsr: and npm imports and names every entry point of deno.json", async () => {
    const config = JSON.parse(
      await readFile(join(root, "deno.json"), "utf8"),
    ) as { name: string; exports: Record<string, string> };
    const readme = await readFile(join(root, "README.md"), "utf8");
    assert.ok(readme.includes(`deno add jsr:${config.name}`));
    assert.match(readme, new RegExp(`from "jsr:${config.name}/`));
    assert.ok(readme.includes("npm install k8s-operator"));
    assert.match(readme, /from "k8s-operator\//);
    const missing = Object.keys(config.exports).filter((subpath) =>
      !readme.includes(`\`${subpath}\``)
    );
    assert.deepEqual(
      missing,
      [],
      "every entry point of deno.json is listed in the README's Install section",
    );
  });
});
