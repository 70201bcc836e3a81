/**
 * The built-in kinds' types as server-side apply and strategic merge
 * patch see them, read from a real kube-apiserver's OpenAPI v3 documents
 * (Kubernetes 1.32) by `scripts/builtin_types.ts`: do not edit by hand.
 * Only fields that differ from a struct of scalars and atomic lists are
 * listed: lists merged by keys (`list`, `keys`, `keyDefaults`), maps
 * (`map`), atomic maps and structs (`atomic`), free-form values
 * (`deduced`), strategic merge patch strategies (`patch`, `mergeKey`), and
 * the named type of a field's value or list items (`t`).
 *
 * @module
 */

import type { TypeTable } from "./_types.ts";

/** The types, by short name. */
export const BUILTIN_TYPES: TypeTable = {
  "apiextensions.v1.CustomResourceDefinition": {
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "spec": { "t": "apiextensions.v1.CustomResourceDefinitionSpec" },
    "status": { "t": "apiextensions.v1.CustomResourceDefinitionStatus" },
  },
  "apiextensions.v1.CustomResourceDefinitionSpec": {
    "versions": { "t": "apiextensions.v1.CustomResourceDefinitionVersion" },
  },
  "apiextensions.v1.CustomResourceDefinitionStatus": {
    "conditions": {
      "list": "map",
      "keys": ["type"],
      "keyDefaults": { "type": "" },
    },
  },
  "apiextensions.v1.CustomResourceDefinitionVersion": {
    "schema": { "t": "apiextensions.v1.CustomResourceValidation" },
  },
  "apiextensions.v1.CustomResourceValidation": {
    "openAPIV3Schema": { "t": "apiextensions.v1.JSONSchemaProps" },
  },
  "apiextensions.v1.JSONSchemaProps": {
    "allOf": { "t": "apiextensions.v1.JSONSchemaProps" },
    "anyOf": { "t": "apiextensions.v1.JSONSchemaProps" },
    "definitions": { "map": true, "t": "apiextensions.v1.JSONSchemaProps" },
    "dependencies": { "map": true },
    "not": { "t": "apiextensions.v1.JSONSchemaProps" },
    "oneOf": { "t": "apiextensions.v1.JSONSchemaProps" },
    "patternProperties": {
      "map": true,
      "t": "apiextensions.v1.JSONSchemaProps",
    },
    "properties": { "map": true, "t": "apiextensions.v1.JSONSchemaProps" },
    "x-kubernetes-validations": {
      "list": "map",
      "keys": ["rule"],
      "patch": "merge",
      "mergeKey": "rule",
      "keyDefaults": { "rule": "" },
    },
  },
  "apps.v1.Deployment": {
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "spec": { "t": "apps.v1.DeploymentSpec" },
    "status": { "t": "apps.v1.DeploymentStatus" },
  },
  "apps.v1.DeploymentSpec": {
    "selector": { "atomic": true },
    "strategy": { "patch": "retainKeys" },
    "template": { "t": "core.v1.PodTemplateSpec" },
  },
  "apps.v1.DeploymentStatus": {
    "conditions": {
      "list": "map",
      "keys": ["type"],
      "patch": "merge",
      "mergeKey": "type",
      "keyDefaults": { "type": "" },
    },
  },
  "apps.v1.StatefulSet": {
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "spec": { "t": "apps.v1.StatefulSetSpec" },
    "status": { "t": "apps.v1.StatefulSetStatus" },
  },
  "apps.v1.StatefulSetSpec": {
    "selector": { "atomic": true },
    "template": { "t": "core.v1.PodTemplateSpec" },
    "volumeClaimTemplates": { "t": "core.v1.PersistentVolumeClaim" },
  },
  "apps.v1.StatefulSetStatus": {
    "conditions": {
      "list": "map",
      "keys": ["type"],
      "patch": "merge",
      "mergeKey": "type",
      "keyDefaults": { "type": "" },
    },
  },
  "autoscaling.v1.Scale": { "metadata": { "t": "meta.v1.ObjectMeta" } },
  "coordination.v1.Lease": { "metadata": { "t": "meta.v1.ObjectMeta" } },
  "core.v1.Affinity": {
    "nodeAffinity": { "t": "core.v1.NodeAffinity" },
    "podAffinity": { "t": "core.v1.PodAffinity" },
    "podAntiAffinity": { "t": "core.v1.PodAntiAffinity" },
  },
  "core.v1.CSIVolumeSource": {
    "nodePublishSecretRef": { "atomic": true },
    "volumeAttributes": { "map": true },
  },
  "core.v1.CephFSVolumeSource": { "secretRef": { "atomic": true } },
  "core.v1.CinderVolumeSource": { "secretRef": { "atomic": true } },
  "core.v1.ClusterTrustBundleProjection": {
    "labelSelector": { "atomic": true },
  },
  "core.v1.ConfigMap": {
    "binaryData": { "map": true },
    "data": { "map": true },
    "metadata": { "t": "meta.v1.ObjectMeta" },
  },
  "core.v1.Container": {
    "env": {
      "list": "map",
      "keys": ["name"],
      "patch": "merge",
      "mergeKey": "name",
      "t": "core.v1.EnvVar",
      "keyDefaults": { "name": "" },
    },
    "ports": {
      "list": "map",
      "keys": ["containerPort", "protocol"],
      "patch": "merge",
      "mergeKey": "containerPort",
      "keyDefaults": { "containerPort": 0, "protocol": "TCP" },
    },
    "resources": { "t": "core.v1.ResourceRequirements" },
    "volumeDevices": {
      "list": "map",
      "keys": ["devicePath"],
      "patch": "merge",
      "mergeKey": "devicePath",
      "keyDefaults": { "devicePath": "" },
    },
    "volumeMounts": {
      "list": "map",
      "keys": ["mountPath"],
      "patch": "merge",
      "mergeKey": "mountPath",
      "keyDefaults": { "mountPath": "" },
    },
  },
  "core.v1.ContainerStatus": {
    "allocatedResources": { "map": true },
    "allocatedResourcesStatus": {
      "list": "map",
      "keys": ["name"],
      "patch": "merge",
      "mergeKey": "name",
      "t": "core.v1.ResourceStatus",
      "keyDefaults": { "name": "" },
    },
    "resources": { "t": "core.v1.ResourceRequirements" },
    "volumeMounts": {
      "list": "map",
      "keys": ["mountPath"],
      "patch": "merge",
      "mergeKey": "mountPath",
      "keyDefaults": { "mountPath": "" },
    },
  },
  "core.v1.DownwardAPIProjection": {
    "items": { "t": "core.v1.DownwardAPIVolumeFile" },
  },
  "core.v1.DownwardAPIVolumeFile": {
    "fieldRef": { "atomic": true },
    "resourceFieldRef": { "atomic": true },
  },
  "core.v1.DownwardAPIVolumeSource": {
    "items": { "t": "core.v1.DownwardAPIVolumeFile" },
  },
  "core.v1.EnvVar": { "valueFrom": { "t": "core.v1.EnvVarSource" } },
  "core.v1.EnvVarSource": {
    "configMapKeyRef": { "atomic": true },
    "fieldRef": { "atomic": true },
    "resourceFieldRef": { "atomic": true },
    "secretKeyRef": { "atomic": true },
  },
  "core.v1.EphemeralContainer": {
    "env": {
      "list": "map",
      "keys": ["name"],
      "patch": "merge",
      "mergeKey": "name",
      "t": "core.v1.EnvVar",
      "keyDefaults": { "name": "" },
    },
    "ports": {
      "list": "map",
      "keys": ["containerPort", "protocol"],
      "patch": "merge",
      "mergeKey": "containerPort",
      "keyDefaults": { "containerPort": 0, "protocol": "TCP" },
    },
    "resources": { "t": "core.v1.ResourceRequirements" },
    "volumeDevices": {
      "list": "map",
      "keys": ["devicePath"],
      "patch": "merge",
      "mergeKey": "devicePath",
      "keyDefaults": { "devicePath": "" },
    },
    "volumeMounts": {
      "list": "map",
      "keys": ["mountPath"],
      "patch": "merge",
      "mergeKey": "mountPath",
      "keyDefaults": { "mountPath": "" },
    },
  },
  "core.v1.EphemeralVolumeSource": {
    "volumeClaimTemplate": { "t": "core.v1.PersistentVolumeClaimTemplate" },
  },
  "core.v1.Event": {
    "involvedObject": { "atomic": true },
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "related": { "atomic": true },
  },
  "core.v1.FlexVolumeSource": {
    "options": { "map": true },
    "secretRef": { "atomic": true },
  },
  "core.v1.ISCSIVolumeSource": { "secretRef": { "atomic": true } },
  "core.v1.Namespace": {
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "status": { "t": "core.v1.NamespaceStatus" },
  },
  "core.v1.NamespaceStatus": {
    "conditions": {
      "list": "map",
      "keys": ["type"],
      "patch": "merge",
      "mergeKey": "type",
      "keyDefaults": { "type": "" },
    },
  },
  "core.v1.NodeAffinity": {
    "preferredDuringSchedulingIgnoredDuringExecution": {
      "t": "core.v1.PreferredSchedulingTerm",
    },
    "requiredDuringSchedulingIgnoredDuringExecution": { "atomic": true },
  },
  "core.v1.PersistentVolumeClaim": {
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "spec": { "t": "core.v1.PersistentVolumeClaimSpec" },
    "status": { "t": "core.v1.PersistentVolumeClaimStatus" },
  },
  "core.v1.PersistentVolumeClaimSpec": {
    "dataSource": { "atomic": true },
    "resources": { "t": "core.v1.VolumeResourceRequirements" },
    "selector": { "atomic": true },
  },
  "core.v1.PersistentVolumeClaimStatus": {
    "allocatedResourceStatuses": { "map": true },
    "allocatedResources": { "map": true },
    "capacity": { "map": true },
    "conditions": {
      "list": "map",
      "keys": ["type"],
      "patch": "merge",
      "mergeKey": "type",
      "keyDefaults": { "type": "" },
    },
  },
  "core.v1.PersistentVolumeClaimTemplate": {
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "spec": { "t": "core.v1.PersistentVolumeClaimSpec" },
  },
  "core.v1.Pod": {
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "spec": { "t": "core.v1.PodSpec" },
    "status": { "t": "core.v1.PodStatus" },
  },
  "core.v1.PodAffinity": {
    "preferredDuringSchedulingIgnoredDuringExecution": {
      "t": "core.v1.WeightedPodAffinityTerm",
    },
    "requiredDuringSchedulingIgnoredDuringExecution": {
      "t": "core.v1.PodAffinityTerm",
    },
  },
  "core.v1.PodAffinityTerm": {
    "labelSelector": { "atomic": true },
    "namespaceSelector": { "atomic": true },
  },
  "core.v1.PodAntiAffinity": {
    "preferredDuringSchedulingIgnoredDuringExecution": {
      "t": "core.v1.WeightedPodAffinityTerm",
    },
    "requiredDuringSchedulingIgnoredDuringExecution": {
      "t": "core.v1.PodAffinityTerm",
    },
  },
  "core.v1.PodSpec": {
    "affinity": { "t": "core.v1.Affinity" },
    "containers": {
      "list": "map",
      "keys": ["name"],
      "patch": "merge",
      "mergeKey": "name",
      "t": "core.v1.Container",
      "keyDefaults": { "name": "" },
    },
    "ephemeralContainers": {
      "list": "map",
      "keys": ["name"],
      "patch": "merge",
      "mergeKey": "name",
      "t": "core.v1.EphemeralContainer",
      "keyDefaults": { "name": "" },
    },
    "hostAliases": {
      "list": "map",
      "keys": ["ip"],
      "patch": "merge",
      "mergeKey": "ip",
      "keyDefaults": { "ip": "" },
    },
    "imagePullSecrets": {
      "list": "map",
      "keys": ["name"],
      "patch": "merge",
      "mergeKey": "name",
      "atomic": true,
      "keyDefaults": { "name": "" },
    },
    "initContainers": {
      "list": "map",
      "keys": ["name"],
      "patch": "merge",
      "mergeKey": "name",
      "t": "core.v1.Container",
      "keyDefaults": { "name": "" },
    },
    "nodeSelector": { "map": true, "atomic": true },
    "overhead": { "map": true },
    "resourceClaims": {
      "list": "map",
      "keys": ["name"],
      "patch": "merge,retainKeys",
      "mergeKey": "name",
      "keyDefaults": { "name": "" },
    },
    "resources": { "t": "core.v1.ResourceRequirements" },
    "schedulingGates": {
      "list": "map",
      "keys": ["name"],
      "patch": "merge",
      "mergeKey": "name",
      "keyDefaults": { "name": "" },
    },
    "topologySpreadConstraints": {
      "list": "map",
      "keys": ["topologyKey", "whenUnsatisfiable"],
      "patch": "merge",
      "mergeKey": "topologyKey",
      "t": "core.v1.TopologySpreadConstraint",
      "keyDefaults": { "topologyKey": "", "whenUnsatisfiable": "" },
    },
    "volumes": {
      "list": "map",
      "keys": ["name"],
      "patch": "merge,retainKeys",
      "mergeKey": "name",
      "t": "core.v1.Volume",
      "keyDefaults": { "name": "" },
    },
  },
  "core.v1.PodStatus": {
    "conditions": {
      "list": "map",
      "keys": ["type"],
      "patch": "merge",
      "mergeKey": "type",
      "keyDefaults": { "type": "" },
    },
    "containerStatuses": { "t": "core.v1.ContainerStatus" },
    "ephemeralContainerStatuses": { "t": "core.v1.ContainerStatus" },
    "hostIPs": { "patch": "merge", "mergeKey": "ip" },
    "initContainerStatuses": { "t": "core.v1.ContainerStatus" },
    "podIPs": {
      "list": "map",
      "keys": ["ip"],
      "patch": "merge",
      "mergeKey": "ip",
      "keyDefaults": { "ip": "" },
    },
    "resourceClaimStatuses": {
      "list": "map",
      "keys": ["name"],
      "patch": "merge,retainKeys",
      "mergeKey": "name",
      "keyDefaults": { "name": "" },
    },
  },
  "core.v1.PodTemplateSpec": {
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "spec": { "t": "core.v1.PodSpec" },
  },
  "core.v1.PreferredSchedulingTerm": { "preference": { "atomic": true } },
  "core.v1.ProjectedVolumeSource": {
    "sources": { "t": "core.v1.VolumeProjection" },
  },
  "core.v1.RBDVolumeSource": { "secretRef": { "atomic": true } },
  "core.v1.ResourceRequirements": {
    "claims": {
      "list": "map",
      "keys": ["name"],
      "keyDefaults": { "name": "" },
    },
    "limits": { "map": true },
    "requests": { "map": true },
  },
  "core.v1.ResourceStatus": {
    "resources": {
      "list": "map",
      "keys": ["resourceID"],
      "keyDefaults": { "resourceID": "" },
    },
  },
  "core.v1.ScaleIOVolumeSource": { "secretRef": { "atomic": true } },
  "core.v1.Secret": {
    "data": { "map": true },
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "stringData": { "map": true },
  },
  "core.v1.Service": {
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "spec": { "t": "core.v1.ServiceSpec" },
    "status": { "t": "core.v1.ServiceStatus" },
  },
  "core.v1.ServiceSpec": {
    "ports": {
      "list": "map",
      "keys": ["port", "protocol"],
      "patch": "merge",
      "mergeKey": "port",
      "keyDefaults": { "port": 0, "protocol": "TCP" },
    },
    "selector": { "map": true, "atomic": true },
  },
  "core.v1.ServiceStatus": {
    "conditions": {
      "list": "map",
      "keys": ["type"],
      "patch": "merge",
      "mergeKey": "type",
      "keyDefaults": { "type": "" },
    },
  },
  "core.v1.StorageOSVolumeSource": { "secretRef": { "atomic": true } },
  "core.v1.TopologySpreadConstraint": { "labelSelector": { "atomic": true } },
  "core.v1.Volume": {
    "cephfs": { "t": "core.v1.CephFSVolumeSource" },
    "cinder": { "t": "core.v1.CinderVolumeSource" },
    "csi": { "t": "core.v1.CSIVolumeSource" },
    "downwardAPI": { "t": "core.v1.DownwardAPIVolumeSource" },
    "ephemeral": { "t": "core.v1.EphemeralVolumeSource" },
    "flexVolume": { "t": "core.v1.FlexVolumeSource" },
    "iscsi": { "t": "core.v1.ISCSIVolumeSource" },
    "projected": { "t": "core.v1.ProjectedVolumeSource" },
    "rbd": { "t": "core.v1.RBDVolumeSource" },
    "scaleIO": { "t": "core.v1.ScaleIOVolumeSource" },
    "storageos": { "t": "core.v1.StorageOSVolumeSource" },
  },
  "core.v1.VolumeProjection": {
    "clusterTrustBundle": { "t": "core.v1.ClusterTrustBundleProjection" },
    "downwardAPI": { "t": "core.v1.DownwardAPIProjection" },
  },
  "core.v1.VolumeResourceRequirements": {
    "limits": { "map": true },
    "requests": { "map": true },
  },
  "core.v1.WeightedPodAffinityTerm": {
    "podAffinityTerm": { "t": "core.v1.PodAffinityTerm" },
  },
  "events.v1.Event": {
    "metadata": { "t": "meta.v1.ObjectMeta" },
    "regarding": { "atomic": true },
    "related": { "atomic": true },
  },
  "meta.v1.ObjectMeta": {
    "annotations": { "map": true },
    "finalizers": { "list": "set", "patch": "merge" },
    "labels": { "map": true },
    "ownerReferences": {
      "list": "map",
      "keys": ["uid"],
      "patch": "merge",
      "mergeKey": "uid",
      "atomic": true,
      "keyDefaults": { "uid": "" },
    },
  },
};

/** The root type of each kind, by `apiVersion kind`. */
export const BUILTIN_KINDS: Record<string, string> = {
  "apiextensions.k8s.io/v1 CustomResourceDefinition":
    "apiextensions.v1.CustomResourceDefinition",
  "apps/v1 Deployment": "apps.v1.Deployment",
  "apps/v1 StatefulSet": "apps.v1.StatefulSet",
  "autoscaling/v1 Scale": "autoscaling.v1.Scale",
  "coordination.k8s.io/v1 Lease": "coordination.v1.Lease",
  "events.k8s.io/v1 Event": "events.v1.Event",
  "v1 ConfigMap": "core.v1.ConfigMap",
  "v1 Event": "core.v1.Event",
  "v1 Namespace": "core.v1.Namespace",
  "v1 Pod": "core.v1.Pod",
  "v1 Secret": "core.v1.Secret",
  "v1 Service": "core.v1.Service",
};
