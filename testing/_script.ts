/**
 * Internal: the command that runs one of our scripts as a child process
 * under the runtime running now (Deno, or Node in the npm build).
 *
 * @module
 */
import process from "node:process";
import { fileURLToPath } from "node:url";

/** A command line that runs a script under the current runtime. */
export interface ScriptCommand {
  /** The runtime's executable. */
  command: string;
  /** Its arguments: the script (and, under Deno, `run -A`) then `args`. */
  args: string[];
}

/**
 * The command that runs the script `script` (written as
 * `new URL("./x.ts", import.meta.url)`) under the runtime running this test:
 * `deno run -A x.ts` under Deno; `node x.js` in the npm build, whose compiler
 * rewrites such module URLs to the compiled `x.js` beside the test.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scriptCommand } from "./_script.ts";
 * const { command, args } = scriptCommand(
 *   new URL("./_child.ts", import.meta.url),
 *   ["--flag"],
 * );
 * assert.equal(args.at(-1), "--flag"); // command: deno (or node in the npm build)
 * assert.ok(command.length > 0);
 * ```
 */
export function scriptCommand(script: URL, args: string[] = []): ScriptCommand {
  const path = fileURLToPath(script);
  return /\.m?js$/.test(path)
    ? { command: process.execPath, args: [path, ...args] }
    : { command: process.execPath, args: ["run", "-A", path, ...args] };
}
