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
 * - One process, one in-memory store, no etcd: nothing survives `stop()`.
 * - Nothing runs: Pods, Deployments and StatefulSets are stored, never
 *   scheduled; no controllers besides garbage collection, namespace
 *   termination and CRD establishment (a CRD is `Established` in the
 *   response to its create).
 * - No admission (webhooks, quotas, limit ranges), no RBAC: the one token is
 *   all-powerful. No CEL (`x-kubernetes-validations`: objects that break
 *   a rule are accepted), no conversion webhooks: every served version of a
 *   CRD shares one storage and only `apiVersion` changes between them.
 *   Custom objects are otherwise admitted as a real server admits them, by
 *   the library's own `client/schema.ts` (pruning, null dropping, defaults,
 *   types, formats, enums, bounds, RE2 patterns, list types, metadata;
 *   `fieldValidation=Strict` refuses unknown fields with 400).
 * - Built-in kinds are not validated beyond metadata (names, labels,
 *   annotations): a Pod without containers is accepted.
 * - Strategic merge patch is applied as a JSON merge patch (lists are
 *   replaced, not merged by key). Server-side apply tracks ownership of
 *   leaf fields per field manager with atomic lists; `managedFields` is not
 *   returned.
 * - List continuation tokens read the current state rather than a snapshot
 *   at the first page's resourceVersion; they still expire (410) once the
 *   history they were issued at is compacted.
 * - Watches never time out unless `timeoutSeconds` is given; bookmarks come
 *   every `bookmarkIntervalMs` (default 1 s) instead of about a minute.
 * - Bodies are JSON or YAML only: protobuf and CBOR get 415
 *   UnsupportedMediaType (kubectl's typed `create configmap`/`create secret`
 *   send protobuf; `kubectl apply` and `kubectl get` work). No `Table`
 *   output (`kubectl get` prints from the JSON list), no aggregated
 *   discovery, no OpenAPI documents (so `kubectl apply` needs
 *   `--validate=false`), no `sendInitialEvents`, no `resourceVersionMatch`.
 * - Namespace deletion removes the content, then the namespace, without
 *   waiting for a namespace controller's resync; core/v1 and
 *   events.k8s.io/v1 Events are separate collections.
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
export {
  type ControlPlane,
  freeLoopbackPorts,
  type Leader,
  ReplicaHarnessError,
  type ReplicaLogLine,
  type ReplicaOptions,
  Replicas,
  type ReplicaState,
  startReplicas,
} from "./replicas.ts";
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
