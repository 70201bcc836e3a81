/**
 * Internal: reads the operator's own environment variables (the Raft
 * secret, cluster id, data directory and HTTP port) on top of what
 * `RaftConfig.fromEnv` reads.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { RaftConfig } from "../discovery/config.ts";
import { MissingEnvError } from "../discovery/errors.ts";
import type { EnvSource } from "../discovery/pod_identity.ts";
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
 * import { Operator, OperatorConfigError } from "@k8s-operator/k8s-operator";
 * try {
 *   Operator.fromEnv({ env: { RAFT_NODE_ID: "0", RAFT_PEERS: "0=127.0.0.1:7000" } });
 * } catch (error) {
 *   if (error instanceof OperatorConfigError) console.log(error.variable); // "RAFT_SECRET"
 * }
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
 * ```ts ignore
 * const config: OperatorConfig = Operator.fromEnv().config;
 * console.log(config.raft.nodeId, config.httpPort, config.dataDir ?? "memory");
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
}

function read(env: EnvSource | undefined, name: string): string | undefined {
  const value = env === undefined ? getEnv(name) : env[name];
  return value === undefined || value === "" ? undefined : value;
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

function readSecrets(env: EnvSource | undefined): Secrets {
  const inline = read(env, "RAFT_SECRET");
  const file = read(env, "RAFT_SECRET_FILE");
  const accepted = read(env, "RAFT_SECRET_ACCEPTED");
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

function readHttpPort(env: EnvSource | undefined, raftPort: number): number {
  const raw = read(env, "OPERATOR_HTTP_PORT");
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
  env: EnvSource | undefined,
  variable: string,
  range: { min: number; max: number; what: string },
): number | null {
  const raw = read(env, variable);
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

/** Reads and checks the whole environment; throws on the first problem. */
export function readOperatorEnv(env: EnvSource | undefined): OperatorConfig {
  const raft = readRaftConfig(env);
  const { secret, acceptedSecrets } = readSecrets(env);
  const clusterId = read(env, "RAFT_CLUSTER_ID") ??
    raft.identity?.statefulSet ?? "k8s-operator";
  if (!CLUSTER_ID.test(clusterId)) {
    throw new OperatorConfigError(
      "RAFT_CLUSTER_ID",
      `Expected RAFT_CLUSTER_ID to be letters, digits, '-', '_' and '.' (at most 253, starting and ending with a letter or digit), found ${
        JSON.stringify(clusterId)
      }`,
    );
  }
  const dataDir = read(env, "RAFT_DATA_DIR") ?? null;
  const watchNamespace = read(env, "WATCH_NAMESPACE") ?? null;
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
  };
}

function readFollow(env: EnvSource | undefined): boolean {
  const raw = read(env, "RAFT_FOLLOW_STATEFULSET");
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

const POD_HINTS: Record<string, string> = {
  POD_NAME:
    `in a StatefulSet the pod's name, from the downward API field metadata.name; ${OUTSIDE_STATEFULSET}`,
  NAMESPACE:
    `in a StatefulSet the pod's namespace, from the downward API field metadata.namespace; ${OUTSIDE_STATEFULSET}`,
};

/**
 * `RaftConfig.fromEnv`, naming the other way to run when a StatefulSet
 * pod's variables are missing: outside a StatefulSet (a laptop, a test)
 * `RAFT_NODE_ID` + `RAFT_PEERS` replace them.
 */
function readRaftConfig(env: EnvSource | undefined): RaftConfig {
  try {
    return RaftConfig.fromEnv(env);
  } catch (error) {
    if (error instanceof MissingEnvError && error.variable in POD_HINTS) {
      throw new MissingEnvError(error.variable, POD_HINTS[error.variable]);
    }
    throw error;
  }
}
