/**
 * Raft consensus: a pure core you can drive tick by tick, its storages
 * (memory and a checksummed write-ahead log), the runtime node that drives
 * the core with a clock, the signed HTTP transport, and a replicated
 * key-value store.
 *
 * Nothing here knows about Kubernetes, and nothing here imports an npm
 * package. See `raft/README.md` for the ready/advance loop, the lease and
 * membership changes.
 *
 * @example Types of the core
 * ```ts
 * import type { HardState } from "@k8s-operator/k8s-operator/raft";
 * const hs: HardState = { term: 1, vote: 0, commit: 0 };
 * ```
 *
 * @module
 */
import "../platform/check_runtime.ts";
export type * from "./types.ts";
export type * from "./storage.ts";
export * from "./errors.ts";
export { RaftCore } from "./core.ts";
export type {
  CampaignOptions,
  CoreStatus,
  ProgressStatus,
  RaftCoreOptions,
} from "./core.ts";
export type { ProgressState } from "./_progress.ts";
export {
  decodeConfChange,
  decodeConfState,
  encodeConfChange,
  encodeConfState,
} from "./conf_change.ts";
export { MemoryStorage } from "./memory_storage.ts";
export { RaftNode } from "./node.ts";
export type {
  NodeReadiness,
  NodeStatus,
  RaftNodeOptions,
  RoleChange,
  RoleSink,
  RoleSinkOptions,
  StopOptions,
} from "./node.ts";
export { NodeStoppedError } from "./node.ts";
export { HttpTransport, TransportError } from "./transport.ts";
export { setTraceSink } from "./trace.ts";
export type { TraceEvent } from "./trace.ts";
export type {
  HttpTransportOptions,
  ListenOptions,
  RefusalReason,
  TransportRefusal,
} from "./transport.ts";
export {
  FileStorage,
  IncarnationFileError,
  StorageCorruptionError,
  StorageVersionError,
  StorageWriteError,
} from "./file_storage.ts";
export type { FileStorageOptions } from "./file_storage.ts";
export {
  decodeKvCommand,
  encodeKvCommand,
  KeyValueStore,
  KvFormatError,
  ReplicatedKv,
} from "./kv.ts";
export type { KvCommand, KvNode, KvResult, StateMachine } from "./kv.ts";
