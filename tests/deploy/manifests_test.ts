import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
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
  fromEnvReads,
} from "./_invariants.ts";
import {
  type Bundle,
  deployDir,
  loadBundle,
  podEnv,
  unloadBundle,
} from "./_manifests.ts";
import type { StatefulSet } from "./_manifests.ts";
import {
  collectDefinitions,
  diffCrdFiles,
  renderCrdFiles,
} from "../../scripts/crd.ts";
import * as registry from "../../deploy/crds/crds.ts";
import { websiteReconciler } from "../../examples/website.ts";

/**
 * What the example operator does to each kind its reconciler owns
 * (examples/website.ts): watches it, applies it server-side (patch, and
 * create for a new child) and deletes it in its cleanup.
 */
const CHILD_VERBS = ["get", "list", "watch", "create", "patch", "delete"];
const exampleChildren: Access[] = (websiteReconciler.owns ?? []).map((
  owned,
) => ({ group: owned.group, resource: owned.plural, verbs: CHILD_VERBS }));

let bundle: Bundle;

before(async () => {
  bundle = await loadBundle();
});

after(async () => {
  await unloadBundle(bundle);
});

describe("deploy/ manifests", () => {
  it("parse, and every object is defined once in the operator's namespace", () => {
    checkObjects(bundle);
  });

  it("ship no Secret, only a template with an empty secret", () => {
    checkSecretTemplate(bundle);
  });
});

describe("the StatefulSet and its headless Service", () => {
  it("runs 3 replicas in parallel so peers can meet", () => {
    checkStatefulSet(bundle);
  });

  it("the Service is headless, publishes not-ready addresses and selects the pods", () => {
    checkService(bundle);
  });

  it("runs as non-root with a read-only root filesystem and no privileges", () => {
    checkPodSecurity(bundle);
  });

  it("probes /healthz for liveness and startup and /readyz for readiness on the http port", () => {
    checkProbes(bundle);
  });
});

describe("the environment", () => {
  it("takes POD_NAME and NAMESPACE from the downward API", () => {
    checkDownwardApi(bundle);
  });

  it("is accepted by Operator.fromEnv in every pod, with the cluster id, data dir and ports of the manifests", () => {
    checkOperatorConfig(bundle);
  });

  it("names only variables that Operator.fromEnv or raftConfigFromEnv reads", () => {
    checkEnvNames(bundle);
    const statefulSet = bundle.manifests.find((m) =>
      m.kind === "StatefulSet"
    ) as StatefulSet;
    assert.deepEqual(
      [...fromEnvReads(podEnv(statefulSet, 0))].sort(),
      [
        "NAMESPACE",
        "POD_NAME",
        "RAFT_CLUSTER_DOMAIN",
        "RAFT_NODE_ID",
        "RAFT_PEERS",
        "RAFT_PORT",
        "RAFT_PORT_NAME",
        "RAFT_REPLICAS",
        "RAFT_SERVICE",
      ],
      "the recording sees every variable of discovery/README.md's table",
    );
  });

  it("gives every pod its ordinal as node id and every initial voter as a peer", () => {
    checkPeers(bundle);
  });

  it("reads the peer secret from a key of the Secret, mounted read-only", () => {
    checkSecretFile(bundle);
  });

  it("keeps RAFT_DATA_DIR on a volume claim template and sets a cluster id", () => {
    checkDataDir(bundle);
  });
});

describe("ports and the NetworkPolicy", () => {
  it("agree between the container, the environment and the Service", () => {
    checkPorts(bundle);
  });

  it("let only the operator's own pods reach the Raft port", () => {
    checkNetworkPolicy(bundle);
  });
});

describe("the PodDisruptionBudget", () => {
  it("lets one operator pod go at a time", () => {
    checkDisruptionBudget(bundle);
  });
});

describe("RBAC", () => {
  it("covers the custom resources, the example's children and Events, with no wildcard", () => {
    checkRbac(bundle, exampleChildren);
  });
});

describe("the CRDs", () => {
  it("deploy/crds holds a current manifest for every resource of the registry", async () => {
    const files = renderCrdFiles(collectDefinitions(registry));
    assert.ok(files.size > 0);
    assert.deepEqual(
      await diffCrdFiles(join(deployDir, "crds"), files),
      [],
      "run `deno task crd`",
    );
  });
});

describe("the Dockerfile", () => {
  it("runs Deno's distroless image as the pod's user with the narrowest permissions", () => {
    checkDockerfile(bundle);
  });
});
