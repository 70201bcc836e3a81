/**
 * `KubeClient.fromKubeConfig` with no TLS material at all (no CA, no
 * client certificate, verification on), for `client_http1_test.ts`: it
 * GETs ConfigMaps `one` and `two` from the server at `Deno.args[0]` /
 * `process.argv[2]` and exits 0 once both answered. Its own process, as
 * the test server's CA is not in the system's store: the parent sets
 * `NODE_TLS_REJECT_UNAUTHORIZED=0` for this process only.
 *
 * @module
 */
import process from "node:process";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../../client/kube_client.ts";
import { configMaps } from "../../testing/resource_types.ts";

const server = process.argv.at(-1)!;
const kubeConfig = new KubeConfig();
kubeConfig.loadFromOptions({
  clusters: [{ name: "c", server }],
  users: [{ name: "u", token: "t" }],
  contexts: [{ name: "ctx", cluster: "c", user: "u" }],
  currentContext: "ctx",
});
const client = KubeClient.fromKubeConfig(kubeConfig);
for (const name of ["one", "two"]) {
  await client.get(
    configMaps,
    name,
    { namespace: "default" },
  );
}
process.exit(0);
