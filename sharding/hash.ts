/**
 * Which shard an object belongs to: a stable 32-bit hash of its key (its
 * owner's key when it has one), and the rendezvous score that ranks members
 * for a shard. Every function is defined on unsigned 32-bit integers with
 * `Math.imul`, so it gives the same value on every runtime and version.
 *
 * @module
 */
import { ShardConfigError } from "./errors.ts";

/**
 * The largest shard count accepted anywhere (assignments carry one owner per
 * shard).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_SHARDS, shardOf } from "@k8s-operator/k8s-operator/sharding";
 * assert.ok(shardOf("default/web", MAX_SHARDS) < MAX_SHARDS);
 * ```
 */
export const MAX_SHARDS = 65_536;

/**
 * The shard count used when none is configured: many more shards than
 * replicas, few enough that a grant of all of them is small.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_SHARDS, shardOf } from "@k8s-operator/k8s-operator/sharding";
 * assert.equal(shardOf("default/web", DEFAULT_SHARDS), 96);
 * ```
 */
export const DEFAULT_SHARDS = 256;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

function fnv1a(bytes: Uint8Array, seed: number = FNV_OFFSET): number {
  let h = seed;
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul(h ^ bytes[i], FNV_PRIME);
  }
  return h >>> 0;
}

function fmix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * 32-bit FNV-1a of a string's UTF-8 bytes, without the finishing mix: the
 * published function, exposed so its test vectors can be checked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fnv1a32 } from "@k8s-operator/k8s-operator/sharding";
 * assert.equal(fnv1a32("a"), 0xe40c292c);
 * ```
 */
export function fnv1a32(text: string): number {
  return fnv1a(encoder.encode(text));
}

/**
 * The stable hash of an object key: 32-bit FNV-1a of its UTF-8 bytes,
 * finished with MurmurHash3's `fmix32` so every bit depends on every byte.
 * An unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashKey } from "@k8s-operator/k8s-operator/sharding";
 * assert.equal(hashKey("default/web"), hashKey("default/web"));
 * assert.ok(hashKey("default/web") >= 0 && hashKey("default/web") < 2 ** 32);
 * ```
 */
export function hashKey(key: string): number {
  return fmix32(fnv1a(encoder.encode(key)));
}

/**
 * Returns `count` when it is a shard count (an integer from 1 to
 * {@linkcode MAX_SHARDS}); throws {@linkcode ShardConfigError} otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkShardCount, ShardConfigError } from "@k8s-operator/k8s-operator/sharding";
 * assert.equal(checkShardCount(256), 256);
 * assert.throws(() => checkShardCount(0), ShardConfigError);
 * ```
 */
export function checkShardCount(count: number): number {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new ShardConfigError(
      `Expected a shard count from 1 to ${MAX_SHARDS}, found ${count}`,
    );
  }
  return count;
}

/**
 * The shard of a key: `floor(hashKey(key) × shardCount / 2³²)`, the hash's
 * high bits, so any shard count works.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shardOf } from "@k8s-operator/k8s-operator/sharding";
 * const shard = shardOf("default/web", 256);
 * assert.ok(Number.isInteger(shard) && shard >= 0 && shard < 256);
 * ```
 */
export function shardOf(key: string, shardCount: number): number {
  checkShardCount(shardCount);
  return Math.floor(hashKey(key) * shardCount / 4294967296);
}

/**
 * An owner reference, as far as sharding reads it.
 *
 * @example
 * ```ts
 * import type { ShardOwnerReference } from "@k8s-operator/k8s-operator/sharding";
 * const ref: ShardOwnerReference = { kind: "Website", name: "blog", controller: true };
 * ```
 */
export interface ShardOwnerReference {
  /** The owner's kind. */
  kind: string;
  /** The owner's name. */
  name: string;
  /** `true` for the managing controller's reference. */
  controller?: boolean;
}

/**
 * The part of an object sharding reads.
 *
 * @example
 * ```ts
 * import type { ShardKeySource } from "@k8s-operator/k8s-operator/sharding";
 * const object: ShardKeySource = { metadata: { namespace: "default", name: "web" } };
 * ```
 */
export interface ShardKeySource {
  /** The object's metadata. */
  metadata: {
    /** Its name. */
    name?: string;
    /** Its namespace; absent for a cluster-scoped object. */
    namespace?: string;
    /** Its owners. */
    ownerReferences?: readonly ShardOwnerReference[];
  };
}

/**
 * Options of {@linkcode shardKey}.
 *
 * @example
 * ```ts
 * import type { ShardKeyOptions } from "@k8s-operator/k8s-operator/sharding";
 * const options: ShardKeyOptions = { clusterScopedKinds: ["Tenant"] };
 * ```
 */
export interface ShardKeyOptions {
  /**
   * Kinds that are cluster-scoped, so an owner of such a kind is keyed by its
   * name alone even when the owned object is namespaced. Default: none.
   */
  clusterScopedKinds?: readonly string[];
}

/**
 * The key an object is sharded by: `namespace/name` (`name` when
 * cluster-scoped), or, when the object has owners, its owner's key: the
 * reference with `controller: true`, else the first one. Only the direct
 * owner counts.
 *
 * @throws {ShardConfigError} when the object (or its chosen owner) has no name.
 *
 * @example A Deployment goes with the Website that owns it
 * ```ts
 * import assert from "node:assert/strict";
 * import { shardKey } from "@k8s-operator/k8s-operator/sharding";
 * const deployment = {
 *   metadata: {
 *     namespace: "default",
 *     name: "blog-web",
 *     ownerReferences: [{ kind: "Website", name: "blog", controller: true }],
 *   },
 * };
 * assert.equal(shardKey(deployment), "default/blog");
 * assert.equal(shardKey({ metadata: { namespace: "default", name: "blog" } }), "default/blog");
 * ```
 */
export function shardKey(
  object: ShardKeySource,
  options: ShardKeyOptions = {},
): string {
  const { namespace, name, ownerReferences } = object.metadata;
  const owners = ownerReferences ?? [];
  if (owners.length > 0) {
    const owner = owners.find((r) => r.controller === true) ?? owners[0];
    if (typeof owner.name !== "string" || owner.name === "") {
      throw new ShardConfigError(
        `Expected the owner reference of ${
          name ?? "an object"
        } to have a name, found ${JSON.stringify(owner.name)}`,
      );
    }
    const clusterScoped = namespace === undefined || namespace === "" ||
      (options.clusterScopedKinds ?? []).includes(owner.kind);
    return clusterScoped ? owner.name : `${namespace}/${owner.name}`;
  }
  if (typeof name !== "string" || name === "") {
    throw new ShardConfigError(
      `Expected an object with a name to shard, found ${JSON.stringify(name)}`,
    );
  }
  return namespace === undefined || namespace === ""
    ? name
    : `${namespace}/${name}`;
}

/** FNV-1a over one 32-bit word's four bytes, little-endian. */
function fnvWord(h: number, word: number): number {
  let x = h;
  for (let shift = 0; shift < 32; shift += 8) {
    x = Math.imul(x ^ ((word >>> shift) & 0xff), FNV_PRIME);
  }
  return x;
}

/**
 * The rendezvous (highest-random-weight) score of a member for a shard:
 * FNV-1a over three little-endian 32-bit words (the shard, the member id's
 * low 32 bits, its high bits), then `fmix32`. The member that scores highest
 * is the shard's first choice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rendezvousScore } from "@k8s-operator/k8s-operator/sharding";
 * const best = [0, 1, 2].sort((a, b) => rendezvousScore(7, b) - rendezvousScore(7, a))[0];
 * assert.ok([0, 1, 2].includes(best));
 * ```
 */
export function rendezvousScore(shard: number, member: number): number {
  let h = fnvWord(FNV_OFFSET, shard >>> 0);
  h = fnvWord(h, member >>> 0);
  h = fnvWord(h, Math.floor(member / 4294967296) >>> 0);
  return fmix32(h);
}
