/**
 * The invariants of deploy/: what the operator depends on in its manifests.
 * Each check throws an `AssertionError` saying what is wrong, so the tests
 * run them on the real files and on deliberately broken copies.
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, posix } from "node:path";
import { Operator, type OperatorConfig, raftConfigFromEnv } from "../../mod.ts";
import {
  type Binding,
  type Bundle,
  type Container,
  type Crd,
  type Manifest,
  type NetworkPolicy,
  only,
  type PodDisruptionBudget,
  podEnv,
  type PolicyRule,
  type Role,
  root,
  selects,
  type Service,
  type StatefulSet,
} from "./_manifests.ts";

/** The operator variables deploy/ must set (the secret comes from a file). */
export const REQUIRED_VARIABLES: readonly string[] = [
  "RAFT_SECRET_FILE",
  "RAFT_CLUSTER_ID",
  "RAFT_DATA_DIR",
  "OPERATOR_HTTP_PORT",
];

/** The service account token's folder, which in-cluster config reads. */
export const TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

const CLUSTER_SCOPED = [
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
];

/** The objects the checks look at most. */
interface View {
  statefulSet: StatefulSet;
  container: Container;
  service: Service;
  env: Record<string, string>;
  labels: Record<string, string>;
  port(name: string): number;
}

function view(bundle: Bundle): View {
  const statefulSet = only<StatefulSet>(bundle.manifests, {
    kind: "StatefulSet",
  });
  const container = statefulSet.spec.template.spec.containers[0];
  return {
    statefulSet,
    container,
    service: only<Service>(bundle.manifests, {
      kind: "Service",
      name: statefulSet.spec.serviceName,
    }),
    env: podEnv(statefulSet, 0),
    labels: statefulSet.spec.template.metadata.labels,
    port(name) {
      const found = container.ports.find((p) => p.name === name);
      assert.ok(found, `Expected a container port named ${name}, found none`);
      return found.containerPort;
    },
  };
}

/** The names `read` reads from `values`, recorded through a Proxy. */
function recordReads(
  values: Record<string, string>,
  read: (env: Record<string, string>) => unknown,
): Set<string> {
  const names = new Set<string>();
  const recording = new Proxy(values, {
    get(target, name) {
      if (typeof name === "string") names.add(name);
      return Reflect.get(target, name);
    },
  });
  read(recording);
  return names;
}

/** The names `raftConfigFromEnv` reads from `values`. */
export function fromEnvReads(values: Record<string, string>): Set<string> {
  return recordReads(values, (env) => raftConfigFromEnv(env));
}

/**
 * The pod's environment as `Operator.fromEnv` sees it, with the secret
 * file replaced by the bundle's stand-in (the real one is only in the pod).
 */
function withStandInSecret(
  bundle: Bundle,
  env: Record<string, string>,
): Record<string, string> {
  return env.RAFT_SECRET_FILE === undefined
    ? env
    : { ...env, RAFT_SECRET_FILE: bundle.standInSecretFile };
}

/** The names `Operator.fromEnv` (with `raftConfigFromEnv`) reads. */
export function operatorReads(
  bundle: Bundle,
  values: Record<string, string>,
): Set<string> {
  return recordReads(
    withStandInSecret(bundle, values),
    (env) => Operator.fromEnv({ env }),
  );
}

/** What `Operator.fromEnv` makes of pod `ordinal`'s environment. */
export function operatorConfig(
  bundle: Bundle,
  ordinal: number,
): OperatorConfig {
  const { statefulSet } = view(bundle);
  return Operator.fromEnv({
    env: withStandInSecret(bundle, podEnv(statefulSet, ordinal)),
  }).config;
}

/** Every object once, namespaced ones in the Namespace of deploy/, every kind present. */
export function checkObjects(bundle: Bundle): void {
  const namespace = only<Manifest>(bundle.manifests, { kind: "Namespace" });
  const seen = new Set<string>();
  for (const m of bundle.manifests) {
    const key = `${m.kind}/${m.metadata.namespace ?? ""}/${m.metadata.name}`;
    assert.ok(!seen.has(key), `Expected ${key} once, found it twice`);
    seen.add(key);
    assert.equal(
      m.metadata.namespace,
      CLUSTER_SCOPED.includes(m.kind) ? undefined : namespace.metadata.name,
      `Expected ${key} (${m.file}) in the right namespace`,
    );
  }
  for (
    const kind of [
      "StatefulSet",
      "Service",
      "ServiceAccount",
      "Role",
      "RoleBinding",
      "PodDisruptionBudget",
      "NetworkPolicy",
      "CustomResourceDefinition",
    ]
  ) {
    assert.ok(
      bundle.manifests.some((m) => m.kind === kind),
      `Expected a ${kind} in deploy/, found none`,
    );
  }
}

/** No Secret among the manifests; the template holds no value. */
export function checkSecretTemplate(bundle: Bundle): void {
  assert.equal(
    bundle.manifests.filter((m) => m.kind === "Secret").length,
    0,
    "Expected no Secret among the manifests (only the template)",
  );
  assert.equal(bundle.secret.kind, "Secret");
  assert.equal(
    bundle.secret.data,
    undefined,
    "Expected no data in the template",
  );
  for (const [key, value] of Object.entries(bundle.secret.stringData ?? {})) {
    assert.equal(value, "", `Expected the template's ${key} to be empty`);
  }
}

/** 3 replicas, Parallel, a selector that matches the pods. */
export function checkStatefulSet(bundle: Bundle): void {
  const { statefulSet, labels } = view(bundle);
  assert.equal(statefulSet.spec.replicas, 3, "Expected 3 replicas");
  assert.equal(
    statefulSet.spec.podManagementPolicy,
    "Parallel",
    "Expected podManagementPolicy Parallel so peers can meet",
  );
  assert.ok(
    selects(statefulSet.spec.selector.matchLabels, labels),
    "Expected the StatefulSet's selector to match its pod template",
  );
}

/** Headless, publishNotReadyAddresses, selects the pods. */
export function checkService(bundle: Bundle): void {
  const { service, labels } = view(bundle);
  assert.equal(service.spec.clusterIP, "None", "Expected a headless Service");
  assert.equal(
    service.spec.publishNotReadyAddresses,
    true,
    "Expected publishNotReadyAddresses: true so peers find pods before they are ready",
  );
  assert.ok(
    selects(service.spec.selector, labels),
    "Expected the Service to select the operator's pods",
  );
}

/** Non-root, read-only root filesystem, no privileges, resource requests. */
export function checkPodSecurity(bundle: Bundle): void {
  const { statefulSet, container } = view(bundle);
  const pod = statefulSet.spec.template.spec;
  assert.equal(
    pod.securityContext?.runAsNonRoot,
    true,
    "Expected runAsNonRoot",
  );
  assert.equal(
    container.securityContext?.readOnlyRootFilesystem,
    true,
    "Expected a read-only root filesystem",
  );
  assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
  assert.deepEqual(container.securityContext?.capabilities?.drop, ["ALL"]);
  assert.ok(container.resources?.requests?.cpu, "Expected a CPU request");
  assert.ok(container.resources?.requests?.memory, "Expected a memory request");
}

/** /healthz for liveness and startup, /readyz for readiness, on the http port. */
export function checkProbes(bundle: Bundle): void {
  const { container } = view(bundle);
  const healthz = { path: "/healthz", port: "http" };
  assert.deepEqual(container.livenessProbe?.httpGet, healthz);
  assert.deepEqual(container.startupProbe?.httpGet, healthz);
  assert.deepEqual(container.readinessProbe?.httpGet, {
    path: "/readyz",
    port: "http",
  });
}

/** POD_NAME and NAMESPACE from the downward API. */
export function checkDownwardApi(bundle: Bundle): void {
  const byName = new Map(view(bundle).container.env.map((v) => [v.name, v]));
  assert.equal(
    byName.get("POD_NAME")?.valueFrom?.fieldRef?.fieldPath,
    "metadata.name",
    "Expected POD_NAME from the downward API's metadata.name",
  );
  assert.equal(
    byName.get("NAMESPACE")?.valueFrom?.fieldRef?.fieldPath,
    "metadata.namespace",
    "Expected NAMESPACE from the downward API's metadata.namespace",
  );
}

/**
 * Every variable is read by `Operator.fromEnv` (which runs
 * `raftConfigFromEnv`), the operator's own are set, and the StatefulSet
 * setup (not RAFT_PEERS) is the one selected.
 */
export function checkEnvNames(bundle: Bundle): void {
  const { container, env } = view(bundle);
  const read = operatorReads(bundle, env);
  for (const variable of container.env) {
    assert.ok(
      read.has(variable.name),
      `Expected ${variable.name} to be read by Operator.fromEnv or raftConfigFromEnv (${
        [...read].join(", ")
      }), found it unread`,
    );
  }
  for (const variable of REQUIRED_VARIABLES) {
    assert.ok(env[variable], `Expected ${variable} to be set, found it unset`);
  }
  assert.equal(env.RAFT_PEERS, undefined, "Expected no RAFT_PEERS");
  assert.equal(env.RAFT_NODE_ID, undefined, "Expected no RAFT_NODE_ID");
  assert.equal(
    env.WATCH_NAMESPACE,
    env.NAMESPACE,
    `Expected WATCH_NAMESPACE to be the pod's namespace (rbac.yaml grants a namespaced Role only), found ${
      JSON.stringify(env.WATCH_NAMESPACE)
    }`,
  );
}

/**
 * `Operator.fromEnv` accepts every pod's environment and takes the cluster
 * id, the data dir and the ports from it.
 */
export function checkOperatorConfig(bundle: Bundle): void {
  const { statefulSet, env, port } = view(bundle);
  for (let ordinal = 0; ordinal < statefulSet.spec.replicas; ordinal++) {
    const config = operatorConfig(bundle, ordinal);
    assert.equal(config.raft.nodeId, ordinal);
    assert.equal(config.clusterId, env.RAFT_CLUSTER_ID);
    assert.equal(config.dataDir, env.RAFT_DATA_DIR, "Expected file storage");
    assert.equal(config.raft.listenPort, port("raft"));
    assert.equal(
      config.httpPort,
      port("http"),
      "Expected the operator's http port to be the container's",
    );
  }
}

/**
 * Each pod's ordinal is its node id and every initial voter its peer at
 * `<pod>.<service>.<namespace>.svc.cluster.local.:<raft port>`.
 */
export function checkPeers(bundle: Bundle): void {
  const { statefulSet, service, env, port } = view(bundle);
  const { name, namespace } = statefulSet.metadata;
  const replicas = statefulSet.spec.replicas;
  assert.equal(
    Number(env.RAFT_REPLICAS),
    replicas,
    "Expected RAFT_REPLICAS to equal the replicas the cluster is created with",
  );
  const expected = Array.from({ length: replicas }, (_, i) => [
    i,
    `${name}-${i}.${service.metadata.name}.${namespace}.svc.cluster.local.:${
      port("raft")
    }`,
  ]);
  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const config = raftConfigFromEnv(podEnv(statefulSet, ordinal));
    assert.equal(config.nodeId, ordinal);
    assert.equal(config.listenPort, port("raft"));
    assert.deepEqual([...config.peers], expected);
  }
}

/** RAFT_SECRET_FILE is a key of the peer Secret, mounted read-only, never in the environment. */
export function checkSecretFile(bundle: Bundle): void {
  const { statefulSet, container, env } = view(bundle);
  const file = env.RAFT_SECRET_FILE;
  const mount = container.volumeMounts.find((m) =>
    m.mountPath === posix.dirname(file)
  );
  assert.ok(mount, `Expected a volume mounted at ${posix.dirname(file)}`);
  assert.equal(mount.readOnly, true, "Expected the secret mounted read-only");
  const volume = statefulSet.spec.template.spec.volumes.find((v) =>
    v.name === mount.name
  );
  assert.equal(
    volume?.secret?.secretName,
    bundle.secret.metadata.name,
    "Expected the secret volume to be the Secret of the template",
  );
  assert.ok(
    Object.hasOwn(bundle.secret.stringData ?? {}, posix.basename(file)),
    `Expected the Secret to have the key ${posix.basename(file)}`,
  );
  assert.ok(
    env.RAFT_SECRET === undefined &&
      !container.env.some((v) => v.valueFrom?.secretKeyRef !== undefined),
    "Expected no secret in the environment",
  );
}

/** RAFT_DATA_DIR is the mount of a volumeClaimTemplate. */
export function checkDataDir(bundle: Bundle): void {
  const { statefulSet, container, env } = view(bundle);
  const mount = container.volumeMounts.find((m) =>
    m.mountPath === env.RAFT_DATA_DIR
  );
  assert.ok(mount, `Expected a volume mounted at ${env.RAFT_DATA_DIR}`);
  assert.ok(
    statefulSet.spec.volumeClaimTemplates.some((t) =>
      t.metadata.name === mount.name
    ),
    `Expected ${mount.name} to be a volumeClaimTemplate, so the Raft files outlive the pod`,
  );
  assert.match(
    env.RAFT_CLUSTER_ID,
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    "Expected RAFT_CLUSTER_ID to be a DNS label",
  );
}

/** The ports agree between the container, the environment and the Service. */
export function checkPorts(bundle: Bundle): void {
  const { service, env, port } = view(bundle);
  assert.equal(port("raft"), 7000);
  assert.equal(port("http"), 8080);
  assert.equal(Number(env.RAFT_PORT), port("raft"), "Expected RAFT_PORT");
  assert.equal(
    Number(env.OPERATOR_HTTP_PORT),
    port("http"),
    "Expected OPERATOR_HTTP_PORT",
  );
  for (const name of ["raft", "http"]) {
    const servicePort = service.spec.ports.find((p) => p.name === name);
    assert.ok(servicePort, `Expected a Service port named ${name}`);
    assert.equal(
      servicePort.port,
      port(name),
      `Expected the Service's ${name}`,
    );
    assert.ok(
      servicePort.targetPort === name || servicePort.targetPort === port(name),
      `Expected the Service's ${name} port to target the container's`,
    );
  }
  assert.equal(
    env.RAFT_PORT_NAME,
    "raft",
    "Expected RAFT_PORT_NAME to be the Service port's name (the SRV records)",
  );
}

/** Only the operator's own pods reach the Raft port; every rule names its ports. */
export function checkNetworkPolicy(bundle: Bundle): void {
  const { labels, port } = view(bundle);
  const policy = only<NetworkPolicy>(bundle.manifests, {
    kind: "NetworkPolicy",
  });
  assert.ok(
    selects(policy.spec.podSelector.matchLabels, labels),
    "Expected the NetworkPolicy to select the operator's pods",
  );
  assert.ok(policy.spec.policyTypes.includes("Ingress"));
  const isRaft = (p: string | number) => p === "raft" || p === port("raft");
  for (const rule of policy.spec.ingress) {
    assert.ok(
      rule.ports !== undefined && rule.ports.length > 0,
      "Expected every ingress rule to name its ports (none opens them all)",
    );
    if (!rule.ports.some((p) => isRaft(p.port))) continue;
    assert.ok(rule.from !== undefined && rule.from.length > 0);
    for (const peer of rule.from) {
      assert.equal(
        peer.namespaceSelector,
        undefined,
        "Expected the Raft port open to the operator's namespace only",
      );
      assert.equal(peer.ipBlock, undefined, "Expected no ipBlock on Raft");
      assert.ok(
        selects(peer.podSelector?.matchLabels ?? {}, labels),
        "Expected the Raft port open to the operator's pods only",
      );
    }
  }
  assert.ok(
    policy.spec.ingress.some((r) => r.ports?.some((p) => isRaft(p.port))),
    "Expected the peers allowed on the Raft port",
  );
}

/** maxUnavailable 1 over the operator's pods. */
export function checkDisruptionBudget(bundle: Bundle): void {
  const { labels } = view(bundle);
  const pdb = only<PodDisruptionBudget>(bundle.manifests, {
    kind: "PodDisruptionBudget",
  });
  assert.equal(pdb.spec.maxUnavailable, 1, "Expected maxUnavailable: 1");
  assert.equal(pdb.spec.minAvailable, undefined, "Expected no minAvailable");
  assert.ok(
    selects(pdb.spec.selector.matchLabels, labels),
    "Expected the budget to select the operator's pods",
  );
}

function allows(
  rules: readonly PolicyRule[],
  want: {
    group: string;
    resource: string;
    verb: string;
    resourceNames?: readonly string[];
  },
): boolean {
  return rules.some((r) =>
    r.apiGroups.includes(want.group) && r.resources.includes(want.resource) &&
    r.verbs.includes(want.verb) &&
    names(r.resourceNames) === names(want.resourceNames)
  );
}

/** A grant's resource names as text: empty for every object of the kind. */
function names(resourceNames: readonly string[] | undefined): string {
  return resourceNames === undefined
    ? ""
    : `[${[...resourceNames].sort().join(",")}]`;
}

/** The rules of the Role bound to the pods' ServiceAccount. */
export function podRules(bundle: Bundle): PolicyRule[] {
  const { statefulSet } = view(bundle);
  const account = statefulSet.spec.template.spec.serviceAccountName;
  only(bundle.manifests, { kind: "ServiceAccount", name: account });
  const binding = bundle.manifests.find((m): m is Binding =>
    m.kind === "RoleBinding" &&
    (m as Binding).subjects.some((s) =>
      s.kind === "ServiceAccount" && s.name === account
    )
  );
  assert.ok(
    binding,
    `Expected a RoleBinding for the ServiceAccount ${account}`,
  );
  return only<Role>(bundle.manifests, {
    kind: binding.roleRef.kind,
    name: binding.roleRef.name,
  }).rules;
}

/** What the operator needs of a kind it reconciles, owns or writes. */
export interface Access {
  group: string;
  resource: string;
  verbs: readonly string[];
  /** Only these objects (default: every object of the kind). */
  resourceNames?: readonly string[];
}

/**
 * The Role grants exactly `needs`, what the controller does to every custom
 * resource of deploy/crds (watch, patch, status, finalizers) and Events:
 * nothing missing, nothing more (least privilege), no wildcard, no Secrets,
 * and no cluster-wide role.
 */
export function checkRbac(bundle: Bundle, needs: readonly Access[]): void {
  const rules = podRules(bundle);
  for (
    const m of bundle.manifests.filter((m) =>
      m.kind === "Role" || m.kind === "ClusterRole"
    )
  ) {
    for (const rule of (m as Role).rules) {
      for (const list of [rule.apiGroups, rule.resources, rule.verbs]) {
        assert.ok(
          !list.includes("*"),
          `Expected no wildcard in ${m.metadata.name}`,
        );
      }
      assert.ok(
        !rule.resources.includes("secrets"),
        `Expected no access to Secrets in ${m.metadata.name}`,
      );
    }
  }
  const crds = bundle.manifests.filter((m): m is Crd =>
    m.kind === "CustomResourceDefinition"
  );
  const all: Access[] = [...needs, {
    group: "",
    resource: "events",
    verbs: ["create", "patch"],
  }, {
    // The leader follows its own StatefulSet's replicas (a watch with a
    // metadata.name field selector, which resourceNames can restrict).
    group: "apps",
    resource: "statefulsets",
    verbs: ["get", "list", "watch"],
    resourceNames: [view(bundle).statefulSet.metadata.name],
  }];
  for (const crd of crds) {
    const group = crd.spec.group;
    const plural = crd.spec.names.plural;
    all.push(
      { group, resource: plural, verbs: ["get", "list", "watch", "patch"] },
      { group, resource: `${plural}/status`, verbs: ["patch"] },
      // blockOwnerDeletion on children needs update on the owner's finalizers.
      { group, resource: `${plural}/finalizers`, verbs: ["update"] },
    );
  }
  const needed = new Set<string>();
  for (const { group, resource, verbs, resourceNames } of all) {
    for (const verb of verbs) {
      const what = `${resource}${group ? `.${group}` : ""}${
        names(resourceNames)
      }`;
      needed.add(`${verb} ${what}`);
      assert.ok(
        allows(rules, { group, resource, verb, resourceNames }),
        `Expected the Role to allow ${verb} on ${what}, found no rule`,
      );
    }
  }
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        for (const verb of rule.verbs) {
          const grant = `${verb} ${resource}${group ? `.${group}` : ""}${
            names(rule.resourceNames)
          }`;
          assert.ok(
            needed.has(grant),
            `Expected the Role to grant only what the operator uses, found ${grant}`,
          );
        }
      }
    }
  }
  assert.ok(
    !bundle.manifests.some((m) =>
      m.kind === "ClusterRole" || m.kind === "ClusterRoleBinding"
    ),
    "Expected no cluster-wide role: the operator works in its namespace",
  );
}

/**
 * The image: `deno compile` of an entry point of the repository with the
 * permissions baked in (read/write for exactly the mounted paths and the
 * token, nothing broader), a distroless runtime stage (no shell, no Deno)
 * that runs the executable as the pod's user and exposes both ports.
 */
export function checkDockerfile(bundle: Bundle): void {
  const { statefulSet, env, port } = view(bundle);
  const lines = bundle.dockerfile;
  const from = lines.filter((l) => l.instruction === "FROM").at(-1);
  assert.match(from?.args ?? "", /^gcr\.io\/distroless\//);
  const user = lines.filter((l) => l.instruction === "USER").at(-1);
  assert.equal(
    user?.args.split(":")[0],
    String(statefulSet.spec.template.spec.securityContext?.runAsUser),
    "Expected the image's USER to be the pod's runAsUser",
  );
  const expose = lines.find((l) => l.instruction === "EXPOSE");
  assert.deepEqual(
    expose?.args.split(/\s+/).map(Number).sort(),
    [port("raft"), port("http")].sort(),
    "Expected EXPOSE of the Raft and http ports",
  );
  const compile = lines.find((l) =>
    l.instruction === "RUN" && /^deno compile /.test(l.args)
  );
  assert.ok(compile, "Expected a RUN deno compile");
  const argv = compile.args.split(/\s+/);
  const output = argv[argv.indexOf("--output") + 1];
  const entrypoint = lines.filter((l) => l.instruction === "ENTRYPOINT").at(-1);
  assert.deepEqual(
    JSON.parse(entrypoint?.args ?? "[]"),
    [`/${posix.basename(output)}`],
    "Expected the ENTRYPOINT to be the compiled executable",
  );
  const entry = argv.at(-1) ?? "";
  assert.ok(
    existsSync(join(root, entry)),
    `Expected the image's entry point ${entry} in the repository, found none`,
  );
  for (const flag of ["-A", "--allow-all", "--allow-run", "--allow-ffi"]) {
    assert.ok(!argv.includes(flag), `Expected no ${flag}`);
  }
  const list = (flag: string) =>
    argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1)
      .split(",") ?? [];
  assert.deepEqual(
    list("--allow-write"),
    [env.RAFT_DATA_DIR],
    "Expected --allow-write for RAFT_DATA_DIR only",
  );
  assert.deepEqual(
    list("--allow-read").sort(),
    [env.RAFT_DATA_DIR, posix.dirname(env.RAFT_SECRET_FILE), TOKEN_DIR].sort(),
    "Expected --allow-read for the data dir, the secret and the token only",
  );
}
