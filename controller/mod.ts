/**
 * The reconcile runtime: leader election guard, watcher, cache, work queue,
 * Controller, finalizers, status and events.
 *
 * @example
 * ```ts ignore
 * import * as controller from "@k8s-operator/k8s-operator/controller";
 * ```
 *
 * @module
 */
export {};
