/**
 * Loads the manifests of deploy/ for the tests: every object of every
 * `*.yaml` file (CRDs included), the Secret template, and the Dockerfile,
 * with typed views of the fields the operator depends on.
 *
 * @module
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { existsSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { load, loadAll } from "js-yaml";

/**
 * The repository root: the nearest folder above this file with
 * deploy/statefulset.yaml (the tests also run compiled, from npm/ inside
 * the repository).
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "deploy", "statefulset.yaml"))) {
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `Expected deploy/statefulset.yaml in a folder above ${import.meta.url}, found none`,
      );
    }
    dir = parent;
  }
  return dir + sep;
}

/** The repository root, with a trailing separator. */
export const root: string = findRoot();
/** The deploy/ folder. */
export const deployDir: string = join(root, "deploy");

/** Labels or a label selector's matchLabels. */
export type Labels = Record<string, string>;

/** Metadata of any object. */
export interface Meta {
  name: string;
  namespace?: string;
  labels?: Labels;
}

/** One object of a manifest file, with the file it came from. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  file: string;
  [field: string]: unknown;
}

/** An environment variable of a container. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
  };
}

/** A named container or Service port. */
export interface ContainerPort {
  name: string;
  containerPort: number;
  protocol?: string;
}

/** An HTTP probe. */
export interface Probe {
  httpGet?: { path: string; port: string | number };
}

/** The container fields the tests read. */
export interface Container {
  name: string;
  image: string;
  ports: ContainerPort[];
  env: EnvVar[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: {
    requests?: Record<string, string>;
    limits?: Record<string, string>;
  };
  securityContext?: {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

/** The StatefulSet fields the tests read. */
export interface StatefulSet extends Manifest {
  spec: {
    replicas: number;
    serviceName: string;
    podManagementPolicy?: string;
    selector: { matchLabels: Labels };
    template: {
      metadata: { labels: Labels };
      spec: {
        serviceAccountName: string;
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
        containers: Container[];
        volumes: {
          name: string;
          secret?: { secretName: string; defaultMode?: number };
        }[];
      };
    };
    volumeClaimTemplates: { metadata: { name: string } }[];
  };
}

/** The Service fields the tests read. */
export interface Service extends Manifest {
  spec: {
    clusterIP?: string;
    publishNotReadyAddresses?: boolean;
    selector: Labels;
    ports: {
      name: string;
      port: number;
      targetPort?: string | number;
      protocol?: string;
    }[];
  };
}

/** A NetworkPolicy peer (`from` entry). */
export interface PolicyPeer {
  podSelector?: { matchLabels?: Labels };
  namespaceSelector?: { matchLabels?: Labels };
  ipBlock?: { cidr: string };
}

/** The NetworkPolicy fields the tests read. */
export interface NetworkPolicy extends Manifest {
  spec: {
    podSelector: { matchLabels: Labels };
    policyTypes: string[];
    ingress: {
      from?: PolicyPeer[];
      ports?: { port: string | number; protocol?: string }[];
    }[];
  };
}

/** A Role or ClusterRole rule. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** A Role or ClusterRole. */
export interface Role extends Manifest {
  rules: PolicyRule[];
}

/** A RoleBinding or ClusterRoleBinding. */
export interface Binding extends Manifest {
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}

/** The PodDisruptionBudget fields the tests read. */
export interface PodDisruptionBudget extends Manifest {
  spec: {
    maxUnavailable?: number | string;
    minAvailable?: number | string;
    selector: { matchLabels: Labels };
  };
}

/** The CustomResourceDefinition fields the tests read. */
export interface Crd extends Manifest {
  spec: { group: string; names: { plural: string; kind: string } };
}

/** The Secret template's fields. */
export interface SecretTemplate extends Manifest {
  type: string;
  stringData?: Record<string, string>;
  data?: Record<string, string>;
}

function isManifest(value: unknown): value is Manifest {
  if (typeof value !== "object" || value === null) return false;
  const object = value as Record<string, unknown>;
  const metadata = object.metadata as Record<string, unknown> | undefined;
  return typeof object.apiVersion === "string" &&
    typeof object.kind === "string" &&
    typeof metadata === "object" && metadata !== null &&
    typeof metadata.name === "string";
}

/** The `*.yaml` files of a folder, sorted. */
async function yamlFiles(dir: string): Promise<string[]> {
  // kustomization.yaml is kustomize's configuration, not an object.
  return (await readdir(dir)).filter((f) =>
    f.endsWith(".yaml") && f !== "kustomization.yaml"
  ).sort();
}

/**
 * Every object of deploy/*.yaml and deploy/crds/*.yaml; throws naming the
 * file when a document is not an object with apiVersion, kind and a name.
 */
export async function loadManifests(): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const dir of [deployDir, join(deployDir, "crds")]) {
    for (const name of await yamlFiles(dir)) {
      const file = join(dir, name).slice(root.length);
      const text = await readFile(join(dir, name), "utf8");
      for (const doc of loadAll(text)) {
        if (doc === null || doc === undefined) continue;
        if (!isManifest(doc)) {
          throw new Error(
            `Expected every document of ${file} to have apiVersion, kind and metadata.name, found ${
              JSON.stringify(doc).slice(0, 120)
            }`,
          );
        }
        out.push({ ...doc, file });
      }
    }
  }
  return out;
}

/** The Secret template (deploy/secret.yaml.template). */
export async function loadSecretTemplate(): Promise<SecretTemplate> {
  const text = await readFile(join(deployDir, "secret.yaml.template"), "utf8");
  const doc = load(text);
  if (!isManifest(doc)) {
    throw new Error("Expected a Secret in deploy/secret.yaml.template");
  }
  return { ...doc, file: "deploy/secret.yaml.template" } as SecretTemplate;
}

/** The one object of `kind` (and `name`, when given); throws unless exactly one. */
export function only<T extends Manifest>(
  manifests: readonly Manifest[],
  select: { kind: string; name?: string },
): T {
  const found = manifests.filter((m) =>
    m.kind === select.kind &&
    (select.name === undefined || m.metadata.name === select.name)
  );
  if (found.length !== 1) {
    throw new Error(
      `Expected one ${select.kind}${
        select.name ? ` named ${select.name}` : ""
      } in deploy/, found ${found.length}`,
    );
  }
  return found[0] as T;
}

/** Whether every label of `selector` is on `labels` (matchLabels semantics). */
export function selects(selector: Labels, labels: Labels): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/**
 * The environment of pod `ordinal` of the StatefulSet: literal values, and
 * the downward API's metadata.name and metadata.namespace filled in as the
 * kubelet would (a Secret's key stands for itself in parentheses).
 */
export function podEnv(
  statefulSet: StatefulSet,
  ordinal: number,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of statefulSet.spec.template.spec.containers[0].env) {
    const field = variable.valueFrom?.fieldRef?.fieldPath;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (field === "metadata.name") {
      env[variable.name] = `${statefulSet.metadata.name}-${ordinal}`;
    } else if (field === "metadata.namespace") {
      env[variable.name] = statefulSet.metadata.namespace ?? "default";
    } else if (variable.valueFrom?.secretKeyRef !== undefined) {
      const { name, key } = variable.valueFrom.secretKeyRef;
      env[variable.name] = `(key ${key} of Secret ${name})`;
    } else {
      throw new Error(
        `Expected ${variable.name} to be a literal, metadata.name/namespace or a secretKeyRef, found ${
          JSON.stringify(variable.valueFrom)
        }`,
      );
    }
  }
  return env;
}

/** One Dockerfile instruction. */
export interface Instruction {
  /** Such as `FROM`, upper case. */
  instruction: string;
  /** The rest of the line. */
  args: string;
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
export async function loadDockerfile(): Promise<Instruction[]> {
  const text = await readFile(join(deployDir, "Dockerfile"), "utf8");
  const joined = text.split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  return joined.split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const space = line.indexOf(" ");
      return {
        instruction: line.slice(0, space).toUpperCase(),
        args: line.slice(space + 1).trim(),
      };
    });
}

/** Everything the invariants look at. */
export interface Bundle {
  manifests: Manifest[];
  secret: SecretTemplate;
  dockerfile: Instruction[];
  /**
   * A file holding a made-up peer secret, read in place of the pod's
   * RAFT_SECRET_FILE when the environment goes through `Operator.fromEnv`.
   */
  standInSecretFile: string;
}

/** Loads deploy/ as the invariants see it; {@link unloadBundle} when done. */
export async function loadBundle(): Promise<Bundle> {
  const dir = await mkdtemp(join(tmpdir(), "deploy-test-"));
  const standInSecretFile = join(dir, "secret");
  await writeFile(standInSecretFile, "0123456789abcdef0123456789abcdef\n");
  return {
    manifests: await loadManifests(),
    secret: await loadSecretTemplate(),
    dockerfile: await loadDockerfile(),
    standInSecretFile,
  };
}

/** Removes the stand-in secret of {@link loadBundle}. */
export async function unloadBundle(bundle: Bundle): Promise<void> {
  await rm(dirname(bundle.standInSecretFile), { recursive: true, force: true });
}
