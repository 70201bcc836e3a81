/**
 * deploy/'s RBAC under real RBAC evaluation (envtest): deploy/'s namespace,
 * CRD, ServiceAccount, Role and RoleBinding and StatefulSet are applied as
 * admin; the example operator then runs as three replicas (pods of that
 * StatefulSet, in this process) with a token of the ServiceAccount. The
 * Websites reconcile fully, the leader follows its StatefulSet, and the
 * API server's audit log shows every request of the ServiceAccount: none
 * of the operator's was refused, while requests the Role does not grant
 * are (403), and appear refused in the same log. Runs on the envtest
 * plane (`deno task test:envtest`).
 *
 * @module
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import {
  type ControlPlane,
  EnvTest,
  type Replicas,
  startReplicas,
} from "../../testing/mod.ts";
import { kubeConfigText } from "../../testing/_kubeconfig.ts";
import {
  isApiError,
  KubeClient,
  type KubeObject,
  Operator,
  type ResourceType,
} from "../../mod.ts";
import { Website } from "../../examples/resources.ts";
import {
  configMaps,
  deployments,
  FINALIZER,
  websiteReconciler,
  websites,
} from "../../examples/website.ts";
import { waitUntilServed } from "../../crd/_established.ts";
import { skipUnlessEnvTest } from "../_control_plane.ts";
import { loadManifests, type Manifest } from "./_manifests.ts";

const NAMESPACE = "website-operator";
const ACCOUNT = "website-operator";
const USER = `system:serviceaccount:${NAMESPACE}:${ACCOUNT}`;
/** The user agent of the test's own requests with the operator's token. */
const PROBE_AGENT = "rbac-test-probe";

/** The files of deploy/ applied as admin, in order. */
const FILES = [
  "deploy/namespace.yaml",
  "deploy/crds/websites.example.k8s-operator.dev.yaml",
  "deploy/service_account.yaml",
  "deploy/rbac.yaml",
  "deploy/statefulset.yaml",
];

/** How each kind in {@linkcode FILES} is addressed. */
const RESOURCES: Record<string, ResourceType> = {
  Namespace: {
    group: "",
    version: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
  },
  CustomResourceDefinition: {
    group: "apiextensions.k8s.io",
    version: "v1",
    plural: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
  },
  ServiceAccount: {
    group: "",
    version: "v1",
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
  },
  Role: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "roles",
    kind: "Role",
    namespaced: true,
  },
  RoleBinding: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "rolebindings",
    kind: "RoleBinding",
    namespaced: true,
  },
  StatefulSet: {
    group: "apps",
    version: "v1",
    plural: "statefulsets",
    kind: "StatefulSet",
    namespaced: true,
  },
};

const core = (plural: string, kind: string): ResourceType => ({
  group: "",
  version: "v1",
  plural,
  kind,
  namespaced: true,
});
const secrets = core("secrets", "Secret");
const events = core("events", "Event");
const leases: ResourceType = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  kind: "Lease",
  namespaced: true,
};

/** One entry of the API server's audit log (the fields read here). */
interface AuditEvent {
  stage: string;
  verb: string;
  requestURI: string;
  userAgent?: string;
  user: { username: string };
  objectRef?: {
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
  responseStatus?: { code?: number };
  annotations?: Record<string, string>;
}

function refused(event: AuditEvent): boolean {
  return event.annotations?.["authorization.k8s.io/decision"] === "forbid" ||
    event.responseStatus?.code === 403;
}

/** `verb resource[/subresource]` of an audit event. */
function action(event: AuditEvent): string {
  const ref = event.objectRef;
  return `${event.verb} ${ref?.resource ?? event.requestURI}${
    ref?.subresource ? `/${ref.subresource}` : ""
  }`;
}

/** A control plane seen with another bearer token. */
function withToken(plane: EnvTest, token: string): ControlPlane {
  const text = kubeConfigText({ url: plane.url, caPem: plane.caPem, token });
  return {
    kubeConfig: () => {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromString(text);
      return kubeConfig;
    },
    kubeConfigYaml: () => text,
  };
}

describe("deploy/'s Role on a real API server, with real RBAC evaluation", {
  skip: skipUnlessEnvTest("the RBAC test of deploy/"),
}, () => {
  let dir: string;
  let plane: EnvTest;
  let admin: KubeClient;
  /** The operator's token, for the test's own probes. */
  let probe: KubeClient;
  let replicas: Replicas;
  const auditLog = () => join(dir, "audit.log");

  async function audit(): Promise<AuditEvent[]> {
    const text = await readFile(auditLog(), "utf8").catch(() => "");
    return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rbac-test-"));
    // Every request of the ServiceAccount, and nothing else, is audited.
    const policy = join(dir, "audit-policy.json");
    await writeFile(
      policy,
      JSON.stringify({
        apiVersion: "audit.k8s.io/v1",
        kind: "Policy",
        omitStages: ["RequestReceived"],
        rules: [{ level: "Metadata", users: [USER] }, { level: "None" }],
      }),
    );
    plane = await EnvTest.start({
      kubeControllerManager: false,
      apiServerFlags: [
        `--audit-policy-file=${policy}`,
        `--audit-log-path=${auditLog()}`,
        // As on clusters that enable it (OpenShift): an ownerReference with
        // blockOwnerDeletion needs `update` on the owner's finalizers.
        "--enable-admission-plugins=OwnerReferencesPermissionEnforcement",
      ],
    });
    admin = KubeClient.fromKubeConfig(plane.kubeConfig());
    const manifests = await loadManifests();
    for (const file of FILES) {
      const objects = manifests.filter((m) => m.file === file);
      assert.ok(objects.length > 0, `Expected objects in ${file}`);
      for (const { file: _file, ...object } of objects as Manifest[]) {
        const resource = RESOURCES[object.kind];
        assert.ok(resource, `Expected a resource for kind ${object.kind}`);
        await admin.patch(resource, object.metadata.name, object as never, {
          namespace: object.metadata.namespace,
          type: "apply",
          fieldManager: "rbac-test",
          force: true,
        });
      }
    }
    await waitUntilServed(admin, {
      resource: {
        name: Website.name,
        group: Website.group,
        version: Website.version,
        plural: Website.plural,
      },
      timeoutMs: 60_000,
    });
    const request = await admin.request<{ status: { token: string } }>(
      "POST",
      `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${ACCOUNT}/token`,
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 3600 },
        },
      },
    );
    const operatorPlane = withToken(plane, request.status.token);
    probe = KubeClient.fromKubeConfig(operatorPlane.kubeConfig(), {
      userAgent: PROBE_AGENT,
    });
    // Three pods of deploy/'s StatefulSet (replicas: 3), a fourth to scale
    // to; the environment deploy/statefulset.yaml gives them.
    replicas = await startReplicas({
      controlPlane: operatorPlane,
      replicas: 4,
      initial: 3,
      statefulSet: { name: ACCOUNT, namespace: NAMESPACE },
      env: { WATCH_NAMESPACE: NAMESPACE, RAFT_CLUSTER_ID: ACCOUNT },
      operator: (options) =>
        Operator.fromEnv(options).controller(Website, websiteReconciler),
      // Only bounds waiting, on a shared 2-core machine.
      timeoutMs: 60_000,
    });
  });

  after(async () => {
    await replicas?.stop();
    await plane?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("runs the operator as the ServiceAccount, not as an admin", async () => {
    const review = await probe.request<
      { status: { userInfo: { username: string; groups: string[] } } }
    >("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "SelfSubjectReview",
      },
    });
    assert.equal(review.status.userInfo.username, USER);
    assert.ok(!review.status.userInfo.groups.includes("system:masters"));
  });

  it("reconciles a Website fully: children, status, events, finalizer, cleanup", async () => {
    await replicas.waitForLeader();
    const created = await admin.create(
      websites,
      Website.build({
        metadata: { name: "blog", namespace: NAMESPACE },
        spec: { domain: "blog.example.com", image: "nginx:1.27", replicas: 2 },
      }),
    );
    const target = { resource: websites, name: "blog", namespace: NAMESPACE };
    const site = await replicas.waitForCondition<Website>(target, {
      type: "Reconciled",
      where: (s) => s.status?.observedGeneration === 1,
    });
    assert.deepEqual(site.metadata.finalizers, [FINALIZER]);
    assert.equal(site.status?.url, "http://blog.example.com/");
    assert.match(
      site.status?.conditions?.find((c) => c.type === "Reconciled")?.message ??
        "",
      /applied by replica \d in term \d+/,
    );
    for (
      const [resource, name] of [[configMaps, "blog-settings"], [
        deployments,
        "blog-web",
      ]] as const
    ) {
      const child = await admin.get(resource, name, { namespace: NAMESPACE });
      const [owner] = child.metadata.ownerReferences ?? [];
      assert.equal(owner?.uid, created.metadata.uid);
      assert.equal(owner?.blockOwnerDeletion, true);
    }
    const eventsOf = async (reason: string) =>
      (await admin.list<KubeObject & { reason: string }>(events, {
        namespace: NAMESPACE,
      })).items.filter((e) => e.reason === reason);
    await replicas.waitFor(
      "an Applied event",
      async () => (await eventsOf("Applied")).length > 0,
    );
    // The Deployment's pods, as a kubelet would report them: the status
    // reaches the Website through the operator's watch of Deployments.
    await admin.patch(deployments, "blog-web", {
      status: { replicas: 2, readyReplicas: 2 },
    }, { namespace: NAMESPACE, subresource: "status" });
    const available = await replicas.waitForCondition<Website>(target, {
      type: "Available",
    });
    assert.equal(available.status?.readyReplicas, 2);

    await admin.delete(websites, "blog", { namespace: NAMESPACE });
    await replicas.waitFor("the Website gone", async () => {
      try {
        await admin.get(websites, "blog", { namespace: NAMESPACE });
        return false;
      } catch (error) {
        return isApiError(error, 404);
      }
    });
    for (
      const [resource, name] of [[configMaps, "blog-settings"], [
        deployments,
        "blog-web",
      ]] as const
    ) {
      await assert.rejects(
        admin.get(resource, name, { namespace: NAMESPACE }),
        (e) => isApiError(e, 404),
      );
    }
    assert.equal((await eventsOf("CleanedUp")).length, 1);
  });

  it("follows its StatefulSet's replicas, read through the Role's resourceName", async () => {
    await replicas.start(3);
    await admin.patch(RESOURCES.StatefulSet, ACCOUNT, {
      spec: { replicas: 4 },
    }, { namespace: NAMESPACE });
    await replicas.waitFor("voters 0..3 on the leader and on replica 3", () => {
      const voters = (id: number) =>
        JSON.stringify(replicas.running(id)?.status().conf.voters.toSorted());
      const leader = [0, 1, 2, 3].find((id) =>
        replicas.running(id)?.status().role === "leader"
      );
      return leader !== undefined && voters(leader) === "[0,1,2,3]" &&
        voters(3) === "[0,1,2,3]";
    });
  });

  it("sent every request of the operator with the ServiceAccount, and none was refused", async () => {
    const operator = (await audit()).filter((e) =>
      e.user.username === USER && e.userAgent !== PROBE_AGENT
    );
    const actions = new Set(operator.map(action));
    // What the Website operator does, each seen allowed in the log.
    for (
      const expected of [
        "list websites",
        "watch websites",
        "patch websites",
        "patch websites/status",
        "list configmaps",
        "watch configmaps",
        "patch configmaps",
        "delete configmaps",
        "list deployments",
        "watch deployments",
        "patch deployments",
        "delete deployments",
        "list statefulsets",
        "watch statefulsets",
        "create events",
      ]
    ) {
      assert.ok(
        actions.has(expected),
        `Expected "${expected}" in the audit log, found ${[...actions]}`,
      );
    }
    const denied = operator.filter(refused);
    assert.deepEqual(
      denied.map((e) => `${action(e)} ${e.requestURI}`),
      [],
      "Expected no request of the operator refused",
    );
  });

  it("refuses what the Role does not grant (403), and the audit log shows each refusal", async () => {
    await admin.create(
      RESOURCES.StatefulSet,
      {
        metadata: { name: "other", namespace: NAMESPACE },
        spec: {
          replicas: 1,
          serviceName: "other",
          selector: { matchLabels: { app: "other" } },
          template: {
            metadata: { labels: { app: "other" } },
            spec: { containers: [{ name: "c", image: "busybox" }] },
          },
        },
      } as never,
    );
    const attempts: [string, () => Promise<unknown>][] = [
      ["list secrets cluster-wide", () => probe.list(secrets)],
      [
        "list secrets in its namespace",
        () => probe.list(secrets, { namespace: NAMESPACE }),
      ],
      [
        "create a ConfigMap in another namespace",
        () =>
          probe.create(configMaps, {
            metadata: { name: "x", namespace: "default" },
          }),
      ],
      [
        "list Websites in another namespace",
        () => probe.list(websites, { namespace: "default" }),
      ],
      [
        "get another StatefulSet",
        () =>
          probe.get(RESOURCES.StatefulSet, "other", { namespace: NAMESPACE }),
      ],
      [
        "scale its own StatefulSet",
        () =>
          probe.patch(RESOURCES.StatefulSet, ACCOUNT, {
            spec: { replicas: 5 },
          }, { namespace: NAMESPACE }),
      ],
      [
        "list Leases",
        () => probe.list(leases, { namespace: NAMESPACE }),
      ],
      [
        "list CustomResourceDefinitions",
        () => probe.list(RESOURCES.CustomResourceDefinition),
      ],
    ];
    for (const [what, attempt] of attempts) {
      await assert.rejects(
        attempt(),
        (e) => isApiError(e, 403),
        `Expected 403 for: ${what}`,
      );
    }
    // The refusals reach the same log the operator's requests were read
    // from: a refusal of the operator's would have shown there.
    const logged = await replicas.waitFor(
      "the refusals in the audit log",
      async () => {
        const found = (await audit()).filter((e) =>
          e.userAgent === PROBE_AGENT && refused(e)
        );
        return found.length >= attempts.length && found;
      },
    );
    assert.equal(logged.length, attempts.length);
  });
});
