import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeObject } from "../../controller/mod.ts";
import type { Website } from "../../examples/resources.ts";
import {
  desiredConfigMap,
  desiredDeployment,
  FINALIZER,
} from "../../examples/website.ts";
import {
  checkFencing,
  checkOneLeader,
  checkRss,
  checkWebsite,
  FOREIGN_CONDITION,
  type GuardInterval,
  type LoggedRequest,
} from "./_invariants.ts";

const write = (over: Partial<LoggedRequest>): LoggedRequest => ({
  method: "PATCH",
  path: "/api/v1/namespaces/default/configmaps/a",
  received: 105,
  replica: 1,
  workload: false,
  sent: 100,
  leading: true,
  term: 3,
  ...over,
});

const intervals: GuardInterval[] = [
  { replica: 1, term: 3, start: 50, end: 120 },
  { replica: 2, term: 4, start: 130, end: 200, open: true },
];

describe("checkFencing", () => {
  it("accepts writes sent while leading, inside an interval of that term", () => {
    assert.deepEqual(
      checkFencing([
        write({}),
        write({ replica: 2, term: 4, sent: 500 }), // open interval: no end
        write({ method: "GET", leading: false }), // reads are not checked
        write({ workload: true, replica: null, leading: undefined }),
      ], intervals),
      [],
    );
  });

  it("flags a write sent while the guard was not leading, saying why", () => {
    const [late] = checkFencing(
      [write({ leading: false, role: "leader", leaseLeftMs: -12.5 })],
      intervals,
    );
    assert.match(late, /term 3: its lease had run out 12.5 ms before/);
    const [deposed] = checkFencing(
      [write({ leading: false, role: "follower" })],
      intervals,
    );
    assert.match(deposed, /term 3: its role was follower/);
    const [v] = checkFencing([write({ leading: false })], intervals);
    assert.match(
      v,
      /Replica 1 sent PATCH .* while its guard was not leading/,
    );
  });

  it("flags an untagged write, one the replica has no record of, and one outside every interval of its term", () => {
    const found = checkFencing([
      write({ replica: null, leading: undefined }),
      write({ sent: undefined, leading: undefined, term: undefined }),
      write({ sent: 121 }),
      write({ term: 4 }),
    ], intervals);
    assert.equal(found.length, 4);
    assert.match(found[0], /without a replica's tag/);
    assert.match(found[1], /reached the server with no record of its own/);
    assert.match(found[2], /outside every guard interval/);
    assert.match(found[3], /in term 4, outside every guard interval/);
  });
});

describe("checkOneLeader", () => {
  it("accepts intervals that follow each other, even of one replica", () => {
    assert.deepEqual(
      checkOneLeader([
        { replica: 1, term: 3, start: 0, end: 10 },
        { replica: 1, term: 3, start: 12, end: 20 },
        { replica: 2, term: 4, start: 21, end: 30 },
      ]),
      [],
    );
  });

  it("flags two replicas leading at one instant, however short", () => {
    const found = checkOneLeader([
      { replica: 1, term: 3, start: 0, end: 10 },
      { replica: 2, term: 4, start: 9.9, end: 30 },
      { replica: 0, term: 5, start: 40, end: 50 },
    ]);
    assert.equal(found.length, 1);
    assert.match(found[0], /Replicas 1 \(term 3.*and 2 \(term 4.*led at once/);
  });
});

describe("checkRss", () => {
  const series = (label: string, kbs: number[], step = 2_000) => ({
    label,
    samples: kbs.map((kb, i) => ({ t: i * step, kb })),
  });
  // Swings by a third, as a Deno process's RSS does, without a trend.
  const flat = Array.from(
    { length: 50 },
    (_, i) => 100_000 + (i % 7 < 3 ? 0 : 33_000),
  );
  const growing = Array.from({ length: 50 }, (_, i) => 100_000 + i * 1_000);

  it("measures growth along the fitted line after warm-up, so swings do not count and a steady rise does", () => {
    const { violations, measured } = checkRss([
      series("flat", flat),
      series("growing", growing),
    ], {
      warmupEnd: 0,
      processWarmupMs: 0,
      minSpanMs: 60_000,
      maxGrowth: 0.2,
      maxMb: 1_000,
    });
    assert.equal(measured.length, 2);
    assert.ok(Math.abs(measured[0].growth) < 0.05, `${measured[0].growth}`);
    assert.ok(measured[1].growth > 0.3);
    assert.equal(violations.length, 1);
    assert.match(violations[0], /^growing: RSS grew \d+% after warm-up/);
  });

  it("ignores samples before the run's or the process's warm-up, and processes that lived too briefly", () => {
    const early = [...Array(20).fill(50_000), ...flat];
    const late = {
      label: "restarted",
      samples: early.map((kb, i) => ({ t: 100_000 + i * 2_000, kb })),
    };
    const { violations, measured } = checkRss([
      series("warming", early),
      late,
      series("brief", growing.slice(0, 20)),
    ], {
      warmupEnd: 40_000,
      processWarmupMs: 40_000,
      minSpanMs: 60_000,
      maxGrowth: 0.2,
      maxMb: 1_000,
    });
    assert.deepEqual(violations, []);
    assert.deepEqual(measured.map((m) => m.label), ["warming", "restarted"]);
  });

  it("flags any sample above the ceiling, however briefly the process lived", () => {
    const { violations } = checkRss([series("spike", [100_000, 700_000])], {
      warmupEnd: 0,
      processWarmupMs: 0,
      minSpanMs: 60_000,
      maxGrowth: 0.2,
      maxMb: 600,
    });
    assert.deepEqual(violations, [
      "spike: RSS reached 684 MB, more than 600 MB",
    ]);
  });
});

describe("checkWebsite", () => {
  const site = {
    apiVersion: "example.k8s-operator.dev/v1alpha1",
    kind: "Website",
    metadata: {
      name: "blog",
      namespace: "default",
      uid: "u-1",
      generation: 3,
      finalizers: [FINALIZER],
    },
    spec: { domain: "blog.example.com", image: "nginx:1.27", replicas: 2 },
    status: {
      observedGeneration: 3,
      url: "http://blog.example.com/",
      conditions: [
        {
          type: "Available",
          status: "False",
          observedGeneration: 3,
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
        {
          type: "Reconciled",
          status: "True",
          observedGeneration: 3,
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
        {
          type: FOREIGN_CONDITION,
          status: "True",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
    },
  } as Website;
  type Child = KubeObject & {
    data: Record<string, string>;
    spec: { replicas: number };
  };
  const withUid = (o: KubeObject) => {
    for (const r of o.metadata.ownerReferences ?? []) r.uid = "u-1";
    return o as Child;
  };
  const children = () => ({
    configMap: withUid(desiredConfigMap(site)),
    deployment: withUid(desiredDeployment(site)),
    foreign: true,
  });

  it("accepts a converged Website", () => {
    assert.deepEqual(checkWebsite(site, children()), []);
  });

  it("accepts a Deployment as the API server stores it: ports with their default protocol, an empty env left out", () => {
    const c = children();
    type Container = {
      env?: unknown[];
      ports: Record<string, unknown>[];
    };
    const container = (c.deployment.spec as unknown as {
      template: { spec: { containers: Container[] } };
    }).template.spec.containers[0];
    assert.deepEqual(container.env, [], "the site sets no env");
    delete container.env;
    container.ports = container.ports.map((p) => ({
      ...p,
      protocol: "TCP",
    }));
    assert.deepEqual(checkWebsite(site, c), []);
    container.ports[0].protocol = "UDP";
    assert.match(checkWebsite(site, c).join("\n"), /Deployment .*"UDP"/);
  });

  it("names each way a Website has not converged", () => {
    const stale = structuredClone(site);
    stale.metadata.generation = 4;
    stale.status!.conditions = stale.status!.conditions!.filter((c) =>
      c.type !== FOREIGN_CONDITION
    );
    const c = children();
    c.configMap.data.DOMAIN = "x";
    c.configMap.metadata.ownerReferences = undefined;
    c.deployment.spec.replicas = 9;
    const found = checkWebsite(stale, c);
    const expect = [
      /ConfigMap data/,
      /ConfigMap not owned/,
      /Deployment .*"replicas":9/,
      /observedGeneration 3, generation 4/,
      /condition Available at generation 3, generation 4/,
      /condition Reconciled at generation 3, generation 4/,
      /condition ExternalProbe, written by another client, was dropped/,
    ];
    assert.equal(found.length, expect.length, found.join("\n"));
    expect.forEach((re, i) => assert.match(found[i], re));
  });

  it("flags missing children, a missing finalizer, and a deletion left hanging", () => {
    const bare = structuredClone(site);
    bare.metadata.finalizers = [];
    assert.deepEqual(
      checkWebsite(bare, { foreign: false }).slice(0, 3),
      [
        `blog: no ${FINALIZER} finalizer`,
        "blog: ConfigMap missing",
        "blog: Deployment missing",
      ],
    );
    const deleting = structuredClone(site);
    deleting.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    assert.deepEqual(checkWebsite(deleting, children()), [
      "blog: still being deleted (finalizer not removed)",
    ]);
  });
});
