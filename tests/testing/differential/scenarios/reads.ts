/**
 * Watches, selectors and paged lists.
 *
 * @module
 */
import type { Scenario } from "../run.ts";
import {
  body,
  configMap,
  core,
  del,
  MERGE,
  names,
  patch,
  post,
} from "./_helpers.ts";

/** Watches: resuming from a resourceVersion, selectors entering and leaving, initial events with a bookmark. */
export const watches: Scenario = {
  name: "watch-semantics",
  async run(c) {
    const path = core(c.ns, "configmaps");
    await c.send(post(path, configMap("before", {}, { labels: { w: "yes" } })));
    const list = body(await c.send({ path: `${path}?labelSelector=w%3Dyes` }));
    const rv = list.metadata.resourceVersion;
    const selected = await c.watch(
      `${path}?watch=true&labelSelector=w%3Dyes&resourceVersion=${rv}`,
    );
    const named = await c.watch(
      `${path}?watch=true&fieldSelector=metadata.name%3Dmover&resourceVersion=${rv}`,
    );
    await c.send(post(path, configMap("mover", {}, { labels: { w: "yes" } })));
    await c.send(
      patch(`${path}/mover`, MERGE, { metadata: { labels: { w: "no" } } }),
    );
    await c.send(patch(`${path}/mover`, MERGE, { data: { k: "v" } }));
    await c.send(
      patch(`${path}/mover`, MERGE, { metadata: { labels: { w: "yes" } } }),
    );
    await c.send(del(`${path}/mover`));
    await c.events(
      "selector enters and leaves",
      selected,
      (e) => e.length >= 4,
    );
    await c.events("field selector", named, (e) => e.length >= 5);
    const resumed = await c.watch(
      `${path}?watch=true&labelSelector=w%3Dyes&resourceVersion=${rv}`,
    );
    await c.events("resumed from the list", resumed, (e) => e.length >= 4);
    const initial = await c.watch(
      `${path}?watch=true&labelSelector=w%3Dyes&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
    );
    await c.events(
      "initial events end with a bookmark",
      initial,
      (e) => e.some((x) => x.type === "BOOKMARK"),
    );
    const zero = await c.watch(
      `${path}?watch=true&labelSelector=w%3Dyes&resourceVersion=0`,
    );
    await c.events("from resourceVersion 0", zero, (e) => e.length >= 1);
    await c.call("watch with a bad resourceVersion", {
      path: `${path}?watch=true&resourceVersion=abc`,
    });
  },
};

/** Label and field selectors on lists. */
export const selectors: Scenario = {
  name: "selectors",
  async run(c) {
    const path = core(c.ns, "configmaps");
    const labels = [
      { env: "prod", tier: "web" },
      { env: "dev", tier: "web" },
      { env: "test" },
      { tier: "db" },
    ];
    for (const [i, l] of labels.entries()) {
      await c.send(
        post(path, configMap(`s${i}`, {}, { labels: { ...l, sel: "1" } })),
      );
    }
    for (
      const selector of [
        "env=prod",
        "env==prod",
        "env!=prod",
        "env in (dev,test)",
        "env notin (dev,test)",
        "tier",
        "!env",
        "tier=web,env=dev",
      ]
    ) {
      const reply = await c.send({
        path: `${path}?labelSelector=${
          encodeURIComponent(`sel=1,${selector}`)
        }`,
      });
      c.record(`labelSelector ${selector}`, {
        status: reply.status,
        names: names(reply),
      });
    }
    const byName = await c.send({
      path: `${path}?fieldSelector=metadata.name%3Ds1`,
    });
    c.record("fieldSelector metadata.name", {
      status: byName.status,
      names: names(byName),
    });
    const notName = await c.send({
      path: `${path}?labelSelector=sel%3D1&fieldSelector=metadata.name!%3Ds1`,
    });
    c.record("fieldSelector !=", {
      status: notName.status,
      names: names(notName),
    });
    await c.call("unsupported field selector", {
      path: `${path}?fieldSelector=data.k%3Dv`,
    });
    await c.call("bad label selector", {
      path: `${path}?labelSelector=${encodeURIComponent("a b c")}`,
    });
    await c.send(post(core(c.ns, "secrets"), {
      metadata: { name: "tls" },
      type: "kubernetes.io/tls",
      data: { "tls.crt": "", "tls.key": "" },
    }));
    const typed = await c.send({
      path: `${core(c.ns, "secrets")}?fieldSelector=type%3Dkubernetes.io%2Ftls`,
    });
    c.record("secret type field selector", {
      status: typed.status,
      names: names(typed),
    });
  },
};

/** Paged lists: limit, continue, remainingItemCount, and the snapshot later pages read. */
export const pagination: Scenario = {
  name: "pagination",
  async run(c) {
    const path = core(c.ns, "secrets");
    for (let i = 0; i < 5; i++) {
      await c.send(post(path, {
        metadata: {
          name: `s${i}`,
          labels: { page: i % 2 === 0 ? "even" : "odd" },
        },
        stringData: { i: String(i) },
      }));
    }
    const first = await c.call("first page", { path: `${path}?limit=2` });
    const token = body(first).metadata.continue;
    await c.send(
      post(path, { metadata: { name: "s9" }, stringData: { i: "9" } }),
    );
    await c.send(del(`${path}/s3`));
    await c.send(patch(`${path}/s2`, MERGE, { stringData: { i: "two" } }));
    const second = await c.call("second page", {
      path: `${path}?limit=2&continue=${encodeURIComponent(token)}`,
    });
    const third = await c.call("third page", {
      path: `${path}?limit=2&continue=${
        encodeURIComponent(body(second).metadata.continue ?? "")
      }`,
    });
    c.record("pages share the first page's resourceVersion", {
      second: body(second).metadata?.resourceVersion ===
        body(first).metadata.resourceVersion,
      third: body(third).metadata?.resourceVersion ===
        body(first).metadata.resourceVersion,
    });
    await c.call("selected first page", {
      path: `${path}?limit=2&labelSelector=page%3Deven`,
    });
    await c.call("field-selected first page", {
      path: `${path}?limit=1&fieldSelector=metadata.name!%3Ds0`,
    });
    await c.call("limit larger than the list", { path: `${path}?limit=100` });
    await c.call("bad continue token", {
      path: `${path}?limit=2&continue=garbage`,
    });
  },
};
