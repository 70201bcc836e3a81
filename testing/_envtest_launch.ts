/**
 * Internal: how `EnvTest` starts each process of its control plane (the
 * binary, its flags, its readiness check) and the credentials they share.
 *
 * @module
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestCertificates } from "./_cert.ts";
import { probe, type ProbeResult } from "./_processes.ts";
import type { ControlPlaneComponent, EnvTestOptions } from "./envtest.ts";

/** How a process of the control plane is started and known to be ready. */
export interface Launch {
  component: ControlPlaneComponent;
  binary: string;
  /** Ports it needs: a fixed one (`number`) or a free one (`undefined`). */
  ports: (number | undefined)[];
  args(ports: number[]): string[];
  ready(ports: number[]): Promise<ProbeResult & { ok: boolean }>;
}

/** What the control plane's processes are started with. */
export interface PlaneFiles {
  /** A file in the control plane's folder. */
  file: (name: string) => string;
  /** The PEM certificate of the CA. */
  caPem: string;
  /** The admin's bearer token. */
  token: string;
  /** The options, with each process's extra flags. */
  options: EnvTestOptions;
}

/**
 * Writes the certificates, the service-account key pair and the token file
 * into `dir`, and makes the processes' folders; returns the CA's PEM.
 */
export function writeCredentials(dir: string, token: string): string {
  const file = (name: string) => join(dir, name);
  const certs = makeTestCertificates(["127.0.0.1", "localhost"]);
  const serviceAccount = generateKeyPairSync("ec", {
    namedCurve: "prime256v1",
  });
  writeFileSync(file("ca.crt"), certs.caPem);
  writeFileSync(file("apiserver.crt"), certs.certPem);
  writeFileSync(file("apiserver.key"), certs.keyPem, { mode: 0o600 });
  writeFileSync(
    file("service-account.key"),
    String(
      serviceAccount.privateKey.export({ type: "pkcs8", format: "pem" }),
    ),
    { mode: 0o600 },
  );
  writeFileSync(
    file("service-account.pub"),
    String(
      serviceAccount.publicKey.export({ type: "spki", format: "pem" }),
    ),
  );
  writeFileSync(
    file("tokens.csv"),
    `${token},admin,admin,"system:masters"\n`,
    { mode: 0o600 },
  );
  for (const sub of ["etcd", "apiserver-certs", "controller-manager-certs"]) {
    mkdirSync(file(sub), { mode: 0o700 });
  }
  return certs.caPem;
}

/** etcd: a client and a peer port, ready once `/health` says so. */
export function etcdLaunch(binary: string, plane: PlaneFiles): Launch {
  const { file } = plane;
  return {
    component: "etcd",
    binary,
    ports: [plane.options.etcdPort, undefined],
    args: ([client, peer]) =>
      flags({
        "name": "envtest",
        "data-dir": file("etcd"),
        "listen-client-urls": `http://127.0.0.1:${client}`,
        "advertise-client-urls": `http://127.0.0.1:${client}`,
        "listen-peer-urls": `http://127.0.0.1:${peer}`,
        "initial-advertise-peer-urls": `http://127.0.0.1:${peer}`,
        "initial-cluster": `envtest=http://127.0.0.1:${peer}`,
        "unsafe-no-fsync": "true",
      }, plane.options.etcdFlags),
    ready: async ([client]) => {
      const answer = await probe(`http://127.0.0.1:${client}/health`);
      return {
        ...answer,
        ok: answer.status === 200 && /"health":\s*"true"/.test(answer.text),
      };
    },
  };
}

/**
 * kube-apiserver on etcd at `etcdPort`, ready once `/readyz` says ok and
 * the `default` namespace exists.
 */
export function apiServerLaunch(
  binary: string,
  plane: PlaneFiles & { etcdPort: number; hasManager: boolean },
): Launch {
  const { file, caPem: ca, token } = plane;
  return {
    component: "kube-apiserver",
    binary,
    ports: [plane.options.apiServerPort],
    args: ([port]) =>
      flags({
        "etcd-servers": `http://127.0.0.1:${plane.etcdPort}`,
        "bind-address": "127.0.0.1",
        "advertise-address": "127.0.0.1",
        "secure-port": String(port),
        "tls-cert-file": file("apiserver.crt"),
        "tls-private-key-file": file("apiserver.key"),
        "client-ca-file": file("ca.crt"),
        "service-account-key-file": file("service-account.pub"),
        "service-account-signing-key-file": file("service-account.key"),
        "service-account-issuer": "https://kubernetes.default.svc",
        "api-audiences": "https://kubernetes.default.svc",
        "token-auth-file": file("tokens.csv"),
        "authorization-mode": "RBAC",
        "service-cluster-ip-range": "10.96.0.0/16",
        "allow-privileged": "true",
        "endpoint-reconciler-type": "none",
        "cert-dir": file("apiserver-certs"),
        // HTTP/1.1 only, as TestApiServer: client-node's undici
        // negotiates HTTP/2 when offered, and Deno's node:http2 client
        // crashes the process (SIGSEGV, an nghttp2 assertion) when the
        // server closes its sessions, which this one does on every stop.
        "disable-http2-serving": "true",
        // Without the controller manager no ServiceAccount is ever
        // made, so admission would refuse every Pod (as envtest does).
        ...(plane.hasManager
          ? {}
          : { "disable-admission-plugins": "ServiceAccount" }),
      }, plane.options.apiServerFlags),
    ready: async ([port]) => {
      const base = `https://127.0.0.1:${port}`;
      const ready = await probe(`${base}/readyz`, { ca, token });
      if (ready.status !== 200 || ready.text.trim() !== "ok") {
        return { ...ready, ok: false };
      }
      // Objects go into `default` first thing; it is made just after
      // the server becomes ready.
      const namespace = await probe(`${base}/api/v1/namespaces/default`, {
        ca,
        token,
      });
      return { ...namespace, ok: namespace.status === 200 };
    },
  };
}

/** kube-controller-manager with the admin's `kubeconfig`, ready once healthy. */
export function controllerManagerLaunch(
  binary: string,
  plane: PlaneFiles & { kubeconfig: string },
): Launch {
  const { file, kubeconfig } = plane;
  return {
    component: "kube-controller-manager",
    binary,
    ports: [undefined],
    args: ([port]) =>
      flags({
        "kubeconfig": kubeconfig,
        "authentication-kubeconfig": kubeconfig,
        "authorization-kubeconfig": kubeconfig,
        "controllers":
          "garbagecollector,namespace,serviceaccount,serviceaccount-token,root-ca-cert-publisher",
        "use-service-account-credentials": "false",
        "leader-elect": "false",
        "service-account-private-key-file": file("service-account.key"),
        "root-ca-file": file("ca.crt"),
        "bind-address": "127.0.0.1",
        "secure-port": String(port),
        "cert-dir": file("controller-manager-certs"),
      }, plane.options.controllerManagerFlags),
    ready: async ([port]) => {
      // Its own self-signed serving certificate: only health is read.
      const answer = await probe(`https://127.0.0.1:${port}/healthz`, {
        insecure: true,
      });
      return { ...answer, ok: answer.status === 200 };
    },
  };
}

/** Default flags, then `extra`: a flag with a default's name replaces it. */
function flags(
  defaults: Record<string, string>,
  extra: string[] = [],
): string[] {
  const merged = new Map(Object.entries(defaults));
  const loose: string[] = [];
  for (const flag of extra) {
    const match = /^--([^=]+)=(.*)$/s.exec(flag);
    if (match) merged.set(match[1], match[2]);
    else loose.push(flag);
  }
  return [...[...merged].map(([k, v]) => `--${k}=${v}`), ...loose];
}
