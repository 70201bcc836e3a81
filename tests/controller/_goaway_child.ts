/**
 * Clients of a real kube-apiserver (with its controller manager, as in a
 * cluster) that serves HTTP/2 and closes sessions under them: 2 % of
 * HTTP/2 requests draw a GOAWAY (`--goaway-chance`) while six clients
 * list in loops, each on its own connection; then the server stops (a
 * GOAWAY on every session, as on every restart or rollout) while those
 * loops run, another client's connection is idle and one more carries a
 * watch. Prints one JSON line (`alpn`, the protocol the server picks when
 * offered both; `lists`, those answered, of `wanted` before the stop;
 * `watchEnded`; `loopsEnded` and `afterStop`, the errors that ended the
 * loops and of a request after the stop) and exits 0 when the process
 * survived all of it. Run by `client_http1_test.ts`. Under Deno, a client
 * that spoke HTTP/2 died here (`find_stream_on_goaway_func: Assertion
 * stream->closed_next == NULL failed`, or SIGSEGV) in 5 of 12 runs.
 *
 * @module
 */
import { connect } from "node:tls";
import { KubeClient } from "../../client/kube_client.ts";
import { EnvTest } from "../../testing/mod.ts";

/** Lists answered before the server is stopped. */
const LISTS = 50;
/** Clients listing in loops, each on a connection of its own. */
const LOOPS = 6;

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

const namespaces = {
  group: "",
  version: "v1",
  plural: "namespaces",
  kind: "Namespace",
  namespaced: false,
};

const plane = await EnvTest.start({
  // HTTP/2 served, as by a real cluster (EnvTest turns it off by
  // default), and 2 % of HTTP/2 requests answered with a GOAWAY.
  apiServerFlags: ["--disable-http2-serving=false", "--goaway-chance=0.02"],
  // Killed 1 s after SIGTERM: what the clients see is the test, not
  // how long the server drains.
  stopTimeoutMs: 1_000,
});
let stopped = false;
try {
  const offered = await alpn(plane.url, plane.caPem);
  const client = () => KubeClient.fromKubeConfig(plane.kubeConfig());
  const [idle, watcher] = [client(), client()];
  await idle.list(namespaces);
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
  let lists = 0;
  const enough = Promise.withResolvers<void>();
  const loops = Promise.all(
    Array.from({ length: LOOPS }, async () => {
      const looper = client();
      try {
        while (true) {
          await looper.list(namespaces);
          if (++lists === LISTS) enough.resolve();
        }
      } catch (error) {
        enough.resolve();
        return (error as Error).name;
      }
    }),
  ).then((names) => [...new Set(names)].sort().join(","));
  await enough.promise;
  await plane.stop();
  stopped = true;
  const [watchEnded, loopsEnded] = await Promise.all([drained, loops]);
  let afterStop = "none";
  try {
    await idle.list(namespaces);
  } catch (error) {
    afterStop = (error as Error).name;
  }
  console.log(JSON.stringify({
    alpn: offered,
    lists,
    wanted: LISTS,
    watchEnded,
    loopsEnded,
    afterStop,
  }));
} finally {
  if (!stopped) await plane.stop();
}
