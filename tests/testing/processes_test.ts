/**
 * The envtest launcher's child processes (`testing/_processes.ts`): `stop`
 * ends a child that ignores SIGTERM once the grace is over. Under Deno a
 * second `ChildProcess.kill` sends nothing, so before the fix the SIGKILL
 * was lost and `stop` waited for the child to end by itself (a
 * kube-apiserver draining open requests: a minute).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess, startReaper } from "../../testing/_processes.ts";
import { alive } from "./_envtest.ts";

describe("startProcess", () => {
  it("stop() kills a child that ignores SIGTERM once the grace is over", async () => {
    const dir = mkdtempSync(join(tmpdir(), "processes-test-"));
    const reaper = startReaper(dir);
    try {
      const child = startProcess({
        name: "stubborn",
        binary: "/bin/sh",
        // The shell becomes the sleep, which inherits the ignored SIGTERM.
        args: ["-c", "trap '' TERM; exec sleep 120"],
        logFile: join(dir, "stubborn.log"),
        reaper,
      });
      assert.ok(child.pid !== undefined && alive(child.pid));
      let timer: ReturnType<typeof setTimeout> | undefined;
      // Only bounds the wait: a lost SIGKILL leaves the child 120 s.
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), 20_000);
      });
      const outcome = await Promise.race([
        child.stop(100).then(() => "stopped" as const),
        late,
      ]);
      clearTimeout(timer);
      assert.equal(outcome, "stopped", "stop() still waiting after 20 s");
      assert.notEqual(child.status, null);
      assert.equal(alive(child.pid), false);
    } finally {
      await reaper.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
