/**
 * The shard function is stable: the published FNV-1a vectors, golden values
 * of the whole function (computed by an independent Python implementation),
 * the owner rule, and an even spread.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  fnv1a32,
  hashKey,
  rendezvousScore,
  ShardConfigError,
  shardKey,
  shardOf,
} from "../../sharding/mod.ts";

describe("hashKey and shardOf", () => {
  it("computes FNV-1a 32 as published", () => {
    assert.equal(fnv1a32(""), 0x811c9dc5);
    assert.equal(fnv1a32("a"), 0xe40c292c);
    assert.equal(fnv1a32("foobar"), 0xbf9cf968);
  });

  it("gives the golden values on every runtime (UTF-8 bytes, fmix32)", () => {
    const golden: [string, number, number, number][] = [
      ["default/web", 0x6009e864, 96, 375],
      ["default/blog", 0xd48747ea, 212, 830],
      ["kube-system/coredns", 0xd1e7c26e, 209, 819],
      ["tenant-a", 0x002c3436, 0, 0],
      ["café/naïve-名前", 0x41e3b8bd, 65, 257],
    ];
    for (const [key, hash, of256, of1000] of golden) {
      assert.equal(hashKey(key), hash, key);
      assert.equal(shardOf(key, 256), of256, key);
      assert.equal(shardOf(key, 1000), of1000, key);
    }
  });

  it("gives rendezvous scores' golden values, high id bits included", () => {
    assert.equal(rendezvousScore(0, 0), 0x14111d98);
    assert.equal(rendezvousScore(7, 1), 0xb0bc991d);
    assert.equal(rendezvousScore(255, 2), 0x375bab12);
    assert.equal(rendezvousScore(3, 2 ** 40 + 5), 0xfeea2dbf);
    assert.notEqual(rendezvousScore(3, 2 ** 40 + 5), rendezvousScore(3, 5));
  });

  it("spreads 100,000 keys over 256 shards as a uniform hash would", () => {
    const counts = new Array(256).fill(0);
    for (let i = 0; i < 100_000; i++) {
      counts[shardOf(`ns-${i % 37}/obj-${i}`, 256)]++;
    }
    const even = 100_000 / 256;
    // Chi-square with 255 degrees of freedom: mean 255, deviation 22.6; a
    // uniform hash exceeds 330 with probability about 0.1 %.
    const chi2 = counts.reduce((sum, c) => sum + (c - even) ** 2 / even, 0);
    assert.ok(chi2 < 330, `chi-square ${chi2.toFixed(1)}`);
    assert.ok(Math.max(...counts) < even * 1.2, `max ${Math.max(...counts)}`);
    assert.ok(Math.min(...counts) > even * 0.8, `min ${Math.min(...counts)}`);
  });

  it("keeps every shard below the count, for any count", () => {
    for (const count of [1, 2, 3, 7, 256, 1000, 65_536]) {
      for (let i = 0; i < 2000; i++) {
        const s = shardOf(`k${i}`, count);
        assert.ok(
          Number.isInteger(s) && s >= 0 && s < count,
          `${s} of ${count}`,
        );
      }
    }
    assert.equal(shardOf("anything", 1), 0);
  });

  it("refuses a shard count outside 1..65536", () => {
    for (const bad of [0, -1, 1.5, 65_537, NaN]) {
      assert.throws(() => shardOf("k", bad), ShardConfigError);
    }
  });
});

describe("shardKey", () => {
  it("is namespace/name, or name for a cluster-scoped object", () => {
    assert.equal(shardKey({ metadata: { namespace: "a", name: "b" } }), "a/b");
    assert.equal(shardKey({ metadata: { name: "node-1" } }), "node-1");
  });

  it("sends an owned object to its controller owner's key", () => {
    const owned = {
      metadata: {
        namespace: "shop",
        name: "web-7f9",
        ownerReferences: [
          { kind: "ConfigMap", name: "other" },
          { kind: "Website", name: "web", controller: true },
        ],
      },
    };
    assert.equal(shardKey(owned), "shop/web");
    assert.equal(
      shardOf(shardKey(owned), 256),
      shardOf(shardKey({ metadata: { namespace: "shop", name: "web" } }), 256),
    );
  });

  it("takes the first owner when none is the controller", () => {
    const owned = {
      metadata: {
        namespace: "shop",
        name: "x",
        ownerReferences: [{ kind: "A", name: "first" }, {
          kind: "B",
          name: "second",
        }],
      },
    };
    assert.equal(shardKey(owned), "shop/first");
  });

  it("keys a cluster-scoped owner by its name", () => {
    const owned = {
      metadata: {
        namespace: "tenant-a",
        name: "quota",
        ownerReferences: [{ kind: "Tenant", name: "a", controller: true }],
      },
    };
    assert.equal(shardKey(owned, { clusterScopedKinds: ["Tenant"] }), "a");
    assert.equal(shardKey(owned), "tenant-a/a");
    assert.equal(
      shardKey({
        metadata: { name: "pv-1", ownerReferences: [{ kind: "X", name: "y" }] },
      }),
      "y",
    );
  });

  it("refuses an object or owner without a name", () => {
    assert.throws(
      () => shardKey({ metadata: { namespace: "a" } }),
      ShardConfigError,
    );
    assert.throws(
      () =>
        shardKey({
          metadata: { name: "x", ownerReferences: [{ kind: "A", name: "" }] },
        }),
      /owner reference of x to have a name/,
    );
  });
});
