/**
 * A child process for `body_retention_deno_test.ts` (run with
 * `--expose-gc`): a local server streams `Number(args[0])` chunks of 16 kB
 * and keeps the response open; the child reads them all through a
 * `KubeClient` built from a kubeconfig (its undici transport), collects
 * garbage while the body is still open, and prints how many of the chunks
 * it read are still alive, as JSON (`{ read, alive }`).
 *
 * @module
 */
import { KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../../client/mod.ts";

const count = Number(Deno.args[0]);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Expected --expose-gc, found no gc()");
const hold = Promise.withResolvers<void>();
const server = Deno.serve(
  { port: 0, hostname: "127.0.0.1", onListen() {} },
  () =>
    new Response(
      new ReadableStream<Uint8Array>({
        async start(controller) {
          for (let i = 0; i < count; i++) {
            controller.enqueue(new Uint8Array(16 * 1024).fill(i % 256));
          }
          await hold.promise;
          controller.close();
        },
      }),
    ),
);
const kubeConfig = new KubeConfig();
kubeConfig.loadFromOptions({
  clusters: [{
    name: "local",
    server: `http://127.0.0.1:${server.addr.port}`,
    skipTLSVerify: true,
  }],
  users: [{ name: "nobody" }],
  contexts: [{ name: "local", cluster: "local", user: "nobody" }],
  currentContext: "local",
});
const client = KubeClient.fromKubeConfig(kubeConfig);
const response = await client.fetch("GET", "/stream");
const reader = response.body!.getReader();
const chunks: WeakRef<Uint8Array>[] = [];
let bytes = 0;
while (bytes < count * 16 * 1024) {
  const { value, done } = await reader.read();
  if (done) {
    throw new Error(`Expected ${count * 16 * 1024} bytes, found ${bytes}`);
  }
  bytes += value.byteLength;
  chunks.push(new WeakRef(value));
}
// A WeakRef's target stays alive until the current job ends: collect in
// later macrotasks, with the body still open.
for (let round = 0; round < 3; round++) {
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
}
const alive = chunks.filter((ref) => ref.deref() !== undefined).length;
console.log(JSON.stringify({ read: chunks.length, alive }));
hold.resolve();
await reader.cancel();
await server.shutdown();
