/**
 * A test file that starts a real control plane, writes its process ids and
 * folder as JSON to the file `ENVTEST_CHILD_OUT` names, and then, as
 * `ENVTEST_CHILD_MODE` says, waits until a signal ends it (`wait`) or ends
 * without stopping it (`leave`). Run by the runtime's own test runner
 * (`deno test`, `node --test`): the launcher must leave nothing behind
 * however such a test process ends.
 *
 * @module
 */
import { it } from "node:test";
import { writeFile } from "node:fs/promises";
import { getEnv } from "../../platform/mod.ts";
import { EnvTest } from "../../testing/mod.ts";

it("holds a control plane", async () => {
  const plane = await EnvTest.start({
    kubeControllerManager: getEnv("ENVTEST_CHILD_NO_MANAGER")
      ? false
      : undefined,
  });
  await writeFile(
    getEnv("ENVTEST_CHILD_OUT")!,
    JSON.stringify({ pids: Object.values(plane.pids), dir: plane.dir }),
  );
  if (getEnv("ENVTEST_CHILD_MODE") === "wait") {
    await new Promise(() => setInterval(() => {}, 60_000));
  }
});
