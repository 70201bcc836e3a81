/**
 * An in-process Kubernetes API server for tests, and a KubeConfig for it.
 *
 * @example
 * ```ts ignore
 * import * as testing from "@k8s-operator/k8s-operator/testing";
 * ```
 *
 * @module
 */
export {};
