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

/** The lines of the first fenced block of `language` after `heading`. */
function block(text: string, heading: string, language: string): string {
  const from = text.indexOf(heading);
  assert.ok(from >= 0, `Expected the heading ${heading}`);
  const match = new RegExp("```" + language + "\\n([\\s\\S]*?)```").exec(
    text.slice(from),
  );
  assert.ok(match, `Expected a ${language} block after ${heading}`);
  return match[1];
}

describe("README: installing before and after a release", () => {
  it("says nothing is published, shows the working way, keeps the registry lines, names every entry point", async () => {
    const config = JSON.parse(
      await readFile(join(root, "deno.json"), "utf8"),
    ) as { name: string; exports: Record<string, string> };
    const readme = await readFile(join(root, "README.md"), "utf8");
    const install = readme.slice(
      readme.indexOf("## Install"),
      readme.indexOf("## Commands"),
    );
    assert.match(install, /No release is published yet/);
    assert.ok(install.includes(`deno add jsr:${config.name}`));
    assert.ok(install.includes("npm install k8s-operator typebox@1.4.3"));
    assert.match(install, /from "k8s-operator\//);
    assert.ok(install.includes(`"links": ["../k8s-operator"]`));
    assert.ok(install.includes(`from "${config.name}/raft"`));
    const missing = Object.keys(config.exports).filter((subpath) =>
      !install.includes(`\`${subpath}\``)
    );
    assert.deepEqual(
      missing,
      [],
      "every entry point of deno.json is listed in the README's Install section",
    );
  });

  it("shows the install commands scripts/newcomer.sh runs, and so does the npm README", async () => {
    const script = await readFile(join(root, "scripts/newcomer.sh"), "utf8");
    const ran = script.slice(
      script.indexOf("\n# README: install\n") + "\n# README: install\n".length,
      script.indexOf("\n# README: end") + 1,
    );
    assert.ok(ran.trim().split("\n").length >= 5);
    const readme = await readFile(join(root, "README.md"), "utf8");
    assert.equal(block(readme, "## Install", "sh"), ran);
    const npmReadme = await readFile(
      join(root, "scripts/npm_readme.md"),
      "utf8",
    );
    assert.equal(block(npmReadme, "## Install", "sh"), ran);
  });

  it("the npm README's example is the code scripts/newcomer.sh runs", async () => {
    const npmReadme = await readFile(
      join(root, "scripts/npm_readme.md"),
      "utf8",
    );
    const blocks = [...npmReadme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) =>
      m[1]
    );
    const files = ["counter.mjs", "main.mjs", "counter.test.mjs"];
    assert.equal(blocks.length, files.length);
    for (const [i, file] of files.entries()) {
      assert.equal(
        blocks[i],
        await readFile(join(root, "scripts/newcomer", file), "utf8"),
        `the README's block ${i + 1} is scripts/newcomer/${file}`,
      );
    }
    for (
      const bad of ["deno add", "jsr:", "deno task demo", "await using server"]
    ) {
      assert.ok(
        !npmReadme.replace(
          /`await using server = await TestApiServer\.start\(\)`/,
          "",
        ).includes(bad),
        `the npm README has no ${bad}`,
      );
    }
  });
});

describe("README: what CI runs", () => {
  it("lists the steps of .ci/run, in its order", async () => {
    const script = await readFile(join(root, ".ci/run"), "utf8");
    const steps = [...script.matchAll(/^\s*step "([^"]+)"/gm)].map((m) => m[1]);
    assert.ok(
      steps.length >= 6,
      `Expected the steps of .ci/run, found ${steps}`,
    );
    const readme = await readFile(join(root, "README.md"), "utf8");
    const from = readme.indexOf("`.ci/run` is what CI runs.");
    assert.ok(from >= 0, "Expected the README to say what .ci/run runs");
    const listed = [
      ...readme.slice(from, readme.indexOf("\n## ", from)).matchAll(
        /^\d+\. `([^`]+)`/gm,
      ),
    ].map((m) => m[1]);
    assert.deepEqual(listed, steps);
    for (const must of ["bash scripts/newcomer.sh", "deno task test:sea"]) {
      assert.ok(steps.includes(must), `Expected .ci/run to run ${must}`);
    }
    assert.ok(steps.includes("deno task test:envtest"));
  });
});
