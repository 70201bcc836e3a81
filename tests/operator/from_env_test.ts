import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  MalformedEnvError,
  MissingEnvError,
  Operator,
  OperatorConfigError,
  ReconcileResult,
} from "../../mod.ts";
import { TEST_SECRET } from "./_helpers.ts";
import { configMaps } from "../../testing/resource_types.ts";

const POD = {
  POD_NAME: "website-operator-1",
  NAMESPACE: "website-operator",
  RAFT_REPLICAS: "3",
  RAFT_SERVICE: "website-operator-raft",
};

function configError(variable: string, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof OperatorConfigError, String(error));
    assert.equal(error.variable, variable);
    assert.match(error.message, pattern);
    return true;
  };
}

describe("Operator.fromEnv", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "operator-env-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads each variable once, the kubeconfig's included, and only when built", async () => {
    const reads = new Map<string, number>();
    const env = new Proxy(
      { ...POD, RAFT_SECRET: TEST_SECRET, KUBECONFIG: join(dir, "none") },
      {
        get(target, name, receiver) {
          if (typeof name === "string") {
            reads.set(name, (reads.get(name) ?? 0) + 1);
          }
          return Reflect.get(target, name, receiver);
        },
      },
    );
    const operator = Operator.fromEnv({ env });
    const once = [...reads].filter(([, count]) => count !== 1);
    assert.deepEqual(once, []);
    assert.ok(reads.has("RAFT_PEERS") && reads.has("KUBERNETES_SERVICE_HOST"));
    reads.clear();
    // start() loads the kubeconfig from the values already read (here a
    // missing file: it rejects), without reading the environment again.
    await assert.rejects(operator.start(), /KUBECONFIG lists to exist/);
    assert.deepEqual([...reads.keys()], []);
  });

  it("reads a StatefulSet pod's environment with the defaults", () => {
    const { config } = Operator.fromEnv({
      env: { ...POD, RAFT_SECRET: TEST_SECRET },
    });
    assert.equal(config.raft.nodeId, 1);
    assert.deepEqual(config.raft.voters(), [0, 1, 2]);
    assert.equal(
      config.raft.peers.get(2),
      "website-operator-2.website-operator-raft.website-operator.svc.cluster.local.:7000",
    );
    assert.equal(config.raft.listenPort, 7000);
    assert.equal(config.httpPort, 8080);
    assert.equal(config.clusterId, "website-operator");
    assert.equal(config.dataDir, null);
    assert.equal(config.secret, TEST_SECRET);
  });

  it("reads the variables of deploy/statefulset.yaml", async () => {
    const file = join(dir, "secret");
    await writeFile(file, `${TEST_SECRET}\n`);
    const { config } = Operator.fromEnv({
      env: {
        ...POD,
        RAFT_PORT: "7000",
        RAFT_PORT_NAME: "raft",
        RAFT_CLUSTER_ID: "website-operator",
        RAFT_DATA_DIR: "/var/lib/operator/raft",
        RAFT_SECRET_FILE: file,
        OPERATOR_HTTP_PORT: "8080",
      },
    });
    assert.equal(config.secret, TEST_SECRET, "the trailing newline is cut");
    assert.equal(config.dataDir, "/var/lib/operator/raft");
    assert.equal(config.httpPort, 8080);
  });

  it("reads explicit peers for a cluster outside a StatefulSet", () => {
    const { config } = Operator.fromEnv({
      env: {
        RAFT_NODE_ID: "2",
        RAFT_PEERS: "0=127.0.0.1:7100,1=127.0.0.1:7101,2=127.0.0.1:7102",
        RAFT_SECRET: TEST_SECRET,
        OPERATOR_HTTP_PORT: "0",
      },
    });
    assert.equal(config.raft.nodeId, 2);
    assert.equal(config.raft.listenPort, 7102);
    assert.equal(config.httpPort, 0);
    assert.equal(config.clusterId, "k8s-operator");
  });

  it("with an empty environment names POD_NAME and the RAFT_NODE_ID + RAFT_PEERS way outside a StatefulSet", () => {
    assert.throws(
      () => Operator.fromEnv({ env: {} }),
      (error) =>
        error instanceof MissingEnvError && error.variable === "POD_NAME" &&
        /metadata\.name/.test(error.message) &&
        /outside a StatefulSet set RAFT_NODE_ID and RAFT_PEERS instead/.test(
          error.message,
        ),
    );
    assert.throws(
      () => Operator.fromEnv({ env: { POD_NAME: "op-0" } }),
      (error) =>
        error instanceof MissingEnvError && error.variable === "NAMESPACE" &&
        /RAFT_NODE_ID and RAFT_PEERS/.test(error.message),
    );
  });

  it("names the discovery variable at fault", () => {
    assert.throws(
      () => Operator.fromEnv({ env: { RAFT_SECRET: TEST_SECRET } }),
      (error) =>
        error instanceof MissingEnvError && error.variable === "POD_NAME",
    );
    assert.throws(
      () =>
        Operator.fromEnv({
          env: { ...POD, RAFT_REPLICAS: "three", RAFT_SECRET: TEST_SECRET },
        }),
      (error) =>
        error instanceof MalformedEnvError &&
        error.variable === "RAFT_REPLICAS",
    );
  });

  it("refuses to start without a secret", () => {
    assert.throws(
      () => Operator.fromEnv({ env: POD }),
      configError(
        "RAFT_SECRET",
        /RAFT_SECRET or RAFT_SECRET_FILE .*found neither set/,
      ),
    );
  });

  it("refuses a short secret without printing it", () => {
    assert.throws(
      () => Operator.fromEnv({ env: { ...POD, RAFT_SECRET: "hunter2" } }),
      (error) => {
        configError("RAFT_SECRET", /at least 16 characters.*found 7$/)(error);
        assert.doesNotMatch((error as Error).message, /hunter2/);
        return true;
      },
    );
  });

  it("refuses both secret variables, and an unreadable secret file", () => {
    assert.throws(
      () =>
        Operator.fromEnv({
          env: { ...POD, RAFT_SECRET: TEST_SECRET, RAFT_SECRET_FILE: "/x" },
        }),
      configError(
        "RAFT_SECRET_FILE",
        /one of RAFT_SECRET and RAFT_SECRET_FILE, found both/,
      ),
    );
    const missing = join(dir, "missing");
    assert.throws(
      () => Operator.fromEnv({ env: { ...POD, RAFT_SECRET_FILE: missing } }),
      configError(
        "RAFT_SECRET_FILE",
        /readable file .*found ".*missing" unreadable/,
      ),
    );
  });

  it("reads a second secret to accept during a rotation, from RAFT_SECRET_ACCEPTED or the file's second line", async () => {
    const next = "next-secret-0123456789";
    const { config } = Operator.fromEnv({
      env: { ...POD, RAFT_SECRET: TEST_SECRET, RAFT_SECRET_ACCEPTED: next },
    });
    assert.equal(config.secret, TEST_SECRET);
    assert.deepEqual(config.acceptedSecrets, [next]);
    const file = join(dir, "rotating");
    await writeFile(file, `${next}\r\n${TEST_SECRET}\n`);
    const rotating = Operator.fromEnv({
      env: { ...POD, RAFT_SECRET_FILE: file },
    }).config;
    assert.equal(rotating.secret, next, "the first line signs");
    assert.deepEqual(rotating.acceptedSecrets, [TEST_SECRET]);
    const single = Operator.fromEnv({
      env: { ...POD, RAFT_SECRET: TEST_SECRET },
    }).config;
    assert.deepEqual(single.acceptedSecrets, []);
  });

  it("refuses a secret file of more than two lines or with an empty one, two accepted secrets, and a short accepted secret", async () => {
    const three = join(dir, "three");
    await writeFile(three, `${TEST_SECRET}\n${TEST_SECRET}\n${TEST_SECRET}\n`);
    assert.throws(
      () => Operator.fromEnv({ env: { ...POD, RAFT_SECRET_FILE: three } }),
      configError("RAFT_SECRET_FILE", /one line .* or two .*found 3 lines$/),
    );
    const gap = join(dir, "gap");
    await writeFile(gap, `\n${TEST_SECRET}\n`);
    assert.throws(
      () => Operator.fromEnv({ env: { ...POD, RAFT_SECRET_FILE: gap } }),
      configError("RAFT_SECRET_FILE", /found 2 lines, some empty/),
    );
    const two = join(dir, "two");
    await writeFile(two, `${TEST_SECRET}\n${TEST_SECRET}x\n`);
    assert.throws(
      () =>
        Operator.fromEnv({
          env: {
            ...POD,
            RAFT_SECRET_FILE: two,
            RAFT_SECRET_ACCEPTED: TEST_SECRET,
          },
        }),
      configError("RAFT_SECRET_ACCEPTED", /found both RAFT_SECRET_ACCEPTED/),
    );
    assert.throws(
      () =>
        Operator.fromEnv({
          env: {
            ...POD,
            RAFT_SECRET: TEST_SECRET,
            RAFT_SECRET_ACCEPTED: "short",
          },
        }),
      configError(
        "RAFT_SECRET_ACCEPTED",
        /from RAFT_SECRET_ACCEPTED .*found 5$/,
      ),
    );
    const shortLine = join(dir, "short-line");
    await writeFile(shortLine, `${TEST_SECRET}\nshort\n`);
    assert.throws(
      () => Operator.fromEnv({ env: { ...POD, RAFT_SECRET_FILE: shortLine } }),
      configError(
        "RAFT_SECRET_FILE",
        /from line 2 of RAFT_SECRET_FILE .*found 5$/,
      ),
    );
  });

  it("refuses a malformed HTTP port, or one equal to the Raft port", () => {
    for (const value of ["http", "-1", "70000", "80.5"]) {
      assert.throws(
        () =>
          Operator.fromEnv({
            env: {
              ...POD,
              RAFT_SECRET: TEST_SECRET,
              OPERATOR_HTTP_PORT: value,
            },
          }),
        configError("OPERATOR_HTTP_PORT", /a port from 0 to 65535/),
      );
    }
    assert.throws(
      () =>
        Operator.fromEnv({
          env: { ...POD, RAFT_SECRET: TEST_SECRET, OPERATOR_HTTP_PORT: "7000" },
        }),
      configError(
        "OPERATOR_HTTP_PORT",
        /differ from the Raft port, found both 7000/,
      ),
    );
  });

  it("reads Raft timing, and refuses timing out of range", () => {
    const { config } = Operator.fromEnv({
      env: {
        ...POD,
        RAFT_SECRET: TEST_SECRET,
        RAFT_TICK_MS: "100",
        RAFT_ELECTION_TICKS: "10",
      },
    });
    assert.equal(config.tickMs, 100);
    assert.equal(config.electionTicks, 10);
    assert.equal(
      Operator.fromEnv({ env: { ...POD, RAFT_SECRET: TEST_SECRET } }).config
        .tickMs,
      null,
    );
    assert.throws(
      () =>
        Operator.fromEnv({
          env: { ...POD, RAFT_SECRET: TEST_SECRET, RAFT_ELECTION_TICKS: "2" },
        }),
      configError(
        "RAFT_ELECTION_TICKS",
        /an integer from 3 to 1000, found "2"/,
      ),
    );
    assert.throws(
      () =>
        Operator.fromEnv({
          env: { ...POD, RAFT_SECRET: TEST_SECRET, RAFT_TICK_MS: "fast" },
        }),
      configError("RAFT_TICK_MS", /from 1 to 60000, found "fast"/),
    );
  });

  it("reads WATCH_NAMESPACE, empty meaning all namespaces", () => {
    const env = { ...POD, RAFT_SECRET: TEST_SECRET };
    assert.equal(Operator.fromEnv({ env }).config.watchNamespace, null);
    assert.equal(
      Operator.fromEnv({ env: { ...env, WATCH_NAMESPACE: "" } }).config
        .watchNamespace,
      null,
    );
    assert.equal(
      Operator.fromEnv({ env: { ...env, WATCH_NAMESPACE: "web" } }).config
        .watchNamespace,
      "web",
    );
    assert.throws(
      () => Operator.fromEnv({ env: { ...env, WATCH_NAMESPACE: "Web Sites" } }),
      configError("WATCH_NAMESPACE", /a namespace name/),
    );
  });

  it("follows the StatefulSet by default, never with RAFT_PEERS", () => {
    const env = { ...POD, RAFT_SECRET: TEST_SECRET };
    const follow = (extra: Record<string, string>) =>
      Operator.fromEnv({ env: { ...env, ...extra } }).config.followStatefulSet;
    assert.equal(follow({}), true);
    assert.equal(follow({ RAFT_FOLLOW_STATEFULSET: "true" }), true);
    assert.equal(follow({ RAFT_FOLLOW_STATEFULSET: "false" }), false);
    assert.equal(
      Operator.fromEnv({
        env: {
          RAFT_NODE_ID: "0",
          RAFT_PEERS: "0=127.0.0.1:7000",
          RAFT_SECRET: TEST_SECRET,
          RAFT_FOLLOW_STATEFULSET: "true",
        },
      }).config.followStatefulSet,
      false,
    );
    assert.throws(
      () => follow({ RAFT_FOLLOW_STATEFULSET: "no" }),
      configError("RAFT_FOLLOW_STATEFULSET", /"true" or "false", found "no"/),
    );
  });

  it("reads how long the API server may be unreachable before the leader hands over", () => {
    const env = { ...POD, RAFT_SECRET: TEST_SECRET };
    const read = (extra: Record<string, string>) =>
      Operator.fromEnv({ env: { ...env, ...extra } }).config
        .apiUnreachableTransferAfterMs;
    assert.equal(read({}), null);
    assert.equal(
      read({ OPERATOR_API_UNREACHABLE_TRANSFER_AFTER_MS: "15000" }),
      15000,
    );
    assert.equal(read({ OPERATOR_API_UNREACHABLE_TRANSFER_AFTER_MS: "0" }), 0);
    for (const value of ["-1", "10s", "3600001"]) {
      assert.throws(
        () => read({ OPERATOR_API_UNREACHABLE_TRANSFER_AFTER_MS: value }),
        configError(
          "OPERATOR_API_UNREACHABLE_TRANSFER_AFTER_MS",
          /in milliseconds \(0: never\), an integer from 0 to 3600000/,
        ),
      );
    }
  });

  it("reads how long the API server may be unreachable before a replica hands its shards over", () => {
    const env = { ...POD, RAFT_SECRET: TEST_SECRET };
    const read = (extra: Record<string, string>) =>
      Operator.fromEnv({ env: { ...env, ...extra } }).config
        .apiUnreachableReleaseAfterMs;
    assert.equal(read({}), null);
    assert.equal(
      read({ OPERATOR_API_UNREACHABLE_RELEASE_AFTER_MS: "4000" }),
      4000,
    );
    assert.equal(read({ OPERATOR_API_UNREACHABLE_RELEASE_AFTER_MS: "0" }), 0);
    for (const value of ["-1", "10s", "3600001"]) {
      assert.throws(
        () => read({ OPERATOR_API_UNREACHABLE_RELEASE_AFTER_MS: value }),
        configError(
          "OPERATOR_API_UNREACHABLE_RELEASE_AFTER_MS",
          /hands its shards over, in milliseconds \(0: never\), an integer from 0 to 3600000/,
        ),
      );
    }
  });

  it("refuses a cluster id that cannot travel in a header", () => {
    for (const value of ["a b", "-x", "x\ny", "x".repeat(254)]) {
      assert.throws(
        () =>
          Operator.fromEnv({
            env: { ...POD, RAFT_SECRET: TEST_SECRET, RAFT_CLUSTER_ID: value },
          }),
        configError("RAFT_CLUSTER_ID", /letters, digits/),
      );
    }
  });

  it("refuses a reconciler with cleanup but no finalizer", () => {
    const operator = Operator.fromEnv({
      env: { ...POD, RAFT_SECRET: TEST_SECRET },
    });
    assert.throws(
      () =>
        operator.controller(configMaps, {
          reconcile: () => Promise.resolve(ReconcileResult.done()),
          cleanup: () => Promise.resolve(ReconcileResult.done()),
        }),
      /Expected a finalizer on the reconciler of ConfigMap/,
    );
  });
});
