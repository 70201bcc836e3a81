/**
 * The network lab cleans up after itself: on destroy, on SIGINT/SIGTERM,
 * and (through the next run's leftover sweep) after a SIGKILL; it never
 * touches the things of a run that is still alive. Skipped, saying why,
 * where network namespaces cannot be made.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  cleanLeftovers,
  NetLab,
  netnsSkipReason,
  remainsOf,
} from "./_lab_deno.ts";

const skip = netnsSkipReason();
if (skip) console.warn(`Skipping the network lab tests: ${skip}`);

const CHILD = fileURLToPath(new URL("./_lab_child_deno.ts", import.meta.url));
const ETC_NETNS_CHILD = fileURLToPath(
  new URL("./_etc_netns_child_deno.ts", import.meta.url),
);
/** Running or sleeping: not gone, and not a zombie waiting for its parent. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Starts a lab in a child process; resolves with its id, pids and the child. */
async function childRun() {
  const child = spawn(process.execPath, ["run", "-A", CHILD], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => resolve())
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once(
      "exit",
      (code) =>
        reject(
          new Error(
            `Expected the lab child to print its id, it exited ${code}`,
          ),
        ),
    );
  });
  const { id, pids } = JSON.parse(line) as { id: string; pids: number[] };
  return { id, pids, child, exited };
}

/** Waits (up to 10 s) for `check`. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Expected ${what} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the network lab", { skip }, () => {
  it("leaves no namespace, /etc/netns entry, directory or process behind on destroy", async () => {
    const lab = await NetLab.create({ hosts: ["a", "b"] });
    const sleeper = lab.spawn("b", "sleep", ["600"]);
    const pids = [lab.dnsPid!, sleeper.pid!];
    assert.equal(
      remainsOf(lab.id).length,
      3 + 2 + 1,
      "3 namespaces, 2 resolv.conf dirs, 1 temp dir",
    );
    assert.ok(pids.every(alive));
    lab.destroy();
    assert.deepEqual(remainsOf(lab.id), []);
    assert.deepEqual(pids.filter(alive), []);
  });

  it("cleans up when the run is interrupted (SIGINT, SIGTERM)", async () => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const run = await childRun();
      assert.ok(remainsOf(run.id).length > 0);
      run.child.kill(signal);
      await run.exited;
      assert.deepEqual(remainsOf(run.id), [], `after ${signal}`);
      await until(
        `the processes of a run stopped by ${signal} gone`,
        () => !run.pids.some(alive),
      );
    }
  });

  it("sweeps what a killed run left, and leaves a live run's things alone", async () => {
    const live = await NetLab.create({ hosts: ["a"] });
    try {
      const run = await childRun();
      run.child.kill("SIGKILL");
      await run.exited;
      assert.ok(remainsOf(run.id).length > 0, "SIGKILL leaves things behind");
      const removed = cleanLeftovers("kopn-t-");
      assert.ok(removed.includes(`${run.id}-net`), JSON.stringify(removed));
      assert.deepEqual(remainsOf(run.id), []);
      await until(
        "the killed run's processes gone",
        () => !run.pids.some(alive),
      );
      assert.equal(
        remainsOf(live.id).length,
        2 + 1 + 1,
        "the live lab is intact",
      );
    } finally {
      live.destroy();
    }
  });

  it("writes and sweeps /etc/netns while other runs do the same", async () => {
    // Three runs at once for 1.5 s each: two make and remove their hosts'
    // resolv.conf (the last one out removes /etc/netns), one sweeps. Before,
    // a run's mkdir of /etc/netns/<ns> failed with ENOENT when another run
    // removed the empty /etc/netns in between (within a second here), and
    // a sweep's read of /etc/netns could do the same.
    const runs = ["churn", "churn", "sweep"].map((role) => {
      const child = spawn(process.execPath, [
        "run",
        "-A",
        ETC_NETNS_CHILD,
        role,
        "kopn-te-",
        "1500",
      ], { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout!.on("data", (chunk) => output += chunk);
      child.stderr!.on("data", (chunk) => output += chunk);
      return new Promise<{ role: string; code: number | null; output: string }>(
        (resolve) =>
          child.once("exit", (code) => resolve({ role, code, output })),
      );
    });
    for (const run of await Promise.all(runs)) {
      assert.equal(run.code, 0, `${run.role}: ${run.output}`);
      assert.ok(JSON.parse(run.output).rounds > 0, run.output);
    }
    assert.deepEqual(remainsOf("kopn-te-"), []);
  });
});
