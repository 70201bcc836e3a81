/**
 * The envtest launcher: its errors (with stand-in binaries, so they run
 * everywhere), and with the real binaries of `KUBEBUILDER_ASSETS` that it
 * serves the API and leaves no process and no folder behind — after
 * `stop()`, after a test that throws, and after SIGINT to a test process.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  chmod,
  mkdtemp,
  readdir,
  readFile,
  rm,
  writeFile,
} from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:tls";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { CoreV1Api } from "@kubernetes/client-node";
import {
  ControlPlaneError,
  EnvTest,
  selectTestControlPlane,
} from "../../testing/mod.ts";

/** Whether `pid` is a running process (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return existsSync("/proc/self") ? false : true;
  }
}

/** Waits (up to 10 s) until none of `pids` runs. */
async function allGone(pids: number[]): Promise<number[]> {
  const deadline = performance.now() + 10_000;
  while (pids.some(alive) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return pids.filter(alive);
}

/** The protocol a TLS server picks when offered HTTP/2 and HTTP/1.1. */
function alpn(url: string, ca: string): Promise<string | false> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: hostname,
      port: Number(port),
      ca,
      ALPNProtocols: ["h2", "http/1.1"],
    }, () => {
      resolve(socket.alpnProtocol ?? false);
      socket.end();
    });
    socket.once("error", reject);
  });
}

interface Started {
  pids: number[];
  dir: string;
}

function withoutTestContext(
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const { NODE_TEST_CONTEXT: _context, ...rest } = env;
  return rest;
}

/**
 * Runs `_envtest_child.ts` under this runtime's test runner (`deno test`;
 * `node --test` in its own process, as `deno test` does, since by default
 * it runs each file in a subprocess that outlives a killed runner) and
 * resolves once its control plane is up.
 */
async function childTest(
  options: { mode: "wait" | "leave"; manager?: boolean },
) {
  const out = join(
    await mkdtemp(join(tmpdir(), "envtest-child-")),
    "started.json",
  );
  const script = fileURLToPath(new URL("./_envtest_child.ts", import.meta.url));
  const args = /\.m?js$/.test(script)
    ? ["--test", "--test-isolation=none", script]
    : ["test", "--allow-all", "--no-check", script];
  const child = spawn(process.execPath, args, {
    stdio: "ignore",
    env: {
      // Not a subprocess of this test runner: node --test skips its files
      // when it believes it is.
      ...withoutTestContext(process.env),
      ENVTEST_CHILD_OUT: out,
      ENVTEST_CHILD_MODE: options.mode,
      ...(options.manager === false ? { ENVTEST_CHILD_NO_MANAGER: "1" } : {}),
    },
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>(
    (resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  let ended = false;
  exited.then(() => ended = true);
  const deadline = performance.now() + 120_000;
  let started: Started | undefined;
  while (started === undefined) {
    try {
      started = JSON.parse(await readFile(out, "utf8")) as Started;
    } catch {
      if (ended && !existsSync(out)) {
        throw new Error(
          `The child test ended (${
            JSON.stringify(await exited)
          }) before starting a control plane`,
        );
      }
      if (performance.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error("The child test started no control plane within 120 s");
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  await rm(dirname(out), { recursive: true, force: true });
  return { process: child, exited, started };
}

/** No process of `started` runs and its folder is gone (within 10 s: the reaper acts at once, asynchronously). */
async function assertNothingLeft(started: Started): Promise<void> {
  assert.ok(
    started.pids.length >= 3,
    "etcd, kube-apiserver and the reaper at least",
  );
  assert.deepEqual(await allGone(started.pids), []);
  const deadline = performance.now() + 10_000;
  while (existsSync(started.dir) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(existsSync(started.dir), false, `${started.dir} is left`);
}

async function rejection(start: Promise<unknown>): Promise<ControlPlaneError> {
  try {
    await start;
  } catch (error) {
    if (error instanceof ControlPlaneError) return error;
    throw error;
  }
  throw new Error("Expected the start to fail, but it succeeded");
}

describe("EnvTest errors (stand-in binaries)", () => {
  let dir: string;
  let tmp: string;
  const script = async (name: string, body: string, mode = 0o755) => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, mode);
    return path;
  };
  const binaries = async (etcdBody: string) => ({
    etcd: await script("etcd", etcdBody),
    kubeApiServer: await script("kube-apiserver", "exit 1"),
    kubeControllerManager: false as const,
    tmpDir: tmp,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "envtest-bin-"));
    tmp = await mkdtemp(join(tmpdir(), "envtest-tmp-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
  });

  it("names the missing binary and where it looked", async () => {
    const assets = join(dir, "nothing-here");
    const error = await rejection(
      EnvTest.start({ binaryAssetsDirectory: assets, tmpDir: tmp }),
    );
    assert.equal(error.reason, "missing");
    assert.equal(error.component, "etcd");
    assert.equal(error.binary, join(assets, "etcd"));
    assert.match(
      error.message,
      /Expected the etcd binary at .*etcd, found nothing there/,
    );
    assert.deepEqual(await readdir(tmp), []);
  });

  it("refuses a binary that is not executable", async () => {
    const etcd = await script("etcd-plain", "exit 0", 0o644);
    const error = await rejection(
      EnvTest.start({ ...(await binaries("exit 0")), etcd }),
    );
    assert.equal(error.reason, "not-executable");
    assert.equal(error.binary, etcd);
    assert.match(error.message, /to be executable, but it is not/);
    assert.deepEqual(await readdir(tmp), []);
  });

  it("reports a process that exits before it is ready, with its last lines", async () => {
    const error = await rejection(EnvTest.start(
      await binaries('echo "starting"; echo "fatal: no disk" >&2; exit 3'),
    ));
    assert.equal(error.reason, "exited");
    assert.equal(error.component, "etcd");
    assert.match(
      error.message,
      /etcd to keep running until ready, but it exited with code 3/,
    );
    assert.deepEqual(error.logTail, ["starting", "fatal: no disk"]);
    assert.match(
      error.message,
      /Last 2 lines of its output:\n {2}starting\n {2}fatal: no disk$/,
    );
    assert.deepEqual(await readdir(tmp), [], "its folder is removed");
  });

  it("reports a process not ready in time with its log, and kills it", async () => {
    const pidFile = join(dir, "hanging.pid");
    const error = await rejection(EnvTest.start({
      ...(await binaries(
        `echo $$ > ${pidFile}; echo "waiting for a quorum"; exec sleep 600`,
      )),
      startTimeoutMs: 300,
    }));
    assert.equal(error.reason, "not-ready");
    assert.match(
      error.message,
      /^Expected etcd to be ready within 300 ms, but it was not \(its health check last answered nothing: .*\)/,
    );
    assert.deepEqual(error.logTail, ["waiting for a quorum"]);
    const pid = Number(await readFile(pidFile, "utf8"));
    assert.deepEqual(await allGone([pid]), []);
    assert.deepEqual(await readdir(tmp), []);
  });

  it("tries fresh free ports when one is taken, then names the port", async () => {
    const attempts = join(dir, "attempts");
    const error = await rejection(EnvTest.start(
      await binaries(
        `echo try >> ${attempts}
for arg in "$@"; do case "$arg" in --listen-client-urls=*) url="\${arg#*=}";; esac; done
echo "listen tcp \${url#http://}: bind: address already in use" >&2
exit 1`,
      ),
    ));
    assert.equal(error.reason, "port-taken");
    assert.equal(typeof error.port, "number");
    assert.match(
      error.message,
      new RegExp(
        `^Expected port ${error.port} on 127\\.0\\.0\\.1 to be free for etcd, but it is taken \\(3 free ports tried\\)`,
      ),
    );
    assert.equal(
      (await readFile(attempts, "utf8")).split("\n").filter(Boolean).length,
      3,
    );
    assert.deepEqual(await readdir(tmp), []);
  });

  it("does not retry a port it was given", async () => {
    const attempts = join(dir, "fixed-attempts");
    const error = await rejection(EnvTest.start({
      ...(await binaries(
        `echo try >> ${attempts}; echo "listen tcp 127.0.0.1:7: bind: address already in use"; exit 1`,
      )),
      etcdPort: 7,
    }));
    assert.equal(error.reason, "port-taken");
    assert.equal(error.port, 7);
    assert.match(
      error.message,
      /^Expected port 7 on 127\.0\.0\.1 to be free for etcd, but it is taken\n/,
    );
    assert.equal((await readFile(attempts, "utf8")).trim(), "try");
  });
});

const real = selectTestControlPlane({ kind: "envtest" });
if (real.skip) {
  console.warn(`Skipping the EnvTest runs of real binaries: ${real.skip}`);
}

describe("EnvTest with the real binaries", { skip: real.skip }, () => {
  it("serves the API over verified TLS to the token of its kubeconfig, then leaves nothing behind", async () => {
    const plane = await EnvTest.start();
    let pids: number[] = [];
    try {
      pids = Object.values(plane.pids);
      assert.equal(
        pids.length,
        plane.controllerManager ? 4 : 3,
        "with the reaper",
      );
      assert.ok(pids.every(alive));
      assert.ok(existsSync(plane.dir));
      const core = plane.kubeConfig().makeApiClient(CoreV1Api);
      const namespaces = await core.listNamespace();
      assert.ok(namespaces.items.some((n) => n.metadata?.name === "default"));
      // HTTP/1.1 only: over HTTP/2, the kube-apiserver default, client-node
      // and KubeClient (undici) in Deno died (SIGSEGV or an nghttp2 assertion)
      // when the server closed the session at stop.
      assert.equal(await alpn(plane.url, plane.caPem), "http/1.1");
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${plane.url}/api`, {
          ca: plane.caPem,
          headers: { Authorization: "Bearer wrong" },
        }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
      assert.equal(status, 401, "another token is refused");
      if (plane.controllerManager) {
        // The controller manager runs: it gives a new namespace its
        // default ServiceAccount.
        await core.createNamespace({
          body: { metadata: { name: "envtest-sa" } },
        });
        const deadline = performance.now() + 30_000;
        let found = false;
        while (!found && performance.now() < deadline) {
          const list = await core.listNamespacedServiceAccount({
            namespace: "envtest-sa",
          });
          found = list.items.some((sa) => sa.metadata?.name === "default");
          if (!found) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.ok(found, "Expected the default ServiceAccount within 30 s");
      }
    } finally {
      await plane.stop();
    }
    assert.deepEqual(await allGone(pids), []);
    assert.equal(existsSync(plane.dir), false);
    await plane.stop();
  });

  it("leaves nothing behind after a test that throws", async () => {
    let pids: number[] = [];
    let dir = "";
    await assert.rejects(async () => {
      await using plane = await EnvTest.start({ kubeControllerManager: false });
      pids = Object.values(plane.pids);
      dir = plane.dir;
      throw new Error("the test failed");
    }, /the test failed/);
    assert.equal(pids.length, 3, "etcd, kube-apiserver, the reaper");
    assert.deepEqual(
      pids.filter(alive),
      [],
      "stopped before the error left the block",
    );
    assert.equal(existsSync(dir), false);
  });

  it("names the API server's port when it is taken, and stops etcd", async () => {
    // Our readiness probes connect to it: it hangs up on them.
    const blocker: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) =>
      blocker.listen(0, "127.0.0.1", resolve)
    );
    const port = (blocker.address() as { port: number }).port;
    const tmp = await mkdtemp(join(tmpdir(), "envtest-tmp-"));
    try {
      const error = await rejection(EnvTest.start({
        apiServerPort: port,
        kubeControllerManager: false,
        tmpDir: tmp,
      }));
      assert.equal(error.reason, "port-taken");
      assert.equal(error.component, "kube-apiserver");
      assert.equal(error.port, port);
      assert.match(
        error.message,
        new RegExp(
          `^Expected port ${port} on 127\\.0\\.0\\.1 to be free for kube-apiserver`,
        ),
      );
      assert.ok(
        error.logTail.some((line) => line.includes("address already in use")),
      );
      assert.deepEqual(await readdir(tmp), []);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it("leaves nothing behind when its test process gets SIGINT", async () => {
    const child = await childTest({ mode: "wait" });
    child.process.kill("SIGINT");
    const end = await child.exited;
    assert.notEqual(
      end.code,
      0,
      `Expected the interrupted run to fail, found ${JSON.stringify(end)}`,
    );
    await assertNothingLeft(child.started);
  });

  it("leaves nothing behind when its test process is killed with SIGKILL", async () => {
    const child = await childTest({ mode: "wait", manager: false });
    child.process.kill("SIGKILL");
    assert.equal((await child.exited).signal, "SIGKILL");
    await assertNothingLeft(child.started);
  });

  it("leaves nothing behind when its test ends without stopping it", async () => {
    const child = await childTest({ mode: "leave", manager: false });
    assert.equal((await child.exited).code, 0);
    await assertNothingLeft(child.started);
  });
});
