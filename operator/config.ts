/**
 * The environment, read once: every variable the operator knows is read a
 * single time into a snapshot, then checked and turned into one typed
 * {@linkcode OperatorConfig} (discovery's `RaftConfig` included). This is
 * the only module of the library that reads the process environment; the
 * parts below take typed options.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import {
  type PeerListRaftOptions,
  RaftConfig,
  type StatefulSetRaftOptions,
} from "../discovery/config.ts";
import {
  DiscoveryConfigError,
  MalformedEnvError,
  MissingEnvError,
} from "../discovery/errors.ts";
import { type PodIdentity, podIdentity } from "../discovery/pod_identity.ts";
import { getEnv } from "../platform/mod.ts";

/** The shortest shared secret the operator accepts, in characters. */
export const MIN_SECRET_LENGTH = 16;
/** The HTTP port when `OPERATOR_HTTP_PORT` is not set. */
export const DEFAULT_HTTP_PORT = 8080;

const CLUSTER_ID = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?$/;

/**
 * A variable of the operator's environment is missing, malformed or
 * inconsistent with another.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Operator, OperatorConfigError } from "@k8s-operator/k8s-operator";
 * assert.throws(
 *   () => Operator.fromEnv({ env: { RAFT_NODE_ID: "0", RAFT_PEERS: "0=127.0.0.1:7000" } }),
 *   (error) => error instanceof OperatorConfigError && error.variable === "RAFT_SECRET",
 * );
 * ```
 */
export class OperatorConfigError extends Error {
  /** The variable at fault. */
  readonly variable: string;

  /** Creates the error for `variable`. */
  constructor(variable: string, message: string) {
    super(message);
    this.name = "OperatorConfigError";
    this.variable = variable;
  }
}

/**
 * Everything the operator reads from its environment, checked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Operator, type OperatorConfig } from "@k8s-operator/k8s-operator";
 * // In a pod: Operator.fromEnv() reads the process environment.
 * const config: OperatorConfig = Operator.fromEnv({
 *   env: { RAFT_NODE_ID: "0", RAFT_PEERS: "0=127.0.0.1:7000", RAFT_SECRET: "0123456789abcdef" },
 * }).config;
 * assert.equal(config.raft.nodeId, 0);
 * assert.equal(config.httpPort, 8080);
 * assert.equal(config.dataDir ?? "memory", "memory");
 * ```
 */
export interface OperatorConfig {
  /** Identity, initial voters and peer addresses (see `discovery/`). */
  raft: RaftConfig;
  /**
   * The peers' shared secret, which signs (`RAFT_SECRET`, or the first line
   * of the file `RAFT_SECRET_FILE` names).
   */
  secret: string;
  /**
   * Secrets also accepted from peers during a rotation, never used to sign
   * (`RAFT_SECRET_ACCEPTED`, or the second line of `RAFT_SECRET_FILE`).
   */
  acceptedSecrets: string[];
  /** `RAFT_CLUSTER_ID` (default: the StatefulSet's name, else `k8s-operator`). */
  clusterId: string;
  /** `RAFT_DATA_DIR`: where the Raft log lives; `null` keeps it in memory. */
  dataDir: string | null;
  /** `OPERATOR_HTTP_PORT` (default 8080): `/healthz`, `/readyz`, `/metrics`. */
  httpPort: number;
  /**
   * `WATCH_NAMESPACE`: the namespace controllers watch unless their
   * reconciler names one; `null` (unset or empty) watches all namespaces.
   * Set it to the pod's namespace when RBAC grants a Role, not a ClusterRole.
   */
  watchNamespace: string | null;
  /** `RAFT_TICK_MS`: milliseconds per Raft tick (default: the node's, 50). */
  tickMs: number | null;
  /** `RAFT_ELECTION_TICKS`: the minimum election timeout in ticks (default: the node's, 6). */
  electionTicks: number | null;
  /**
   * `RAFT_FOLLOW_STATEFULSET` (default `true`): the leader moves the Raft
   * membership to the ordinals `0..spec.replicas-1` of its own StatefulSet.
   * Always `false` with `RAFT_PEERS` (no StatefulSet).
   */
  followStatefulSet: boolean;
  /**
   * `OPERATOR_API_UNREACHABLE_TRANSFER_AFTER_MS`: how long the leader's
   * requests to the API server must have failed before it hands leadership
   * to a follower that reaches it (default: the operator's, 10000; `0`
   * never hands over).
   */
  apiUnreachableTransferAfterMs: number | null;
  /**
   * `OPERATOR_API_UNREACHABLE_RELEASE_AFTER_MS`: how long a replica's
   * requests to the API server must have failed before it hands its shards
   * to the others, until it reaches the API server again (default: the
   * operator's, 10000; `0` never releases). Only with sharded controllers.
   */
  apiUnreachableReleaseAfterMs: number | null;
}

/**
 * Where environment variables are read from: a plain record (tests), or the
 * process environment when omitted. Empty values count as unset.
 *
 * @example
 * ```ts
 * import { type EnvSource, podIdentityFromEnv } from "@k8s-operator/k8s-operator";
 * const env: EnvSource = { POD_NAME: "my-op-0", NAMESPACE: "ops" };
 * podIdentityFromEnv(env);
 * ```
 */
export type EnvSource = Readonly<Record<string, string | undefined>>;

/** The variables of the pod and of discovery (`raftConfigFromEnv`). */
const RAFT_VARIABLES = [
  "POD_NAME",
  "NAMESPACE",
  "RAFT_REPLICAS",
  "RAFT_SERVICE",
  "RAFT_PORT",
  "RAFT_PORT_NAME",
  "RAFT_CLUSTER_DOMAIN",
  "RAFT_PEERS",
  "RAFT_NODE_ID",
] as const;

/** The operator's own variables, and where its kubeconfig comes from. */
const OPERATOR_VARIABLES = [
  "RAFT_SECRET",
  "RAFT_SECRET_FILE",
  "RAFT_SECRET_ACCEPTED",
  "RAFT_CLUSTER_ID",
  "RAFT_DATA_DIR",
  "OPERATOR_HTTP_PORT",
  "WATCH_NAMESPACE",
  "RAFT_TICK_MS",
  "RAFT_ELECTION_TICKS",
  "RAFT_FOLLOW_STATEFULSET",
  "OPERATOR_API_UNREACHABLE_TRANSFER_AFTER_MS",
  "OPERATOR_API_UNREACHABLE_RELEASE_AFTER_MS",
  "KUBECONFIG",
  "KUBERNETES_SERVICE_HOST",
] as const;

type Variable =
  | (typeof RAFT_VARIABLES)[number]
  | (typeof OPERATOR_VARIABLES)[number];

/** The variables that are set (not empty), each read once. */
type Environment = Readonly<Partial<Record<Variable, string>>>;

function snapshot(
  env: EnvSource | undefined,
  names: readonly Variable[],
): Environment {
  const out: Partial<Record<Variable, string>> = {};
  for (const name of names) {
    const value = env === undefined ? getEnv(name) : env[name];
    if (value !== undefined && value !== "") out[name] = value;
  }
  return out;
}

/** The secret that signs, and the others accepted from peers. */
interface Secrets {
  secret: string;
  acceptedSecrets: string[];
}

function checkLength(secret: string, source: string): void {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new OperatorConfigError(
      source.startsWith("line") ? "RAFT_SECRET_FILE" : source,
      `Expected the shared secret from ${source} to be at least ${MIN_SECRET_LENGTH} characters (for example \`openssl rand -hex 32\`), found ${secret.length}`,
    );
  }
}

function readSecretFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new OperatorConfigError(
      "RAFT_SECRET_FILE",
      `Expected RAFT_SECRET_FILE to name a readable file holding the peers' shared secret, found ${
        JSON.stringify(file)
      } unreadable (${(error as Error).message})`,
    );
  }
  const lines = text.replace(/\r?\n$/, "").split(/\r?\n/);
  if (lines.length > 2 || lines.some((line) => line === "")) {
    throw new OperatorConfigError(
      "RAFT_SECRET_FILE",
      `Expected RAFT_SECRET_FILE to hold one line (the shared secret) or two (during a rotation: the secret that signs, then one also accepted), found ${lines.length} lines${
        lines.some((line) => line === "") ? ", some empty" : ""
      }`,
    );
  }
  return lines;
}

function readSecrets(env: Environment): Secrets {
  const inline = env.RAFT_SECRET;
  const file = env.RAFT_SECRET_FILE;
  const accepted = env.RAFT_SECRET_ACCEPTED;
  if (inline !== undefined && file !== undefined) {
    throw new OperatorConfigError(
      "RAFT_SECRET_FILE",
      "Expected one of RAFT_SECRET and RAFT_SECRET_FILE, found both set",
    );
  }
  let secrets: string[];
  let sources: string[];
  if (file !== undefined) {
    secrets = readSecretFile(file);
    sources = ["RAFT_SECRET_FILE", "line 2 of RAFT_SECRET_FILE"];
    if (secrets.length === 2 && accepted !== undefined) {
      throw new OperatorConfigError(
        "RAFT_SECRET_ACCEPTED",
        "Expected one accepted secret, found both RAFT_SECRET_ACCEPTED and a second line in RAFT_SECRET_FILE",
      );
    }
  } else if (inline !== undefined) {
    secrets = [inline];
    sources = ["RAFT_SECRET"];
  } else {
    throw new OperatorConfigError(
      "RAFT_SECRET",
      "Expected the environment variable RAFT_SECRET or RAFT_SECRET_FILE (the shared secret that signs messages between peers), found neither set",
    );
  }
  if (accepted !== undefined) {
    secrets.push(accepted);
    sources[secrets.length - 1] = "RAFT_SECRET_ACCEPTED";
  }
  secrets.forEach((secret, i) => checkLength(secret, sources[i]));
  return { secret: secrets[0], acceptedSecrets: secrets.slice(1) };
}

function readHttpPort(env: Environment, raftPort: number): number {
  const raw = env.OPERATOR_HTTP_PORT;
  if (raw === undefined) return DEFAULT_HTTP_PORT;
  const port = Number(raw);
  if (!/^[0-9]+$/.test(raw) || !Number.isInteger(port) || port > 65535) {
    throw new OperatorConfigError(
      "OPERATOR_HTTP_PORT",
      `Expected OPERATOR_HTTP_PORT to be a port from 0 to 65535 (0 picks a free one), found ${
        JSON.stringify(raw)
      }`,
    );
  }
  if (port !== 0 && port === raftPort) {
    throw new OperatorConfigError(
      "OPERATOR_HTTP_PORT",
      `Expected OPERATOR_HTTP_PORT to differ from the Raft port, found both ${port}`,
    );
  }
  return port;
}

function readInteger(
  env: Environment,
  variable: Variable,
  range: { min: number; max: number; what: string },
): number | null {
  const raw = env[variable];
  if (raw === undefined) return null;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < range.min || value > range.max) {
    throw new OperatorConfigError(
      variable,
      `Expected ${variable} to be ${range.what}, an integer from ${range.min} to ${range.max}, found ${
        JSON.stringify(raw)
      }`,
    );
  }
  return value;
}

/** The operator's own variables on top of `raft`. */
function operatorConfig(env: Environment, raft: RaftConfig): OperatorConfig {
  const { secret, acceptedSecrets } = readSecrets(env);
  const clusterId = env.RAFT_CLUSTER_ID ??
    raft.identity?.statefulSet ?? "k8s-operator";
  if (!CLUSTER_ID.test(clusterId)) {
    throw new OperatorConfigError(
      "RAFT_CLUSTER_ID",
      `Expected RAFT_CLUSTER_ID to be letters, digits, '-', '_' and '.' (at most 253, starting and ending with a letter or digit), found ${
        JSON.stringify(clusterId)
      }`,
    );
  }
  const dataDir = env.RAFT_DATA_DIR ?? null;
  const watchNamespace = env.WATCH_NAMESPACE ?? null;
  if (
    watchNamespace !== null &&
    !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(watchNamespace)
  ) {
    throw new OperatorConfigError(
      "WATCH_NAMESPACE",
      `Expected WATCH_NAMESPACE to be a namespace name (a DNS label), or empty for all namespaces, found ${
        JSON.stringify(watchNamespace)
      }`,
    );
  }
  return {
    raft,
    secret,
    acceptedSecrets,
    clusterId,
    dataDir,
    httpPort: readHttpPort(env, raft.listenPort),
    watchNamespace,
    tickMs: readInteger(env, "RAFT_TICK_MS", {
      min: 1,
      max: 60_000,
      what: "the milliseconds per Raft tick",
    }),
    electionTicks: readInteger(env, "RAFT_ELECTION_TICKS", {
      min: 3,
      max: 1000,
      what: "the minimum election timeout in ticks",
    }),
    followStatefulSet: raft.identity !== null && readFollow(env),
    apiUnreachableTransferAfterMs: readInteger(
      env,
      "OPERATOR_API_UNREACHABLE_TRANSFER_AFTER_MS",
      {
        min: 0,
        max: 3_600_000,
        what:
          "how long the API server must be unreachable from the leader before it hands over, in milliseconds (0: never)",
      },
    ),
    apiUnreachableReleaseAfterMs: readInteger(
      env,
      "OPERATOR_API_UNREACHABLE_RELEASE_AFTER_MS",
      {
        min: 0,
        max: 3_600_000,
        what:
          "how long the API server must be unreachable from a replica before it hands its shards over, in milliseconds (0: never)",
      },
    ),
  };
}

function readFollow(env: Environment): boolean {
  const raw = env.RAFT_FOLLOW_STATEFULSET;
  if (raw === undefined || raw === "true") return true;
  if (raw === "false") return false;
  throw new OperatorConfigError(
    "RAFT_FOLLOW_STATEFULSET",
    `Expected RAFT_FOLLOW_STATEFULSET to be "true" or "false", found ${
      JSON.stringify(raw)
    }`,
  );
}

const OUTSIDE_STATEFULSET =
  "outside a StatefulSet set RAFT_NODE_ID and RAFT_PEERS instead, e.g. RAFT_NODE_ID=0 RAFT_PEERS=0=127.0.0.1:7000";

/** The variable each option of discovery's typed setups is read from. */
const VARIABLE_OF: Readonly<Record<string, Variable>> = {
  podName: "POD_NAME",
  namespace: "NAMESPACE",
  replicas: "RAFT_REPLICAS",
  service: "RAFT_SERVICE",
  port: "RAFT_PORT",
  portName: "RAFT_PORT_NAME",
  clusterDomain: "RAFT_CLUSTER_DOMAIN",
  peers: "RAFT_PEERS",
  nodeId: "RAFT_NODE_ID",
};

/**
 * Runs one of discovery's typed setups on values read from `env`; an
 * invalid option becomes a {@linkcode MalformedEnvError} naming the
 * variable it came from.
 */
function fromVariables<T>(env: Environment, build: () => T): T {
  try {
    return build();
  } catch (error) {
    const invalid = error instanceof DiscoveryConfigError
      ? error.invalid
      : null;
    const variable = invalid === null ? undefined : VARIABLE_OF[invalid.option];
    if (invalid === null || variable === undefined) throw error;
    throw new MalformedEnvError(
      variable,
      env[variable] ?? String(invalid.value),
      invalid.expected,
    );
  }
}

/** An integer variable within `range`, or `undefined` when it is unset. */
function readCount(
  env: Environment,
  variable: Variable,
  range: { min: number; max: number; expected: string },
): number | undefined {
  const raw = env[variable];
  if (raw === undefined) return undefined;
  const value = Number(raw.trim());
  if (
    !/^\s*[0-9]+\s*$/.test(raw) || !Number.isSafeInteger(value) ||
    value < range.min || value > range.max
  ) {
    throw new MalformedEnvError(variable, raw, range.expected);
  }
  return value;
}

/** `POD_NAME` and `NAMESPACE`, checked. */
function readPod(env: Environment): PodIdentity {
  const podName = env.POD_NAME;
  if (podName === undefined) {
    throw new MissingEnvError(
      "POD_NAME",
      `in a StatefulSet the pod's name, from the downward API field metadata.name; ${OUTSIDE_STATEFULSET}`,
    );
  }
  const namespace = env.NAMESPACE;
  if (namespace === undefined) {
    throw new MissingEnvError(
      "NAMESPACE",
      `in a StatefulSet the pod's namespace, from the downward API field metadata.namespace; ${OUTSIDE_STATEFULSET}`,
    );
  }
  return fromVariables(env, () => podIdentity({ podName, namespace }));
}

/**
 * Discovery's variables: with `RAFT_PEERS`, an explicit peer list and
 * `RAFT_NODE_ID`; otherwise a StatefulSet pod (see discovery/README.md for
 * every variable).
 */
function readRaft(env: Environment): RaftConfig {
  const port = readCount(env, "RAFT_PORT", {
    min: 1,
    max: 65535,
    expected: "a port from 1 to 65535",
  });
  const peers = env.RAFT_PEERS;
  if (peers !== undefined) {
    const nodeId = readCount(env, "RAFT_NODE_ID", {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      expected: "a non-negative integer node id",
    });
    if (nodeId === undefined) {
      throw new MissingEnvError(
        "RAFT_NODE_ID",
        "this node's id, one of the ids in RAFT_PEERS",
      );
    }
    const options: PeerListRaftOptions = { nodeId, peers, listenPort: port };
    return fromVariables(env, () => RaftConfig.forPeerList(options));
  }
  if (env.RAFT_NODE_ID !== undefined) {
    throw new MissingEnvError(
      "RAFT_PEERS",
      'required with RAFT_NODE_ID: every initial member as "0=host-a:7000,1=host-b:7000"',
    );
  }
  const pod = readPod(env);
  const replicas = readCount(env, "RAFT_REPLICAS", {
    min: 1,
    max: 1000,
    expected: "the number of initial voters, an integer from 1 to 1000",
  });
  if (replicas === undefined) {
    throw new MissingEnvError(
      "RAFT_REPLICAS",
      "the number of initial voters: the StatefulSet's replicas at creation",
    );
  }
  const options: StatefulSetRaftOptions = {
    podName: pod.podName,
    namespace: pod.namespace,
    replicas,
    service: env.RAFT_SERVICE,
    port,
    portName: env.RAFT_PORT_NAME,
    clusterDomain: env.RAFT_CLUSTER_DOMAIN,
  };
  return fromVariables(env, () => RaftConfig.forStatefulSet(options));
}

/**
 * This node's Raft configuration from the environment (default: the
 * process's): a StatefulSet pod's (`POD_NAME`, `NAMESPACE`,
 * `RAFT_REPLICAS`, and optionally `RAFT_SERVICE`, `RAFT_PORT`,
 * `RAFT_PORT_NAME`, `RAFT_CLUSTER_DOMAIN`), or with `RAFT_PEERS` an
 * explicit peer list and `RAFT_NODE_ID`. Reads each of these variables
 * once; throws `MissingEnvError` or `MalformedEnvError` naming the
 * variable at fault. discovery/README.md lists the variables.
 *
 * @example StatefulSet
 * ```ts
 * import assert from "node:assert/strict";
 * import { raftConfigFromEnv } from "@k8s-operator/k8s-operator";
 * const config = raftConfigFromEnv({
 *   POD_NAME: "my-op-1", NAMESPACE: "ops", RAFT_SERVICE: "my-op-raft", RAFT_REPLICAS: "3",
 * });
 * assert.equal(config.nodeId, 1);
 * assert.deepEqual(config.voters(), [0, 1, 2]);
 * assert.equal(config.peers.get(2), "my-op-2.my-op-raft.ops.svc.cluster.local.:7000");
 * ```
 *
 * @example Explicit peers
 * ```ts
 * import assert from "node:assert/strict";
 * import { raftConfigFromEnv } from "@k8s-operator/k8s-operator";
 * const config = raftConfigFromEnv({ RAFT_NODE_ID: "0", RAFT_PEERS: "0=127.0.0.1:7000,1=127.0.0.1:7001" });
 * assert.equal(config.listenPort, 7000);
 * ```
 */
export function raftConfigFromEnv(env?: EnvSource): RaftConfig {
  return readRaft(snapshot(env, RAFT_VARIABLES));
}

/**
 * Who this pod is, from `POD_NAME` and `NAMESPACE` (set them from the
 * downward API: `metadata.name` and `metadata.namespace`); `env` defaults
 * to the process's. Throws `MissingEnvError` when a variable is unset or
 * empty, and `MalformedEnvError` when `POD_NAME` is not
 * `<statefulSet>-<ordinal>` or `NAMESPACE` is not a DNS label.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { podIdentityFromEnv } from "@k8s-operator/k8s-operator";
 * const me = podIdentityFromEnv({ POD_NAME: "my-operator-2", NAMESPACE: "ops" });
 * assert.equal(me.statefulSet, "my-operator");
 * assert.equal(me.ordinal, 2);
 * ```
 */
export function podIdentityFromEnv(env?: EnvSource): PodIdentity {
  return readPod(snapshot(env, ["POD_NAME", "NAMESPACE"]));
}

/** What the operator reads from its environment. */
export interface OperatorEnvironment {
  /** Everything checked, discovery's part included. */
  config: OperatorConfig;
  /** Where the kubeconfig comes from, for `loadKubeConfig`. */
  kubeConfigEnv: { KUBECONFIG?: string; KUBERNETES_SERVICE_HOST?: string };
}

/**
 * Internal (`Operator.fromEnv`'s): reads every variable once and checks
 * them all; throws on the first problem, naming the variable.
 */
export function readOperatorEnv(
  source: EnvSource | undefined,
): OperatorEnvironment {
  const env = snapshot(source, [...RAFT_VARIABLES, ...OPERATOR_VARIABLES]);
  return {
    config: operatorConfig(env, readRaft(env)),
    kubeConfigEnv: {
      KUBECONFIG: env.KUBECONFIG,
      KUBERNETES_SERVICE_HOST: env.KUBERNETES_SERVICE_HOST,
    },
  };
}
