/**
 * An in-process Kubernetes API server for tests, like envtest or
 * controller-runtime's fake client, but spoken to over real HTTPS by the real
 * `@kubernetes/client-node`.
 *
 * `TestApiServer.start()` makes a throwaway CA and server certificate,
 * listens on a free loopback port with bearer-token auth, and hands out a
 * `KubeConfig` that trusts that CA. It serves discovery, the built-in kinds
 * operators touch (Namespace, ConfigMap, Secret, Pod, Service, Event in
 * core/v1 and events.k8s.io/v1, Lease, Deployment, StatefulSet,
 * CustomResourceDefinition) and custom resources from the moment their CRD
 * is created, with the semantics controllers depend on: resourceVersion
 * conflicts, generation, status subresource, finalizers, owner-reference
 * garbage collection, list paging, watches with bookmarks and 410 Gone,
 * OpenAPI schema validation, and `Status` errors. `server.faults` injects
 * failures, latency, dropped watches, compaction and pauses.
 *
 * ## Fidelity: what differs from a real kube-apiserver
 *
 * Measured, not claimed: the differential suite
 * (`tests/testing/differential_test.ts`, `deno task differential`) runs 20
 * scenarios on this server and on a real kube-apiserver 1.32 with its
 * controller manager at once, and compares what a client sees at every
 * step — status code, reason, the causes' fields, watch event sequences,
 * and the returned objects with uids, resourceVersions, timestamps and
 * generated names normalised, `managedFields` included. The divergences it
 * finds, each with its reason (the suite fails on any other difference,
 * and on a listed one that stops happening):
 *
 * - Built-in kinds are validated for their metadata only: the real
 *   server's per-kind rules (immutable pod fields, required containers,
 *   selector matching …) are thousands of lines of Go; a test that needs
 *   them runs on envtest.
 * - core/v1 and events.k8s.io/v1 Events are separate collections here, one
 *   storage converted both ways on a real server: an event recorder reads
 *   back through the API it writes with.
 * - No ServiceAccounts are served, so the ServiceAccount admission
 *   plugin's projected token volume (and, in the reference's OpenShift
 *   build, its service CA) is not added to Pods; Pods that set
 *   automountServiceAccountToken: false compare equal.
 *
 * What the suite does not compare, because a test cannot force it on a
 * real server or it is outside what this server is for:
 *
 * - One process, one in-memory store, no etcd: nothing survives `stop()`;
 *   history is `historyLimit` changes, not etcd's 5-minute compaction.
 * - Nothing runs: Pods, Deployments and StatefulSets are stored, never
 *   scheduled; the controllers that act are garbage collection, namespace
 *   termination and CRD establishment and clean-up. The controller
 *   manager's others (ServiceAccounts, the `kube-root-ca.crt` ConfigMap in
 *   every namespace, namespace conditions) do not.
 * - No admission webhooks, quotas or RBAC (the one token is all-powerful);
 *   no CEL (`x-kubernetes-validations`: objects that break a rule are
 *   accepted); no conversion webhooks (every served version of a CRD shares
 *   one storage and only `apiVersion` changes). Unknown fields of built-in
 *   objects are kept (a real server drops them as it decodes).
 * - Server-side apply and `managedFields` follow the real field manager
 *   for one version per resource (no conversion between versions' field
 *   sets); strategic merge patch is served for built-in kinds only, as on
 *   a real server, with the merge keys and strategies of its OpenAPI.
 * - Watches never time out unless `timeoutSeconds` is given; bookmarks
 *   come every `bookmarkIntervalMs` (default 1 s) instead of about a
 *   minute.
 * - Bodies are JSON or YAML only: protobuf and CBOR get 415
 *   UnsupportedMediaType (kubectl's typed `create configmap`/`create secret`
 *   send protobuf; `kubectl apply` and `kubectl get` work). No `Table`
 *   output, no aggregated discovery, no OpenAPI documents (so `kubectl
 *   apply` needs `--validate=false`).
 *
 * ## A real control plane
 *
 * `EnvTest.start()` runs real etcd, kube-apiserver and (when its binary is
 * there) kube-controller-manager from `KUBEBUILDER_ASSETS`, like
 * controller-runtime's envtest, and hands out the same `KubeConfig`.
 * `startTestControlPlane()` starts either one, as the switch
 * `K8S_OPERATOR_TEST_CONTROL_PLANE` (`fake`, `envtest`, `auto`) says, so a
 * suite is written once. The e2e suite (`tests/testing/e2e_test.ts`) runs
 * its scenarios on either, and against a real cluster when `KUBECONFIG` is
 * set.
 *
 * `startReplicas` runs N replicas of your operator against either control
 * plane, in this process or as processes: free ports,
 * `waitForLeader`, `kill`/`stop`/`pause`, `waitForCondition`, `logs`.
 *
 * Both the server and the replicas are stopped by `await using` (Deno,
 * Node 24) or, on Node 22 where `await using` is a SyntaxError, by
 * `await server.stop()` in a `finally`.
 *
 * The module also holds a linearizability checker
 * ({@linkcode checkLinearizability}, {@linkcode HistoryRecorder},
 * {@linkcode registerModel}): record what concurrent clients of a shared
 * store saw, and decide whether some order explains it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoreV1Api } from "@kubernetes/client-node";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 *
 * await using server = await TestApiServer.start();
 * const core = server.kubeConfig().makeApiClient(CoreV1Api);
 * const cm = await core.createNamespacedConfigMap({
 *   namespace: "default",
 *   body: { metadata: { name: "settings" }, data: { mode: "fast" } },
 * });
 * assert.equal(typeof cm.metadata?.resourceVersion, "string");
 * server.faults.failNext({ verb: "update", resource: "configmaps", status: 500 });
 * const failed = await core.replaceNamespacedConfigMap({ name: "settings", namespace: "default", body: cm })
 *   .catch((e) => e);
 * assert.equal(failed.code, 500);
 * ```
 *
 * @module
 */
import "../platform/check_runtime.ts";
export {
  type KubeConfig,
  type ReceivedRequest,
  TestApiServer,
  type TestApiServerOptions,
} from "./api_server.ts";
export {
  type ControlPlaneComponent,
  ControlPlaneError,
  type ControlPlaneErrorDetails,
  type ControlPlaneFailure,
  type ControlPlanePids,
  EnvTest,
  type EnvTestOptions,
} from "./envtest.ts";
export {
  CONTROL_PLANE_ENV,
  type ControlPlaneKind,
  type ControlPlaneSelection,
  type EnvTestControlPlane,
  type FakeControlPlane,
  selectTestControlPlane,
  type SelectTestControlPlaneOptions,
  startTestControlPlane,
  type StartTestControlPlaneOptions,
  type TestControlPlane,
  type TestControlPlaneBase,
} from "./control_plane.ts";
export { Replicas, startReplicas } from "./replicas.ts";
export {
  type ControlPlane,
  type Leader,
  ReplicaHarnessError,
  type ReplicaLogLine,
  type ReplicaOptions,
  type ReplicaState,
} from "./replica_types.ts";
export { freeLoopbackPorts } from "./ports.ts";
export type {
  CloseWatchesOptions,
  DelayOptions,
  FailOptions,
  FaultHandle,
  Faults,
  RequestMatch,
  Verb,
} from "./faults.ts";
export * from "./linearizability/mod.ts";
export * from "./raft/mod.ts";
