/**
 * Helpers for tests that run under both Deno and Node (from the npm build).
 *
 * @module
 */
export { type ScriptCommand, scriptCommand } from "../testing/_script.ts";
