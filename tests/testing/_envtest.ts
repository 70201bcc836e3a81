/**
 * Helpers of the envtest launcher's tests: whether processes still run,
 * and the `ControlPlaneError` a start rejects with.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { ControlPlaneError } from "../../testing/mod.ts";

/** Whether `pid` is a running process (a zombie counts as gone). */
export function alive(pid: number): boolean {
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
export async function allGone(pids: number[]): Promise<number[]> {
  const deadline = performance.now() + 10_000;
  while (pids.some(alive) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return pids.filter(alive);
}

/** The `ControlPlaneError` `start` rejects with (anything else is rethrown). */
export async function rejection(
  start: Promise<unknown>,
): Promise<ControlPlaneError> {
  try {
    await start;
  } catch (error) {
    if (error instanceof ControlPlaneError) return error;
    throw error;
  }
  throw new Error("Expected the start to fail, but it succeeded");
}
