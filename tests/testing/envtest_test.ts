/**
 * The envtest launcher with the real binaries of `KUBEBUILDER_ASSETS`: it
 * serves the API, and leaves no process and no folder behind — after
 * `stop()`, after a test that throws, and however a test process that
 * started one ends (SIGINT, SIGKILL, a test that just returns). Runs on the
 * envtest plane (`deno task test:envtest`); the errors are in
 * `envtest_errors_test.ts`.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:tls";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { CoreV1Api } from "@kubernetes/client-node";
import { EnvTest } from "../../testing/mod.ts";
import { skipUnlessEnvTest } from "../_control_plane.ts";
import { alive, allGone, rejection } from "./_envtest.ts";

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

describe("EnvTest with the real binaries", {
  skip: skipUnlessEnvTest("the EnvTest runs of real binaries"),
}, () => {
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
