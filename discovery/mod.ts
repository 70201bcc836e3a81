/**
 * Peer discovery: headless-Service DNS and StatefulSet ordinals.
 *
 * @example
 * ```ts ignore
 * import * as discovery from "@k8s-operator/k8s-operator/discovery";
 * ```
 *
 * @module
 */
export {};
