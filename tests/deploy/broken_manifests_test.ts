import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Access,
  checkDataDir,
  checkDisruptionBudget,
  checkDockerfile,
  checkDownwardApi,
  checkEnvNames,
  checkNetworkPolicy,
  checkObjects,
  checkOperatorConfig,
  checkPeers,
  checkPodSecurity,
  checkPorts,
  checkProbes,
  checkRbac,
  checkSecretFile,
  checkSecretTemplate,
  checkService,
  checkStatefulSet,
} from "./_invariants.ts";
import {
  type Bundle,
  type Container,
  loadBundle,
  type NetworkPolicy,
  type PodDisruptionBudget,
  type Role,
  type Service,
  type StatefulSet,
  unloadBundle,
} from "./_manifests.ts";
import { websiteReconciler } from "../../examples/website.ts";

/** What the example needs of the kinds it owns (as in manifests_test.ts). */
const EXAMPLE_NEEDS: readonly Access[] = (websiteReconciler.owns ?? []).map((
  owned,
) => ({
  group: owned.group,
  resource: owned.plural,
  verbs: ["get", "list", "watch", "create", "patch", "delete"],
}));

let pristine: Bundle;

before(async () => {
  pristine = await loadBundle();
});

after(async () => {
  await unloadBundle(pristine);
});

/** A deep copy of the real bundle, so each case breaks one thing. */
function copy(): Bundle {
  return structuredClone(pristine);
}

function of<T>(bundle: Bundle, kind: string): T {
  return bundle.manifests.find((m) => m.kind === kind) as T;
}

function container(bundle: Bundle): Container {
  return of<StatefulSet>(bundle, "StatefulSet").spec.template.spec
    .containers[0];
}

function setEnv(bundle: Bundle, name: string, value: string): void {
  const env = container(bundle).env;
  const found = env.find((v) => v.name === name);
  if (found) found.value = value;
  else env.push({ name, value });
}

interface Case {
  name: string;
  breakIt: (bundle: Bundle) => void;
  check: (bundle: Bundle) => void;
  error: RegExp;
}

const cases: Case[] = [
  {
    name: "a namespaced object outside the operator's namespace",
    breakIt: (b) => {
      of<Service>(b, "Service").metadata.namespace = "default";
    },
    check: checkObjects,
    error: /Expected Service\/default\/.* in the right namespace/,
  },
  {
    name: "a value committed in the Secret template",
    breakIt: (b) => {
      b.secret.stringData = { secret: "hunter2" };
    },
    check: checkSecretTemplate,
    error: /Expected the template's secret to be empty/,
  },
  {
    name: "OrderedReady pod management",
    breakIt: (b) => {
      of<StatefulSet>(b, "StatefulSet").spec.podManagementPolicy =
        "OrderedReady";
    },
    check: checkStatefulSet,
    error: /Parallel/,
  },
  {
    name: "a Service without publishNotReadyAddresses",
    breakIt: (b) => {
      delete of<Service>(b, "Service").spec.publishNotReadyAddresses;
    },
    check: checkService,
    error: /publishNotReadyAddresses/,
  },
  {
    name: "a Service with a cluster IP",
    breakIt: (b) => {
      of<Service>(b, "Service").spec.clusterIP = "10.0.0.1";
    },
    check: checkService,
    error: /headless/,
  },
  {
    name: "a writable root filesystem",
    breakIt: (b) => {
      container(b).securityContext!.readOnlyRootFilesystem = false;
    },
    check: checkPodSecurity,
    error: /read-only root filesystem/,
  },
  {
    name: "readiness on /healthz",
    breakIt: (b) => {
      container(b).readinessProbe!.httpGet!.path = "/healthz";
    },
    check: checkProbes,
    error: /readyz/,
  },
  {
    name: "POD_NAME as a literal",
    breakIt: (b) => {
      const variable = container(b).env.find((v) => v.name === "POD_NAME")!;
      delete variable.valueFrom;
      variable.value = "website-operator-0";
    },
    check: checkDownwardApi,
    error: /POD_NAME from the downward API/,
  },
  {
    name: "a misspelt variable that nothing reads",
    breakIt: (b) => setEnv(b, "RAFT_REPLICA", "3"),
    check: checkEnvNames,
    error: /Expected RAFT_REPLICA to be read by Operator\.fromEnv/,
  },
  {
    name: "a watch of every namespace with a namespaced Role",
    breakIt: (b) => {
      const c = container(b);
      c.env = c.env.filter((v) => v.name !== "WATCH_NAMESPACE");
    },
    check: checkEnvNames,
    error: /Expected WATCH_NAMESPACE to be the pod's namespace/,
  },
  {
    name: "a data dir the operator does not get",
    breakIt: (b) => {
      const c = container(b);
      c.env = c.env.filter((v) => v.name !== "RAFT_DATA_DIR");
    },
    check: checkOperatorConfig,
    error: /Expected file storage/,
  },
  {
    name: "an http port the operator does not listen on",
    breakIt: (b) => setEnv(b, "OPERATOR_HTTP_PORT", "9090"),
    check: checkOperatorConfig,
    error: /the operator's http port to be the container's/,
  },
  {
    name: "a cluster id the operator refuses",
    breakIt: (b) => setEnv(b, "RAFT_CLUSTER_ID", "-bad id-"),
    check: checkOperatorConfig,
    error: /Expected RAFT_CLUSTER_ID to be letters, digits/,
  },
  {
    name: "an operator variable left out",
    breakIt: (b) => {
      const c = container(b);
      c.env = c.env.filter((v) => v.name !== "RAFT_CLUSTER_ID");
    },
    check: checkEnvNames,
    error: /Expected RAFT_CLUSTER_ID to be set/,
  },
  {
    name: "RAFT_REPLICAS that differs from replicas",
    breakIt: (b) => setEnv(b, "RAFT_REPLICAS", "5"),
    check: checkPeers,
    error: /RAFT_REPLICAS to equal the replicas/,
  },
  {
    name: "RAFT_SERVICE naming another Service",
    breakIt: (b) => setEnv(b, "RAFT_SERVICE", "website-operator"),
    check: checkPeers,
    error: /deepStrictEqual|Expected values to be strictly deep-equal/,
  },
  {
    name: "the secret in an environment variable",
    breakIt: (b) => {
      container(b).env.push({
        name: "RAFT_SECRET",
        valueFrom: {
          secretKeyRef: { name: "website-operator-raft", key: "secret" },
        },
      });
    },
    check: checkSecretFile,
    error: /no secret in the environment/,
  },
  {
    name: "the secret as a literal RAFT_SECRET",
    breakIt: (b) => setEnv(b, "RAFT_SECRET", "0123456789abcdef0123"),
    check: checkSecretFile,
    error: /no secret in the environment/,
  },
  {
    name: "RAFT_SECRET_FILE on a key the Secret lacks",
    breakIt: (b) =>
      setEnv(b, "RAFT_SECRET_FILE", "/etc/operator/raft-secret/token"),
    check: checkSecretFile,
    error: /the Secret to have the key token/,
  },
  {
    name: "RAFT_DATA_DIR outside the volume claim",
    breakIt: (b) => setEnv(b, "RAFT_DATA_DIR", "/tmp/raft"),
    check: checkDataDir,
    error: /a volume mounted at \/tmp\/raft/,
  },
  {
    name: "RAFT_PORT that differs from the container port",
    breakIt: (b) => setEnv(b, "RAFT_PORT", "7001"),
    check: checkPorts,
    error: /RAFT_PORT/,
  },
  {
    name: "a Service port that differs from the container's",
    breakIt: (b) => {
      of<Service>(b, "Service").spec.ports[0].port = 9000;
    },
    check: checkPorts,
    error: /the Service's raft/,
  },
  {
    name: "the Raft port open to every namespace",
    breakIt: (b) => {
      const policy = of<NetworkPolicy>(b, "NetworkPolicy");
      policy.spec.ingress[0].from!.push({ namespaceSelector: {} });
    },
    check: checkNetworkPolicy,
    error: /operator's namespace only/,
  },
  {
    name: "an ingress rule without ports",
    breakIt: (b) => {
      const policy = of<NetworkPolicy>(b, "NetworkPolicy");
      policy.spec.ingress.push({ from: [{ namespaceSelector: {} }] });
    },
    check: checkNetworkPolicy,
    error: /name its ports/,
  },
  {
    name: "a budget of minAvailable",
    breakIt: (b) => {
      const pdb = of<PodDisruptionBudget>(b, "PodDisruptionBudget");
      delete pdb.spec.maxUnavailable;
      pdb.spec.minAvailable = 2;
    },
    check: checkDisruptionBudget,
    error: /maxUnavailable: 1/,
  },
  {
    name: "a Role that cannot patch the custom resource's status",
    breakIt: (b) => {
      const role = of<Role>(b, "Role");
      role.rules = role.rules.filter((r) =>
        !r.resources.includes("websites/status")
      );
    },
    check: (b) => checkRbac(b, EXAMPLE_NEEDS),
    error: /allow patch on websites\/status/,
  },
  {
    name: "a Role without Events",
    breakIt: (b) => {
      const role = of<Role>(b, "Role");
      role.rules = role.rules.filter((r) => !r.resources.includes("events"));
    },
    check: (b) => checkRbac(b, EXAMPLE_NEEDS),
    error: /allow create on events/,
  },
  {
    name: "a grant the operator does not use (Leases)",
    breakIt: (b) => {
      of<Role>(b, "Role").rules.push({
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["get"],
      });
    },
    check: (b) => checkRbac(b, EXAMPLE_NEEDS),
    error: /grant only what the operator uses, found get leases/,
  },
  {
    name: "StatefulSets granted beyond the operator's own",
    breakIt: (b) => {
      const rule = of<Role>(b, "Role").rules.find((r) =>
        r.resources.includes("statefulsets")
      )!;
      delete rule.resourceNames;
    },
    check: (b) => checkRbac(b, EXAMPLE_NEEDS),
    error: /allow get on statefulsets\.apps\[website-operator\]/,
  },
  {
    name: "a Role that cannot watch its own StatefulSet",
    breakIt: (b) => {
      const role = of<Role>(b, "Role");
      role.rules = role.rules.filter((r) =>
        !r.resources.includes("statefulsets")
      );
    },
    check: (b) => checkRbac(b, EXAMPLE_NEEDS),
    error: /allow get on statefulsets\.apps\[website-operator\]/,
  },
  {
    name: "a cluster-wide role",
    breakIt: (b) => {
      b.manifests.push({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "extra" },
        file: "deploy/extra.yaml",
        rules: [],
      });
    },
    check: (b) => checkRbac(b, EXAMPLE_NEEDS),
    error: /no cluster-wide role/,
  },
  {
    name: "a wildcard verb",
    breakIt: (b) => {
      of<Role>(b, "Role").rules[0].verbs.push("*");
    },
    check: (b) => checkRbac(b, EXAMPLE_NEEDS),
    error: /no wildcard/,
  },
  {
    name: "a Role without a rule the example needs",
    breakIt: (b) => {
      const role = of<Role>(b, "Role");
      role.rules = role.rules.filter((r) =>
        !r.resources.includes("deployments")
      );
    },
    check: (b) => checkRbac(b, EXAMPLE_NEEDS),
    error: /allow get on deployments\.apps/,
  },
  {
    name: "an image running as root",
    breakIt: (b) => {
      const user = b.dockerfile.findLast((l) => l.instruction === "USER")!;
      user.args = "0:0";
    },
    check: checkDockerfile,
    error: /USER to be the pod's runAsUser/,
  },
  {
    name: "a runtime stage with a shell and a Deno installation",
    breakIt: (b) => {
      const from = b.dockerfile.findLast((l) => l.instruction === "FROM")!;
      from.args = "denoland/deno:2.9.6";
    },
    check: checkDockerfile,
    error: /distroless/,
  },
  {
    name: "an entry point that does not exist",
    breakIt: (b) => {
      const run = b.dockerfile.find((l) => /^deno compile /.test(l.args))!;
      run.args = run.args.replace("examples/main.ts", "examples/mian.ts");
    },
    check: checkDockerfile,
    error: /entry point examples\/mian\.ts in the repository/,
  },
  {
    name: "write access to the whole filesystem",
    breakIt: (b) => {
      const run = b.dockerfile.find((l) => /^deno compile /.test(l.args))!;
      run.args = run.args.replace(/--allow-write=\S*/, "--allow-write=/");
    },
    check: checkDockerfile,
    error: /--allow-write for RAFT_DATA_DIR only/,
  },
];

describe("the deploy/ invariants catch broken manifests", () => {
  it("pass on the real manifests (the baseline of every case below)", () => {
    for (const { check } of cases) check(copy());
  });

  for (const { name, breakIt, check, error } of cases) {
    it(`refuses ${name}`, () => {
      const broken = copy();
      breakIt(broken);
      assert.throws(() => check(broken), error);
    });
  }
});
