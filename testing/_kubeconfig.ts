/**
 * The kubeconfig both test control planes hand out: one cluster whose CA is
 * trusted, one bearer token, namespace `default`.
 *
 * @module
 */

/** Where a kubeconfig points and how it authenticates. */
export interface KubeConfigTarget {
  /** The API server's base URL. */
  url: string;
  /** The PEM certificate of the CA that signed the server's certificate. */
  caPem: string;
  /** The bearer token. */
  token: string;
}

/** The kubeconfig file text (JSON, which is YAML) for `target`. */
export function kubeConfigText(target: KubeConfigTarget): string {
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{
        name: "test-apiserver",
        cluster: {
          server: target.url,
          "certificate-authority-data": btoa(target.caPem),
        },
      }],
      users: [{ name: "test-user", user: { token: target.token } }],
      contexts: [{
        name: "test",
        context: {
          cluster: "test-apiserver",
          user: "test-user",
          namespace: "default",
        },
      }],
      "current-context": "test",
    },
    null,
    2,
  );
}
