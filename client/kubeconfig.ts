/**
 * Where the cluster, credentials and TLS material come from: a
 * `@kubernetes/client-node` `KubeConfig`, loaded as kubectl loads one.
 *
 * @module
 */
import process from "node:process";
import { existsSync } from "node:fs";
import { delimiter } from "node:path";
import { KubeConfig as ClientKubeConfig } from "@kubernetes/client-node";

/**
 * `@kubernetes/client-node`'s `KubeConfig`: where {@linkcode KubeClient.fromKubeConfig}
 * takes the server, credentials and TLS material from, and what
 * {@linkcode loadKubeConfig} returns.
 *
 * @example
 * ```ts
 * import { type KubeConfig, loadKubeConfig } from "@k8s-operator/k8s-operator/controller";
 * // In a pod: the service account; elsewhere KUBECONFIG or ~/.kube/config.
 * const server = () => {
 *   const kubeConfig: KubeConfig = loadKubeConfig();
 *   return kubeConfig.getCurrentCluster()?.server;
 * };
 * ```
 */
export type KubeConfig = ClientKubeConfig;

/**
 * A `KubeConfig` loaded as kubectl loads one: from the files `KUBECONFIG`
 * lists (separated by `:`, or `;` on Windows), merged with the first file
 * to set a value winning (the current context, and each cluster, user and
 * context by name); missing files are skipped. Without `KUBECONFIG`: the
 * in-cluster service account when `KUBERNETES_SERVICE_HOST` is set, else
 * `~/.kube/config`.
 *
 * client-node's `loadFromDefault` merges too, but lets a later file's
 * current context win and throws on a name defined twice; kubectl's rules
 * are the ones users set `KUBECONFIG` for.
 *
 * @example
 * ```ts
 * import { KubeClient, loadKubeConfig } from "@k8s-operator/k8s-operator/controller";
 * // KUBECONFIG=~/.kube/config:~/.kube/staging.yaml
 * const clientFromEnvironment = () => KubeClient.fromKubeConfig(loadKubeConfig());
 * ```
 */
export function loadKubeConfig(
  options: { env?: Record<string, string | undefined> } = {},
): KubeConfig {
  const env = options.env ?? process.env;
  const kubeConfig = new ClientKubeConfig();
  const files = (env.KUBECONFIG ?? "").split(delimiter).filter((p) => p !== "");
  if (files.length > 0) {
    const merged = {
      clusters: [] as KubeConfig["clusters"],
      users: [] as KubeConfig["users"],
      contexts: [] as KubeConfig["contexts"],
      currentContext: "",
    };
    const loaded = files.filter((file) => existsSync(file));
    if (loaded.length === 0) {
      throw new TypeError(
        `Expected at least one of the files KUBECONFIG lists to exist, found none of ${
          files.join(", ")
        }`,
      );
    }
    for (const file of loaded) {
      const one = new ClientKubeConfig();
      one.loadFromFile(file);
      if (!merged.currentContext && one.currentContext) {
        merged.currentContext = one.currentContext;
      }
      for (const field of ["clusters", "users", "contexts"] as const) {
        const list = merged[field] as Array<{ name: string }>;
        for (const item of one[field] as Array<{ name: string }>) {
          if (!list.some((known) => known.name === item.name)) list.push(item);
        }
      }
    }
    kubeConfig.loadFromOptions(merged);
    return kubeConfig;
  }
  if (env.KUBERNETES_SERVICE_HOST) {
    kubeConfig.loadFromCluster();
    return kubeConfig;
  }
  kubeConfig.loadFromDefault();
  return kubeConfig;
}
