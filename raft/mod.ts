/**
 * Raft consensus: a pure core you can drive tick by tick, its storages, and
 * (in later parts) the runtime node and HTTP transport.
 *
 * Nothing here knows about Kubernetes, and nothing here imports an npm
 * package.
 *
 * @example Types of the core
 * ```ts
 * import type { HardState } from "@k8s-operator/k8s-operator/raft";
 * const hs: HardState = { term: 1, vote: 0, commit: 0 };
 * ```
 *
 * @module
 */
export type * from "./types.ts";
export type * from "./storage.ts";
export * from "./errors.ts";
