/**
 * TLS material that changes while the operator runs: rotated client
 * certificates (files and exec plugins), a rotated CA. The server is a
 * mutual-TLS `node:https` server whose certificate and accepted client CA
 * change mid-run.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import { KubeClient } from "../../client/kube_client.ts";
import type { KubeObject } from "../../client/objects.ts";
import { ManualClock } from "../../common/clock.ts";
import {
  makeTestCertificates,
  type TestCertificates,
} from "../../testing/_cert.ts";
import { configMaps } from "../../testing/resource_types.ts";

interface MtlsServer {
  url: string;
  /** Serves `certificate` and accepts client certificates signed by `clientCa` from now on. */
  rotate(settings: { certificate?: TestCertificates; clientCa?: string }): void;
  close(): Promise<void>;
}

async function startMtlsServer(
  certificate: TestCertificates,
  clientCa: string,
): Promise<MtlsServer> {
  let current = { certificate, clientCa };
  const server: Server = createServer({
    cert: certificate.certPem,
    key: certificate.keyPem,
    ca: clientCa,
    requestCert: true,
    rejectUnauthorized: true,
  }, (req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({
      kind: "ConfigMap",
      metadata: { name: req.url?.split("/").at(-1), namespace: "default" },
      tenant: req.headers["x-tenant"],
    }));
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve())
  );
  const { port } = server.address() as { port: number };
  return {
    url: `https://127.0.0.1:${port}`,
    rotate(settings) {
      current = { ...current, ...settings };
      server.setSecureContext({
        cert: current.certificate.certPem,
        key: current.certificate.keyPem,
        ca: current.clientCa,
      });
      // New material applies to new connections; end the old ones.
      server.closeAllConnections();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function kubeConfigFor(
  url: string,
  user: Record<string, unknown>,
  caFile: string,
): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: url, caFile }],
    users: [{ name: "u", ...user }],
    contexts: [{ name: "ctx", cluster: "c", user: "u" }],
    currentContext: "ctx",
  });
  return kc;
}

describe("KubeClient.fromKubeConfig with changing TLS material", () => {
  let dir: string;
  const serverA = makeTestCertificates(["127.0.0.1"]);
  const serverB = makeTestCertificates(["127.0.0.1"]);
  const clientA = makeTestCertificates(["client-a"]);
  const clientB = makeTestCertificates(["client-b"]);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "k8s-operator-tls-"));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("picks up a client certificate rotated on disk after the server stops accepting the old one", async () => {
    const server = await startMtlsServer(serverA, clientA.caPem);
    const ca = join(dir, "rotate-ca.crt");
    const cert = join(dir, "rotate-client.crt");
    const key = join(dir, "rotate-client.key");
    writeFileSync(ca, serverA.caPem);
    writeFileSync(cert, clientA.certPem);
    writeFileSync(key, clientA.keyPem);
    const client = KubeClient.fromKubeConfig(
      kubeConfigFor(server.url, { certFile: cert, keyFile: key }, ca),
      { clock: new ManualClock() },
    );
    try {
      await client.get(configMaps, "one", { namespace: "default" });
      writeFileSync(cert, clientB.certPem);
      writeFileSync(key, clientB.keyPem);
      server.rotate({ clientCa: clientB.caPem });
      // The request that meets the new requirement fails (no answer at
      // all); the next reads the files again and gets through, with no
      // restart and no clock advance.
      await assert.rejects(
        client.get(configMaps, "two", { namespace: "default" }),
      );
      const after = await client.get(configMaps, "three", {
        namespace: "default",
      });
      assert.equal(after.metadata.name, "three");
    } finally {
      await server.close();
    }
  });

  it("trusts a rotated CA bundle read on the periodic refresh before the server switches to its new certificate", async () => {
    const server = await startMtlsServer(serverA, clientA.caPem);
    const ca = join(dir, "bundle-ca.crt");
    const cert = join(dir, "bundle-client.crt");
    const key = join(dir, "bundle-client.key");
    writeFileSync(ca, serverA.caPem);
    writeFileSync(cert, clientA.certPem);
    writeFileSync(key, clientA.keyPem);
    const clock = new ManualClock();
    const client = KubeClient.fromKubeConfig(
      kubeConfigFor(server.url, { certFile: cert, keyFile: key }, ca),
      { clock },
    );
    try {
      await client.get(configMaps, "one", { namespace: "default" });
      writeFileSync(ca, serverA.caPem + serverB.caPem); // the rotation bundle
      clock.advance(9_999);
      await client.get(configMaps, "two", { namespace: "default" });
      clock.advance(1); // 10 s after the last read
      await client.get(configMaps, "three", { namespace: "default" });
      server.rotate({ certificate: serverB });
      const after = await client.get(configMaps, "four", {
        namespace: "default",
      });
      assert.equal(after.metadata.name, "four", "no failed request at all");
    } finally {
      await server.close();
    }
  });

  it("picks up client certificates an exec plugin returns once they change (Teleport, Pinniped)", async () => {
    const server = await startMtlsServer(serverA, clientA.caPem);
    const ca = join(dir, "exec-ca.crt");
    writeFileSync(ca, serverA.caPem);
    const credential = join(dir, "exec-credential.json");
    const write = (c: TestCertificates) =>
      writeFileSync(
        credential,
        JSON.stringify({
          apiVersion: "client.authentication.k8s.io/v1",
          kind: "ExecCredential",
          status: {
            clientCertificateData: c.certPem,
            clientKeyData: c.keyPem,
            // Already expired: the plugin runs on every refresh.
            expirationTimestamp: "2000-01-01T00:00:00Z",
          },
        }),
      );
    write(clientA);
    const client = KubeClient.fromKubeConfig(
      kubeConfigFor(server.url, {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "cat",
          args: [credential],
          interactiveMode: "Never",
        },
      }, ca),
      { clock: new ManualClock() },
    );
    try {
      await client.get(configMaps, "one", { namespace: "default" });
      write(clientB);
      server.rotate({ clientCa: clientB.caPem });
      await assert.rejects(
        client.get(configMaps, "two", { namespace: "default" }),
      );
      const after = await client.get(configMaps, "three", {
        namespace: "default",
      });
      assert.equal(after.metadata.name, "three");
    } finally {
      await server.close();
    }
  });

  it("sends through the dispatcher and with the headers of a KubeConfig subclass that overrides applySecurityAuthentication", async () => {
    const server = await startMtlsServer(serverA, clientA.caPem);
    const ca = join(dir, "subclass-ca.crt");
    const cert = join(dir, "subclass-client.crt");
    const key = join(dir, "subclass-client.key");
    writeFileSync(ca, serverA.caPem);
    writeFileSync(cert, clientA.certPem);
    writeFileSync(key, clientA.keyPem);
    const dispatched: string[] = [];
    const record: Dispatcher.DispatcherComposeInterceptor =
      (dispatch) => (options, handler) => {
        dispatched.push(`${options.method} ${options.path}`);
        return dispatch(options, handler);
      };
    type Context = Parameters<KubeConfig["applySecurityAuthentication"]>[0];
    class Instrumented extends KubeConfig {
      override async applySecurityAuthentication(
        context: Context,
      ): Promise<void> {
        await super.applySecurityAuthentication(context);
        context.setHeaderParam("x-tenant", "blue");
        const inner = context.getDispatcher()!;
        context.setDispatcher(
          inner.compose(record) as unknown as typeof inner,
        );
      }
    }
    const kubeConfig = new Instrumented();
    kubeConfig.loadFromOptions({
      clusters: [{ name: "c", server: server.url, caFile: ca }],
      users: [{ name: "u", certFile: cert, keyFile: key }],
      contexts: [{ name: "ctx", cluster: "c", user: "u" }],
      currentContext: "ctx",
    });
    const client = KubeClient.fromKubeConfig(kubeConfig, {
      clock: new ManualClock(),
    });
    try {
      const answer = await client.get<KubeObject & { tenant?: string }>(
        configMaps,
        "one",
        { namespace: "default" },
      );
      assert.equal(answer.tenant, "blue");
      assert.deepEqual(dispatched, [
        "GET /api/v1/namespaces/default/configmaps/one",
      ]);
    } finally {
      await server.close();
    }
  });

  it("runs one credential refresh at a time: twenty concurrent first requests share it", async () => {
    const server = await startMtlsServer(serverA, clientA.caPem);
    const ca = join(dir, "once-ca.crt");
    const cert = join(dir, "once-client.crt");
    const key = join(dir, "once-client.key");
    writeFileSync(ca, serverA.caPem);
    writeFileSync(cert, clientA.certPem);
    writeFileSync(key, clientA.keyPem);
    const kubeConfig = kubeConfigFor(
      server.url,
      { certFile: cert, keyFile: key },
      ca,
    );
    const reads = { applyToHTTPSOptions: 0, applySecurityAuthentication: 0 };
    for (const method of Object.keys(reads) as (keyof typeof reads)[]) {
      const original = kubeConfig[method].bind(kubeConfig) as (
        arg: never,
      ) => Promise<void>;
      kubeConfig[method] = async (arg: never) => {
        reads[method]++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return await original(arg);
      };
    }
    const client = KubeClient.fromKubeConfig(kubeConfig, {
      clock: new ManualClock(),
    });
    try {
      const names = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) =>
            client.get(configMaps, `c${i}`, { namespace: "default" }).then((
              c,
            ) => c.metadata.name),
        ),
      );
      assert.equal(names.length, 20);
      assert.ok(
        reads.applyToHTTPSOptions <= 1 &&
          reads.applySecurityAuthentication <= 1,
        `one read of the credentials for 20 requests, found ${
          JSON.stringify(reads)
        }`,
      );
    } finally {
      await server.close();
    }
  });
});
