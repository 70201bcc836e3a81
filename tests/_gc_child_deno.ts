/**
 * The parent side of the memory-retention tests: runs a child module under
 * `deno run --v8-flags=--expose-gc` with one argument (how many items it
 * should make), asserts it exited with 0 (its stderr as the message), and
 * returns the JSON its last line of output printed.
 *
 * Deno-only: the child runs under `deno run`, so the npm build for Node
 * leaves this module (and the tests that use it) out.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/** Runs `child` with `--expose-gc` and `count`; returns its last line's JSON. */
export async function runGcChild<T>(child: URL, count: number): Promise<T> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      fileURLToPath(child),
      String(count),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const out = new TextDecoder().decode(stdout).trim().split("\n").at(-1)!;
  return JSON.parse(out) as T;
}
