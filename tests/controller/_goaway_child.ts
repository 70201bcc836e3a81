/**
 * Clients of a real kube-apiserver (with its controller manager, as in a
 * cluster) that serves HTTP/2 and closes sessions under them:
 * `--goaway-chance` draws on the lists, then the server stops while one
 * client's connection is idle and another's carries a watch. Prints one
 * JSON line (`alpn`, the protocol the server picks when offered both;
 * `lists`; `watchEnded`; `afterStop`, the error of a request after the
 * stop) and exits 0 when the process survived all of it. Run by
 * `client_http1_test.ts`; under Deno, a client that spoke HTTP/2 died at
 * the stop (`find_stream_on_goaway_func: Assertion
 * stream->closed_next == NULL failed`) in 2 of 4 runs.
 *
 * @module
 */
import { connect } from "node:tls";
import { KubeClient } from "../../controller/client.ts";
import { EnvTest } from "../../testing/mod.ts";

const LISTS = 3;

function alpn(url: string, ca: string): Promise<string | false> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: hostname,
      port: Number(port),
      ca,
      ALPNProtocols: ["h2", "http/1.1"],
    }, () => {
      resolve(socket.alpnProtocol ?? false);
      socket.end();
    });
    socket.once("error", reject);
  });
}

const plane = await EnvTest.start({
  // HTTP/2 served, as by a real cluster (EnvTest turns it off by default).
  apiServerFlags: ["--disable-http2-serving=false"],
});
let stopped = false;
try {
  const offered = await alpn(plane.url, plane.caPem);
  const client = KubeClient.fromKubeConfig(plane.kubeConfig());
  const watcher = KubeClient.fromKubeConfig(plane.kubeConfig());
  const namespaces = {
    group: "",
    version: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
  };
  for (let i = 0; i < LISTS; i++) await client.list(namespaces);
  const watch = await watcher.fetch("GET", "/api/v1/namespaces", {
    query: { watch: "true" },
  });
  const drained = (async () => {
    try {
      for await (const _ of watch.body!) {
        // The ADDED events of the existing namespaces.
      }
      return "ended";
    } catch (error) {
      return `failed: ${(error as Error).message}`;
    }
  })();
  await plane.stop();
  stopped = true;
  const watchEnded = await drained;
  let afterStop = "none";
  try {
    await client.list(namespaces);
  } catch (error) {
    afterStop = (error as Error).name;
  }
  console.log(JSON.stringify({
    alpn: offered,
    lists: LISTS,
    watchEnded,
    afterStop,
  }));
} finally {
  if (!stopped) await plane.stop();
}
