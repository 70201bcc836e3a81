/**
 * The envtest launcher's errors, with stand-in binaries (shell scripts), so
 * they run everywhere: a missing or non-executable binary, a process that
 * exits or is not ready in time, a taken port. Each leaves no folder behind.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  chmod,
  mkdtemp,
  readdir,
  readFile,
  rm,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EnvTest } from "../../testing/mod.ts";
import { allGone, rejection } from "./_envtest.ts";

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
