/**
 * kubectl for the deploy/ tests: whether it is installed, a run that does
 * not block the event loop, and the names `kubectl -o name` prints.
 *
 * @module
 */
import { execFile, execFileSync } from "node:child_process";
import type { Manifest } from "./_manifests.ts";

/** Whether kubectl is on PATH. */
export function hasKubectl(): boolean {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Runs kubectl without blocking the event loop (a server may run on it). */
export function kubectl(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("kubectl", args, { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({
        code: error ? Number(error.code ?? 1) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
      });
    });
  });
}

/** `kind.group/name`, as `kubectl -o name` prints an object. */
export function nameOf(m: Manifest): string {
  const group = m.apiVersion.includes("/") ? m.apiVersion.split("/")[0] : "";
  return `${m.kind.toLowerCase()}${
    group ? `.${group}` : ""
  }/${m.metadata.name}`;
}
