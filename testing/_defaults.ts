/**
 * What a real kube-apiserver fills into built-in objects as it decodes
 * them (the `SetDefaults_*` functions of k8s.io/kubernetes), and what its
 * Go types write on the wire when a client left them out: empty maps and
 * lists dropped, value structs written as `{}`, pod template metadata with
 * `creationTimestamp: null`. Custom resources are defaulted by their
 * schema instead (`client/schema.ts`).
 *
 * @module
 */
import { isObject, type Json, type JsonObject } from "./_patch.ts";
import type { Shape } from "./_types.ts";

function obj(parent: JsonObject, key: string): JsonObject {
  if (!isObject(parent[key])) parent[key] = {};
  return parent[key] as JsonObject;
}

function setDefault(target: JsonObject, key: string, value: Json): void {
  if (target[key] === undefined || target[key] === null || target[key] === "") {
    target[key] = value;
  }
}

function list(value: Json | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function imagePullPolicy(image: string): string {
  const last = image.split("/").pop() ?? "";
  if (image.includes("@")) return "IfNotPresent";
  const colon = last.lastIndexOf(":");
  const tag = colon >= 0 ? last.slice(colon + 1) : "";
  return tag === "" || tag === "latest" ? "Always" : "IfNotPresent";
}

function defaultProbe(probe: Json | undefined): void {
  if (!isObject(probe)) return;
  setDefault(probe, "timeoutSeconds", 1);
  setDefault(probe, "periodSeconds", 10);
  setDefault(probe, "successThreshold", 1);
  setDefault(probe, "failureThreshold", 3);
  if (isObject(probe.httpGet)) setDefault(probe.httpGet, "scheme", "HTTP");
}

function defaultContainer(c: JsonObject): void {
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  if (typeof c.image === "string") {
    setDefault(c, "imagePullPolicy", imagePullPolicy(c.image));
  }
  if (!isObject(c.resources)) c.resources = {};
  for (const port of list(c.ports)) setDefault(port, "protocol", "TCP");
  for (const env of list(c.env)) {
    const ref = isObject(env.valueFrom) ? env.valueFrom.fieldRef : undefined;
    if (isObject(ref)) setDefault(ref, "apiVersion", "v1");
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

function defaultVolume(v: JsonObject): void {
  const sources = Object.keys(v).filter((k) => k !== "name");
  if (sources.length === 0) v.emptyDir = {};
  for (const key of ["secret", "configMap", "projected", "downwardAPI"]) {
    if (isObject(v[key])) setDefault(v[key] as JsonObject, "defaultMode", 420);
  }
}

/** `SetDefaults_PodSpec` and what it calls, for pods and pod templates. */
export function defaultPodSpec(spec: JsonObject): void {
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "restartPolicy", "Always");
  if (!isObject(spec.securityContext)) spec.securityContext = {};
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "schedulerName", "default-scheduler");
  for (const c of list(spec.containers)) defaultContainer(c);
  for (const c of list(spec.initContainers)) defaultContainer(c);
  for (const v of list(spec.volumes)) defaultVolume(v);
  if (spec.hostNetwork === true) {
    for (const c of list(spec.containers)) {
      for (const p of list(c.ports)) setDefault(p, "hostPort", p.containerPort);
    }
  }
}

function defaultTemplate(spec: JsonObject): void {
  const template = obj(spec, "template");
  const meta = obj(template, "metadata");
  if (meta.creationTimestamp === undefined) meta.creationTimestamp = null;
  defaultPodSpec(obj(template, "spec"));
}

const QOS_RESOURCES = ["cpu", "memory"];

/** The QoS class a pod's resources put it in. */
export function qosClass(spec: JsonObject): string {
  const containers = [...list(spec.containers), ...list(spec.initContainers)];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const r = isObject(c.resources) ? c.resources : {};
    const requests = isObject(r.requests) ? r.requests : {};
    const limits = isObject(r.limits) ? r.limits : {};
    for (const name of QOS_RESOURCES) {
      if (requests[name] !== undefined || limits[name] !== undefined) {
        any = true;
      }
      const request = requests[name] ?? limits[name];
      if (
        limits[name] === undefined || String(request) !== String(limits[name])
      ) {
        guaranteed = false;
      }
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

const DEFAULT_TOLERATIONS: JsonObject[] = [
  "node.kubernetes.io/not-ready",
  "node.kubernetes.io/unreachable",
].map((key) => ({
  key,
  operator: "Exists",
  effect: "NoExecute",
  tolerationSeconds: 300,
}));

/**
 * What a Pod gets at create from the default admission plugins that need
 * no other object: `ServiceAccount` (the `default` account's name),
 * `DefaultTolerationSeconds` and `Priority`.
 */
export function admitPod(pod: JsonObject): void {
  const spec = obj(pod, "spec");
  setDefault(spec, "serviceAccountName", "default");
  spec.serviceAccount = spec.serviceAccountName;
  const tolerations = list(spec.tolerations);
  for (const t of DEFAULT_TOLERATIONS) {
    if (!tolerations.some((x) => x.key === t.key && x.effect === t.effect)) {
      tolerations.push(structuredClone(t));
    }
  }
  spec.tolerations = tolerations;
  setDefault(spec, "priority", 0);
  setDefault(spec, "preemptionPolicy", "PreemptLowerPriority");
}

function defaultService(svc: JsonObject): void {
  const spec = obj(svc, "spec");
  setDefault(spec, "type", "ClusterIP");
  setDefault(spec, "sessionAffinity", "None");
  for (const port of list(spec.ports)) {
    setDefault(port, "protocol", "TCP");
    if (
      spec.type === "ClusterIP" || spec.type === "NodePort" ||
      spec.type === "LoadBalancer"
    ) {
      setDefault(port, "targetPort", port.port);
    }
  }
  if (
    spec.type === "ClusterIP" || spec.type === "NodePort" ||
    spec.type === "LoadBalancer"
  ) {
    setDefault(spec, "internalTrafficPolicy", "Cluster");
  }
  if (!isObject(svc.status)) svc.status = { loadBalancer: {} };
}

function defaultSecret(secret: JsonObject): void {
  setDefault(secret, "type", "Opaque");
}

function defaultDeployment(d: JsonObject): void {
  const spec = obj(d, "spec");
  setDefault(spec, "replicas", 1);
  const strategy = obj(spec, "strategy");
  setDefault(strategy, "type", "RollingUpdate");
  if (strategy.type === "RollingUpdate") {
    const rolling = obj(strategy, "rollingUpdate");
    setDefault(rolling, "maxUnavailable", "25%");
    setDefault(rolling, "maxSurge", "25%");
  }
  setDefault(spec, "revisionHistoryLimit", 10);
  setDefault(spec, "progressDeadlineSeconds", 600);
  defaultTemplate(spec);
}

function defaultStatefulSet(s: JsonObject): void {
  const spec = obj(s, "spec");
  setDefault(spec, "replicas", 1);
  setDefault(spec, "podManagementPolicy", "OrderedReady");
  const strategy = obj(spec, "updateStrategy");
  setDefault(strategy, "type", "RollingUpdate");
  if (strategy.type === "RollingUpdate") {
    setDefault(obj(strategy, "rollingUpdate"), "partition", 0);
  }
  setDefault(spec, "revisionHistoryLimit", 10);
  const retention = obj(spec, "persistentVolumeClaimRetentionPolicy");
  setDefault(retention, "whenDeleted", "Retain");
  setDefault(retention, "whenScaled", "Retain");
  for (const claim of list(spec.volumeClaimTemplates)) {
    setDefault(obj(claim, "spec"), "volumeMode", "Filesystem");
    setDefault(obj(claim, "status"), "phase", "Pending");
  }
  defaultTemplate(spec);
}

function defaultCoreEvent(e: JsonObject): void {
  if (e.eventTime === undefined) e.eventTime = null;
  setDefault(e, "reportingComponent", "");
  setDefault(e, "reportingInstance", "");
  if (!isObject(e.involvedObject)) e.involvedObject = {};
  if (!isObject(e.source)) e.source = {};
}

function defaultEventsEvent(e: JsonObject): void {
  if (e.deprecatedFirstTimestamp === undefined) {
    e.deprecatedFirstTimestamp = null;
  }
  if (e.deprecatedLastTimestamp === undefined) e.deprecatedLastTimestamp = null;
  if (!isObject(e.deprecatedSource)) e.deprecatedSource = {};
}

function defaultCrd(crd: JsonObject): void {
  const spec = obj(crd, "spec");
  const names = obj(spec, "names");
  if (typeof names.kind === "string") {
    setDefault(names, "listKind", `${names.kind}List`);
  }
  if (typeof names.plural === "string" && names.singular === undefined) {
    names.singular = names.plural === names.kind
      ? names.plural
      : String(names.kind ?? "").toLowerCase();
  }
  setDefault(obj(spec, "conversion"), "strategy", "None");
}

function defaultNamespace(ns: JsonObject): void {
  const meta = obj(ns, "metadata");
  if (typeof meta.name === "string" && meta.name !== "") {
    obj(meta, "labels")["kubernetes.io/metadata.name"] = meta.name;
  }
}

/** The `metav1.Time` fields of each kind's status conditions: Go writes a zero one as `null`. */
const CONDITION_TIMES: Record<string, string[]> = {
  "/pods": ["lastProbeTime", "lastTransitionTime"],
  "/namespaces": ["lastTransitionTime"],
  "apps/deployments": ["lastUpdateTime", "lastTransitionTime"],
  "apps/statefulsets": ["lastTransitionTime"],
  "apiextensions.k8s.io/customresourcedefinitions": ["lastTransitionTime"],
};

function conditionTimes(table: string, object: JsonObject): void {
  const times = CONDITION_TIMES[table];
  const status = object.status;
  if (!times || !isObject(status)) return;
  for (const condition of list(status.conditions)) {
    for (const field of times) {
      if (condition[field] === undefined) condition[field] = null;
    }
  }
}

const DEFAULTERS: Record<string, (o: JsonObject) => void> = {
  "/namespaces": defaultNamespace,
  "/secrets": defaultSecret,
  "/services": defaultService,
  "/pods": (p) => {
    const spec = obj(p, "spec");
    defaultPodSpec(spec);
    setDefault(spec, "enableServiceLinks", true);
  },
  "/events": defaultCoreEvent,
  "events.k8s.io/events": defaultEventsEvent,
  "apps/deployments": defaultDeployment,
  "apps/statefulsets": defaultStatefulSet,
  "apiextensions.k8s.io/customresourcedefinitions": defaultCrd,
};

/**
 * Decodes a built-in object as the real server does: Go's wire rules
 * (nulls, empty maps and lists dropped), `stringData` folded into `data` for a
 * Secret, then the kind's defaults. `table` is `group/plural`.
 */
export function decodeBuiltin(
  table: string,
  object: JsonObject,
  shape: Shape,
): void {
  dropEmpty(object, shape);
  if (table === "/secrets") foldStringData(object);
  DEFAULTERS[table]?.(object);
  conditionTimes(table, object);
}

function dropEmpty(value: JsonObject, shape: Shape): void {
  for (const [key, child] of Object.entries(value)) {
    if (child === null) {
      delete value[key];
      continue;
    }
    const at = shape.child(key).shape;
    if (Array.isArray(child)) {
      if (child.length === 0) {
        delete value[key];
        continue;
      }
      for (const item of child) {
        if (isObject(item)) dropEmpty(item, at.list.item);
      }
    } else if (isObject(child)) {
      if (at.isMap && Object.keys(child).length === 0) {
        delete value[key];
        continue;
      }
      if (!at.isMap) dropEmpty(child, at);
    }
  }
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function foldStringData(secret: JsonObject): void {
  if (!isObject(secret.stringData)) return;
  const data = obj(secret, "data");
  for (const [k, v] of Object.entries(secret.stringData)) {
    data[k] = base64(String(v));
  }
  delete secret.stringData;
}
