/**
 * Runtime-specific services behind one import: `serve`, `resolveDns`,
 * `onSignal`, `getEnv`, `exit`, `args`. Code elsewhere imports this file and
 * never `Deno.*` directly; the npm build points it at the Node twin.
 *
 * @module
 */
export * from "./platform.deno.ts";
export type * from "./types.ts";
