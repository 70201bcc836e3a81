/**
 * For `client_body_test.ts`: GETs `/version` from the server of the
 * kubeconfig file at `process.argv.at(-1)`, cancels the body unread (as the
 * operator's API health probe does), lets undici's deferred `error` event
 * of the destroyed body come (two turns), asks again and prints
 * `answered <status> after the cancel`. An uncaught error ends the process
 * with a non-zero code before that.
 *
 * @module
 */
import process from "node:process";
import { setImmediate } from "node:timers";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../../client/kube_client.ts";

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(process.argv.at(-1)!);
const client = KubeClient.fromKubeConfig(kubeConfig);
const response = await client.fetch("GET", "/version", {
  signal: AbortSignal.timeout(10_000),
});
await response.body?.cancel();
for (let turn = 0; turn < 2; turn++) {
  await new Promise((resolve) => setImmediate(resolve));
}
const again = await client.fetch("GET", "/version");
await again.text();
console.log(`answered ${again.status} after the cancel`);
