/**
 * Runs inside a private network namespace whose resolver is dnsmasq on
 * 127.0.0.1:53 with a Kubernetes search path (`peer_dns_test.ts` sets it
 * up). Node 0 of a StatefulSet `op` (Service `raft`, namespace `ops`)
 * heartbeats nodes 1 and 2 every 50 ms for `durationMs`, through the peer
 * URLs the operator builds (`_peer_urls.ts` on `RaftConfig.forStatefulSet`): node 1
 * has no DNS record (a pod stuck Pending), node 2 resolves to 127.0.0.1
 * where a transport listens on the Raft port. A second sender reaches node
 * 2 over HTTPS by its fully qualified name (certificate in `_tls_pod.ts`,
 * its CA trusted through `DENO_CERT` / `NODE_EXTRA_CA_CERTS`).
 *
 * One JSON argument `{ durationMs }`; prints `{ delivered, tlsDelivered,
 * failures, urls }`.
 *
 * @module
 */
import { args } from "../../platform/mod.ts";
import { peerUrls } from "../../operator/_peer_urls.ts";
import { RaftConfig } from "../../discovery/config.ts";
import { HttpTransport } from "../../raft/transport.ts";
import { messageOf } from "../raft/_frames.ts";
import { POD_CERT, POD_KEY } from "./_tls_pod.ts";

const { durationMs } = JSON.parse(args()[0]) as { durationMs: number };
const SECRET = "dns-test-secret-0123456789";
const raft = RaftConfig.forStatefulSet({
  podName: "op-0",
  namespace: "ops",
  service: "raft",
  replicas: 3,
});
const url = peerUrls(raft, undefined);

let delivered = 0;
let tlsDelivered = 0;
const receiver = (port: number, tls?: { cert: string; key: string }) => {
  const t = new HttpTransport({
    id: 2,
    clusterId: "op",
    secret: SECRET,
    peerUrl: (id) => id === 0 ? "http://127.0.0.1:1" : undefined,
    onMessages: (ms) => {
      if (tls) tlsDelivered += ms.length;
      else delivered += ms.length;
    },
  });
  return t.listen({ port, hostname: "127.0.0.1", tls }).then(() => t);
};
const plain = await receiver(raft.listenPort);
const secure = await receiver(7443, { cert: POD_CERT, key: POD_KEY });

let failures = 0;
const sender = new HttpTransport({
  id: 0,
  clusterId: "op",
  secret: SECRET,
  peerUrl: url,
  onMessages: () => {},
  onSendError: (peer) => {
    if (peer === 1) failures++;
  },
});
const tlsUrl = `https://${raft.peers.get(2)!.replace(/:\d+$/, ":7443")}`;
const tlsSender = new HttpTransport({
  id: 0,
  clusterId: "op",
  secret: SECRET,
  peerUrl: (id) => id === 2 ? tlsUrl : undefined,
  onMessages: () => {},
});

const beat = (to: number) => messageOf("heartbeat", { from: 0, to });
const started = performance.now();
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    if (performance.now() - started >= durationMs) {
      clearInterval(timer);
      resolve();
      return;
    }
    sender.send([beat(1), beat(2)]);
    tlsSender.send([beat(2)]);
  }, 50);
});
console.log(JSON.stringify({
  delivered,
  tlsDelivered,
  failures,
  urls: [url(1), url(2), tlsUrl],
}));
await sender.close();
await tlsSender.close();
await plain.close();
await secure.close();
