/**
 * Custom resources defined in code: one schema gives the type, validation
 * and the CustomResourceDefinition manifest.
 *
 * @example
 * ```ts ignore
 * import * as crd from "@k8s-operator/k8s-operator/crd";
 * ```
 *
 * @module
 */
export {};
