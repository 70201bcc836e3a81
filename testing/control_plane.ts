/**
 * One switch between the two control planes a test can run on: the
 * in-process `TestApiServer` ("fake") and a real etcd + kube-apiserver
 * from binaries (`EnvTest`, "envtest"), so a suite is written once.
 *
 * @module
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  type KubeConfig,
  TestApiServer,
  type TestApiServerOptions,
} from "./api_server.ts";
import { EnvTest, type EnvTestOptions } from "./envtest.ts";

/**
 * The two control planes: `fake` is the in-process {@link TestApiServer},
 * `envtest` a real kube-apiserver started by {@link EnvTest}.
 *
 * @example
 * ```ts
 * import type { ControlPlaneKind } from "@k8s-operator/k8s-operator/testing";
 * const kinds: ControlPlaneKind[] = ["fake", "envtest"];
 * ```
 */
export type ControlPlaneKind = "fake" | "envtest";

/**
 * The environment variable that chooses the control plane of the
 * switchable tests: `fake`, `envtest`, or `auto` (the default: `envtest`
 * when `KUBEBUILDER_ASSETS` is set, else `fake`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONTROL_PLANE_ENV } from "@k8s-operator/k8s-operator/testing";
 * assert.equal(CONTROL_PLANE_ENV, "K8S_OPERATOR_TEST_CONTROL_PLANE");
 * ```
 */
export const CONTROL_PLANE_ENV = "K8S_OPERATOR_TEST_CONTROL_PLANE";

/** Options of {@link selectTestControlPlane}. */
export interface SelectTestControlPlaneOptions {
  /** The plane to use instead of the one the environment names. */
  kind?: ControlPlaneKind | "auto";
  /** The environment to read (default: the process's). */
  env?: Record<string, string | undefined>;
}

/**
 * Which control plane a suite runs on, known before it starts, for
 * `describe(name, { skip })`.
 *
 * @example
 * ```ts
 * import type { ControlPlaneSelection } from "@k8s-operator/k8s-operator/testing";
 * const selection: ControlPlaneSelection = {
 *   kind: "envtest",
 *   skip: false,
 *   garbageCollection: true,
 * };
 * ```
 */
export interface ControlPlaneSelection {
  /** The plane chosen. */
  kind: ControlPlaneKind;
  /**
   * `false` when it can run here, else why not (envtest without
   * `KUBEBUILDER_ASSETS`): pass it as `skip` so the output says so.
   */
  skip: string | false;
  /**
   * Whether owner-reference garbage collection and namespace deletion will
   * run: always on `fake`; on `envtest` when `kube-controller-manager` is
   * in `KUBEBUILDER_ASSETS`.
   */
  garbageCollection: boolean;
}

/**
 * Reads the switch ({@link CONTROL_PLANE_ENV}) and `KUBEBUILDER_ASSETS`
 * and says which control plane to run on, and whether it can run here.
 * Throws a `RangeError` for a switch value other than `fake`, `envtest`
 * or `auto`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describe, it } from "node:test";
 * import { selectTestControlPlane } from "@k8s-operator/k8s-operator/testing";
 *
 * const plane = selectTestControlPlane({ env: {} }); // in a test file: selectTestControlPlane()
 * assert.equal(plane.kind, "fake"); // no switch and no KUBEBUILDER_ASSETS: the in-process server
 * // At the top of a test file:
 * const suite = () =>
 *   describe(`my operator [${plane.kind}]`, { skip: plane.skip }, () => {
 *     it("reconciles", () => {});
 *   });
 * ```
 */
export function selectTestControlPlane(
  options: SelectTestControlPlaneOptions = {},
): ControlPlaneSelection {
  const env = options.env ?? process.env;
  const requested = options.kind ?? (env[CONTROL_PLANE_ENV] || "auto");
  const assets = env.KUBEBUILDER_ASSETS || undefined;
  if (
    requested !== "fake" && requested !== "envtest" && requested !== "auto"
  ) {
    throw new RangeError(
      `Expected ${CONTROL_PLANE_ENV} to be fake, envtest or auto, found ${
        JSON.stringify(requested)
      }`,
    );
  }
  const kind = requested === "auto" ? (assets ? "envtest" : "fake") : requested;
  if (kind === "fake") {
    return { kind, skip: false, garbageCollection: true };
  }
  if (assets === undefined) {
    return {
      kind,
      skip: "no Kubernetes binaries: KUBEBUILDER_ASSETS is not set " +
        "(a folder holding etcd, kube-apiserver and optionally " +
        "kube-controller-manager; see testing/README.md)",
      garbageCollection: false,
    };
  }
  let manager = false;
  try {
    manager = statSync(join(assets, "kube-controller-manager")).isFile();
  } catch {
    // No controller manager: no garbage collection.
  }
  return { kind, skip: false, garbageCollection: manager };
}

/** Options of {@link startTestControlPlane}. */
export interface StartTestControlPlaneOptions
  extends SelectTestControlPlaneOptions {
  /** Options of the in-process server, when the plane is `fake`. */
  fake?: TestApiServerOptions;
  /** Options of the real control plane, when the plane is `envtest`. */
  envTest?: EnvTestOptions;
}

/** What both kinds of {@link TestControlPlane} offer. */
export interface TestControlPlaneBase extends AsyncDisposable {
  /** The API server's base URL. */
  readonly url: string;
  /** The bearer token its kubeconfig sends. */
  readonly token: string;
  /** The PEM certificate of the CA its kubeconfig trusts. */
  readonly caPem: string;
  /** Whether owner-reference garbage collection and namespace deletion run. */
  readonly garbageCollection: boolean;
  /** A `KubeConfig` for it (TLS verified, token sent). */
  kubeConfig(): KubeConfig;
  /** The kubeconfig file text, for `kubectl --kubeconfig` or a child's `KUBECONFIG`. */
  kubeConfigYaml(): string;
  /** Stops it and releases what it holds (processes, folders, ports). */
  stop(): Promise<void>;
}

/**
 * The in-process control plane: {@link TestApiServer}, whose `faults` and
 * `bookmark()` a test can use when it runs here.
 *
 * @example
 * ```ts
 * import { startTestControlPlane } from "@k8s-operator/k8s-operator/testing";
 * await using plane = await startTestControlPlane({ kind: "fake" });
 * if (plane.kind === "fake") {
 *   plane.server.faults.failNext({ verb: "list", resource: "configmaps", status: 500 });
 * }
 * ```
 */
export interface FakeControlPlane extends TestControlPlaneBase {
  /** Which plane this is. */
  readonly kind: "fake";
  /** The server itself. */
  readonly server: TestApiServer;
}

/**
 * The real control plane: {@link EnvTest}, whose processes and logs a test
 * can reach when it runs here.
 *
 * @example
 * ```ts ignore
 * // Not run: it starts etcd and kube-apiserver (KUBEBUILDER_ASSETS, deno task test:envtest).
 * import { startTestControlPlane } from "@k8s-operator/k8s-operator/testing";
 * await using plane = await startTestControlPlane({ kind: "envtest" });
 * if (plane.kind === "envtest") console.log(plane.envTest.pids);
 * ```
 */
export interface EnvTestControlPlane extends TestControlPlaneBase {
  /** Which plane this is. */
  readonly kind: "envtest";
  /** The launcher of its processes. */
  readonly envTest: EnvTest;
}

/**
 * A control plane started by {@link startTestControlPlane}: either kind,
 * told apart by `kind`.
 *
 * @example
 * ```ts
 * import { startTestControlPlane, type TestControlPlane } from "@k8s-operator/k8s-operator/testing";
 * const plane: TestControlPlane = await startTestControlPlane({ kind: "fake" });
 * console.log(plane.kind, plane.url);
 * await plane.stop();
 * ```
 */
export type TestControlPlane = FakeControlPlane | EnvTestControlPlane;

/**
 * Starts the control plane the switch names (see
 * {@link selectTestControlPlane}), or `options.kind`. Both hand out the
 * same kind of `KubeConfig`, so a test written against one runs on the
 * other; it should assert only what both can show (neither runs Pods).
 * Start one per test file and give each test its own namespace: a real
 * kube-apiserver takes seconds to start.
 *
 * @example
 * ```ts
 * import { CoreV1Api } from "@kubernetes/client-node";
 * import { startTestControlPlane } from "@k8s-operator/k8s-operator/testing";
 *
 * await using plane = await startTestControlPlane({ kind: "fake" });
 * const core = plane.kubeConfig().makeApiClient(CoreV1Api);
 * await core.createNamespace({ body: { metadata: { name: "team-a" } } });
 * ```
 */
export async function startTestControlPlane(
  options: StartTestControlPlaneOptions = {},
): Promise<TestControlPlane> {
  const { kind } = selectTestControlPlane(options);
  if (kind === "fake") {
    const server = await TestApiServer.start(options.fake);
    return {
      kind,
      server,
      url: server.url,
      token: server.token,
      caPem: server.caPem,
      garbageCollection: true,
      kubeConfig: () => server.kubeConfig(),
      kubeConfigYaml: () => server.kubeConfigYaml(),
      stop: () => server.stop(),
      [Symbol.asyncDispose]: () => server.stop(),
    };
  }
  const envTest = await EnvTest.start({
    ...options.envTest,
    binaryAssetsDirectory: options.envTest?.binaryAssetsDirectory ??
      ((options.env ?? process.env).KUBEBUILDER_ASSETS || undefined),
  });
  return {
    kind,
    envTest,
    url: envTest.url,
    token: envTest.token,
    caPem: envTest.caPem,
    garbageCollection: envTest.controllerManager,
    kubeConfig: () => envTest.kubeConfig(),
    kubeConfigYaml: () => envTest.kubeConfigYaml(),
    stop: () => envTest.stop(),
    [Symbol.asyncDispose]: () => envTest.stop(),
  };
}
