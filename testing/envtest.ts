/**
 * `EnvTest`: a real Kubernetes control plane for tests — etcd,
 * kube-apiserver and (when its binary is there) kube-controller-manager,
 * started from binaries the way controller-runtime's envtest does.
 *
 * @module
 */
import { KubeConfig as ClientKubeConfig } from "@kubernetes/client-node";
import {
  accessSync,
  constants,
  mkdtempSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { KubeConfig } from "./api_server.ts";
import {
  apiServerLaunch,
  controllerManagerLaunch,
  etcdLaunch,
  type Launch,
  type PlaneFiles,
  writeCredentials,
} from "./_envtest_launch.ts";
import { kubeConfigText } from "./_kubeconfig.ts";
import {
  describeExit,
  type ExitStatus,
  freePort,
  type ManagedProcess,
  pause,
  type ProbeResult,
  type Reaper,
  removeDir,
  startProcess,
  startReaper,
} from "./_processes.ts";

/**
 * A process of the control plane, named after its binary.
 *
 * @example
 * ```ts
 * import type { ControlPlaneComponent } from "@k8s-operator/k8s-operator/testing";
 * const first: ControlPlaneComponent = "etcd";
 * ```
 */
export type ControlPlaneComponent =
  | "etcd"
  | "kube-apiserver"
  | "kube-controller-manager";

/**
 * The process ids of a running {@link EnvTest}.
 *
 * @example
 * ```ts
 * import type { ControlPlanePids } from "@k8s-operator/k8s-operator/testing";
 * const pids: ControlPlanePids = { etcd: 101, "kube-apiserver": 102, reaper: 100 };
 * ```
 */
export type ControlPlanePids =
  & Partial<Record<ControlPlaneComponent, number>>
  & { reaper?: number };

/**
 * Why a control plane could not start: its binary is `missing` or
 * `not-executable`, a `port-taken`, it `exited` before it was ready, or it
 * was `not-ready` in time.
 *
 * @example
 * ```ts
 * import type { ControlPlaneFailure } from "@k8s-operator/k8s-operator/testing";
 * const reason: ControlPlaneFailure = "port-taken";
 * ```
 */
export type ControlPlaneFailure =
  | "missing"
  | "not-executable"
  | "port-taken"
  | "exited"
  | "not-ready";

/** What a {@link ControlPlaneError} carries. */
export interface ControlPlaneErrorDetails {
  /** The process that failed. */
  component: ControlPlaneComponent;
  /** Why. */
  reason: ControlPlaneFailure;
  /** The path of its binary, when one was found or expected. */
  binary?: string;
  /** The port that was taken (`port-taken`). */
  port?: number;
  /** The last lines of its output. */
  logTail?: string[];
}

/**
 * A control plane process could not be started. The message says which
 * binary, what was expected and what happened, and ends with the last
 * lines of its log; the same facts are fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ControlPlaneError, EnvTest } from "@k8s-operator/k8s-operator/testing";
 * await assert.rejects(
 *   EnvTest.start({ binaryAssetsDirectory: "/nonexistent" }),
 *   (error) => error instanceof ControlPlaneError && error.component === "etcd" && error.reason === "missing",
 * );
 * ```
 */
export class ControlPlaneError extends Error {
  /** The error class name. */
  override name = "ControlPlaneError";
  /** The process that failed. */
  readonly component: ControlPlaneComponent;
  /** Why it failed. */
  readonly reason: ControlPlaneFailure;
  /** The path of its binary, when one was found or expected. */
  readonly binary: string | undefined;
  /** The port that was taken (`port-taken`). */
  readonly port: number | undefined;
  /** The last lines of its output (empty when it never ran). */
  readonly logTail: readonly string[];

  /** `summary` is the first line; the log tail is appended. */
  constructor(summary: string, details: ControlPlaneErrorDetails) {
    const tail = details.logTail ?? [];
    super(
      tail.length === 0
        ? summary
        : `${summary}\nLast ${tail.length} lines of its output:\n${
          tail.map((line) => `  ${line}`).join("\n")
        }`,
    );
    this.component = details.component;
    this.reason = details.reason;
    this.binary = details.binary;
    this.port = details.port;
    this.logTail = tail;
  }
}

/**
 * Options of {@link EnvTest.start}. Binaries are found in
 * `binaryAssetsDirectory` (default: the `KUBEBUILDER_ASSETS` environment
 * variable, the envtest convention) unless given one by one.
 *
 * @example
 * ```ts
 * import type { EnvTestOptions } from "@k8s-operator/k8s-operator/testing";
 * const options: EnvTestOptions = {
 *   binaryAssetsDirectory: "/opt/k8s/1.32", // etcd, kube-apiserver, kube-controller-manager
 *   kubeControllerManager: false, // no garbage collection, starts faster
 *   apiServerFlags: ["--feature-gates=WatchList=true"],
 *   startTimeoutMs: 120_000, // a slow CI machine
 * };
 * ```
 */
export interface EnvTestOptions {
  /**
   * A folder holding `etcd`, `kube-apiserver` and optionally
   * `kube-controller-manager` (default: `KUBEBUILDER_ASSETS`).
   */
  binaryAssetsDirectory?: string;
  /** The etcd binary (default: `etcd` in the assets folder). */
  etcd?: string;
  /** The kube-apiserver binary (default: `kube-apiserver` in the assets folder). */
  kubeApiServer?: string;
  /**
   * The kube-controller-manager binary; `false` to run none. By default the
   * one in the assets folder, when it is there. Without it, owner-reference
   * garbage collection and namespace deletion never finish.
   */
  kubeControllerManager?: string | false;
  /** etcd's client port (default: a free one). */
  etcdPort?: number;
  /** The API server's secure port (default: a free one). */
  apiServerPort?: number;
  /** More etcd flags (`--name=value`); one with a default's name replaces it. */
  etcdFlags?: string[];
  /** More kube-apiserver flags; one with a default's name replaces it. */
  apiServerFlags?: string[];
  /** More kube-controller-manager flags; one with a default's name replaces it. */
  controllerManagerFlags?: string[];
  /** How long each process may take to become ready, in milliseconds (default 60,000). */
  startTimeoutMs?: number;
  /** How long each process gets after SIGTERM before SIGKILL, in milliseconds (default 5,000). */
  stopTimeoutMs?: number;
  /** The bearer token of the admin user (default: a random one). */
  token?: string;
  /** Where the control plane's own folder is made (default: the system's temporary folder). */
  tmpDir?: string;
}

interface Binaries {
  etcd: string;
  kubeApiServer: string;
  kubeControllerManager: string | undefined;
}

const ASSETS_HINT =
  "set KUBEBUILDER_ASSETS to a folder holding etcd, kube-apiserver and " +
  "optionally kube-controller-manager (setup-envtest prints one), or pass " +
  "binaryAssetsDirectory or the binaries' paths";

function checkBinary(component: ControlPlaneComponent, path: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new ControlPlaneError(
      `Expected the ${component} binary at ${path}, found nothing there`,
      { component, reason: "missing", binary: path },
    );
  }
  if (!isFile) {
    throw new ControlPlaneError(
      `Expected the ${component} binary at ${path}, found a folder`,
      { component, reason: "missing", binary: path },
    );
  }
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new ControlPlaneError(
      `Expected ${path} to be executable, but it is not (chmod +x it)`,
      { component, reason: "not-executable", binary: path },
    );
  }
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function findBinaries(options: EnvTestOptions): Binaries {
  const assets = options.binaryAssetsDirectory ??
    (process.env.KUBEBUILDER_ASSETS || undefined);
  const pick = (component: ControlPlaneComponent, given?: string) => {
    if (given !== undefined) return given;
    if (assets === undefined) {
      throw new ControlPlaneError(
        `No ${component} binary to run: ${ASSETS_HINT}`,
        { component, reason: "missing" },
      );
    }
    return join(assets, component);
  };
  const etcd = pick("etcd", options.etcd);
  const kubeApiServer = pick("kube-apiserver", options.kubeApiServer);
  let kubeControllerManager: string | undefined;
  if (typeof options.kubeControllerManager === "string") {
    kubeControllerManager = options.kubeControllerManager;
  } else if (options.kubeControllerManager === undefined && assets) {
    const candidate = join(assets, "kube-controller-manager");
    if (exists(candidate)) kubeControllerManager = candidate;
  }
  checkBinary("etcd", etcd);
  checkBinary("kube-apiserver", kubeApiServer);
  if (kubeControllerManager !== undefined) {
    checkBinary("kube-controller-manager", kubeControllerManager);
  }
  return { etcd, kubeApiServer, kubeControllerManager };
}

/** The port a process said it could not bind, if its output says so. */
function takenPort(lines: string[]): number | undefined {
  for (const line of lines) {
    const match = /:(\d+): bind: address already in use/.exec(line);
    if (match) return Number(match[1]);
  }
  return undefined;
}

async function freePorts(count: number, avoid: Set<number>): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!avoid.has(port) && !ports.includes(port)) ports.push(port);
  }
  return ports;
}

const TAIL_LINES = 20;
const PORT_ATTEMPTS = 3;

/**
 * Throws when a process exited after the next one became ready (an etcd
 * whose fixed port another etcd held, which answered in its place).
 */
function checkStillRunning(started: ManagedProcess[]): void {
  for (const child of started) {
    if (child.status !== null) {
      throw new ControlPlaneError(
        `Expected ${child.name} to keep running, but it ${
          describeExit(child.status)
        }`,
        {
          component: child.name as ControlPlaneComponent,
          reason: "exited",
          logTail: child.logTail(TAIL_LINES),
        },
      );
    }
  }
}

/**
 * A real control plane from binaries, like controller-runtime's envtest:
 * etcd, kube-apiserver and, when its binary is there,
 * kube-controller-manager (garbage collection, namespace deletion, service
 * accounts), on free loopback ports, with certificates, a bearer token and
 * data in a fresh temporary folder. {@link EnvTest.kubeConfig} hands out the
 * same kind of `KubeConfig` as `TestApiServer`.
 *
 * {@link EnvTest.stop} (or `await using`) ends every process — SIGTERM,
 * then SIGKILL after a grace — and removes the folder. If the test process
 * ends first, however it ends (an exit, SIGINT, SIGKILL, a crash), a small
 * reaper process it started kills them and removes the folder; nothing
 * keeps the test process alive.
 *
 * @example
 * ```ts ignore
 * // Not run: it starts etcd and kube-apiserver (KUBEBUILDER_ASSETS, deno task test:envtest).
 * import { CoreV1Api } from "@kubernetes/client-node";
 * import { EnvTest } from "@k8s-operator/k8s-operator/testing";
 *
 * // KUBEBUILDER_ASSETS=/path/to/bin (etcd, kube-apiserver, kube-controller-manager)
 * await using plane = await EnvTest.start();
 * const core = plane.kubeConfig().makeApiClient(CoreV1Api);
 * await core.createNamespace({ body: { metadata: { name: "team-a" } } });
 * ```
 */
export class EnvTest {
  /** The API server's base URL, e.g. `https://127.0.0.1:40123`. */
  readonly url: string;
  /** The bearer token of the admin user (group `system:masters`). */
  readonly token: string;
  /** The PEM certificate of the CA that signed the API server's certificate. */
  readonly caPem: string;
  /** The temporary folder with the certificates, etcd's data and the logs; removed by `stop()`. */
  readonly dir: string;
  /** Whether kube-controller-manager runs (garbage collection, namespace deletion). */
  readonly controllerManager: boolean;
  #processes: ManagedProcess[];
  #reaper: Reaper;
  #stopTimeoutMs: number;
  #stopping: Promise<void> | undefined;

  private constructor(
    fields: {
      url: string;
      token: string;
      caPem: string;
      dir: string;
      stopTimeoutMs: number;
      reaper: Reaper;
    },
    processes: ManagedProcess[],
  ) {
    this.url = fields.url;
    this.token = fields.token;
    this.caPem = fields.caPem;
    this.dir = fields.dir;
    this.#stopTimeoutMs = fields.stopTimeoutMs;
    this.#reaper = fields.reaper;
    this.#processes = processes;
    this.controllerManager = processes.some((p) =>
      p.name === "kube-controller-manager"
    );
  }

  /**
   * Starts etcd, then kube-apiserver, then kube-controller-manager (when
   * there is one), each once the one before is ready, and resolves when
   * the API server answers `/readyz` and the `default` namespace exists.
   * Rejects with a {@link ControlPlaneError} — after stopping what it
   * started and removing its folder — when a binary is missing or not
   * executable, a port is taken, or a process exits or is not ready in
   * time.
   *
   * @example
   * ```ts
   * import { EnvTest } from "@k8s-operator/k8s-operator/testing";
   * // A slow CI machine: give the binaries two minutes to come up.
   * const startSlowly = () => EnvTest.start({ startTimeoutMs: 120_000 });
   * ```
   */
  static async start(options: EnvTestOptions = {}): Promise<EnvTest> {
    const binaries = findBinaries(options);
    const token = options.token ?? crypto.randomUUID();
    const startTimeoutMs = options.startTimeoutMs ?? 60_000;
    const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
    const dir = mkdtempSync(
      join(options.tmpDir ?? tmpdir(), "k8s-operator-envtest-"),
    );
    const reaper = startReaper(dir);
    const started: ManagedProcess[] = [];
    try {
      const plane: PlaneFiles = {
        file: (name: string) => join(dir, name),
        caPem: writeCredentials(dir, token),
        token,
        options,
      };
      const used = new Set<number>();
      const launch = (spec: Launch) =>
        launchUntilReady(spec, {
          dir,
          used,
          started,
          startTimeoutMs,
          reaper,
        });
      const [etcdPort] = await launch(etcdLaunch(binaries.etcd, plane));
      const [apiPort] = await launch(
        apiServerLaunch(binaries.kubeApiServer, {
          ...plane,
          etcdPort,
          hasManager: binaries.kubeControllerManager !== undefined,
        }),
      );
      const url = `https://127.0.0.1:${apiPort}`;
      const kubeconfig = plane.file("kubeconfig.json");
      writeFileSync(
        kubeconfig,
        kubeConfigText({ url, caPem: plane.caPem, token }),
        { mode: 0o600 },
      );
      if (binaries.kubeControllerManager !== undefined) {
        await launch(
          controllerManagerLaunch(binaries.kubeControllerManager, {
            ...plane,
            kubeconfig,
          }),
        );
      }
      checkStillRunning(started);
      return new EnvTest(
        { url, token, caPem: plane.caPem, dir, stopTimeoutMs, reaper },
        started,
      );
    } catch (error) {
      await stopAll(started, stopTimeoutMs);
      removeDir(dir);
      await reaper.close();
      throw error;
    }
  }

  /**
   * The process ids of what this control plane started, by component
   * (kube-controller-manager only when it runs), and of its reaper: the
   * small process that cleans up if the test process ends before `stop()`.
   *
   * @example
   * ```ts
   * import type { EnvTest } from "@k8s-operator/k8s-operator/testing";
   * const apiServerPid = (plane: EnvTest) => plane.pids["kube-apiserver"];
   * ```
   */
  get pids(): ControlPlanePids {
    const pids: ControlPlanePids = {};
    for (const p of this.#processes) {
      if (p.pid !== undefined) {
        pids[p.name as ControlPlaneComponent] = p.pid;
      }
    }
    if (this.#reaper.pid !== undefined) pids.reaper = this.#reaper.pid;
    return pids;
  }

  /**
   * The last `lines` lines (default 20) of a component's output, for a
   * failing test to print.
   *
   * @example
   * ```ts
   * import type { EnvTest } from "@k8s-operator/k8s-operator/testing";
   * const explain = (plane: EnvTest) => console.error(plane.logTail("kube-apiserver", 50).join("\n"));
   * ```
   */
  logTail(
    component: ControlPlaneComponent,
    lines: number = TAIL_LINES,
  ): string[] {
    return this.#processes.find((p) => p.name === component)?.logTail(lines) ??
      [];
  }

  /**
   * A `KubeConfig` for the API server: its CA is trusted (TLS is verified)
   * and the admin token is sent.
   *
   * @example
   * ```ts
   * import { CustomObjectsApi } from "@kubernetes/client-node";
   * import type { EnvTest } from "@k8s-operator/k8s-operator/testing";
   * const customObjects = (plane: EnvTest) => plane.kubeConfig().makeApiClient(CustomObjectsApi);
   * ```
   */
  kubeConfig(): KubeConfig {
    const kc = new ClientKubeConfig();
    kc.loadFromString(this.kubeConfigYaml());
    return kc;
  }

  /**
   * The kubeconfig file text, for `kubectl --kubeconfig` or `KUBECONFIG`.
   *
   * @example
   * ```ts
   * import { writeFile } from "node:fs/promises";
   * import type { EnvTest } from "@k8s-operator/k8s-operator/testing";
   * // For kubectl --kubeconfig kubeconfig.yaml while a test runs.
   * const saveKubeconfig = (plane: EnvTest) => writeFile("kubeconfig.yaml", plane.kubeConfigYaml());
   * ```
   */
  kubeConfigYaml(): string {
    return kubeConfigText(this);
  }

  /**
   * Stops kube-controller-manager and kube-apiserver, then etcd (SIGTERM,
   * SIGKILL after `stopTimeoutMs`), waits until each has exited, and
   * removes the folder. Calling it again waits for the same stop.
   *
   * @example
   * ```ts
   * import type { EnvTest } from "@k8s-operator/k8s-operator/testing";
   * const stop = (plane: EnvTest) => plane.stop(); // or: await using plane = await EnvTest.start()
   * ```
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await stopAll(this.#processes, this.#stopTimeoutMs);
      removeDir(this.dir);
      await this.#reaper.close();
    })();
    return this.#stopping;
  }

  /** Same as {@link EnvTest.stop}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Stops the processes that depend on etcd first, then etcd. */
async function stopAll(
  processes: ManagedProcess[],
  graceMs: number,
): Promise<void> {
  await Promise.all(
    processes.filter((p) => p.name !== "etcd").map((p) => p.stop(graceMs)),
  );
  await Promise.all(
    processes.filter((p) => p.name === "etcd").map((p) => p.stop(graceMs)),
  );
}

/**
 * Starts one process and waits until it is ready. Free ports are picked
 * anew and the start retried when the process reports one of them taken
 * (another process bound it between the pick and the start); a fixed port
 * that is taken fails at once.
 */
async function launchUntilReady(
  spec: Launch,
  context: {
    dir: string;
    used: Set<number>;
    started: ManagedProcess[];
    startTimeoutMs: number;
    reaper: Reaper;
  },
): Promise<number[]> {
  const fixed = new Set(
    spec.ports.filter((p): p is number => p !== undefined),
  );
  for (let attempt = 1;; attempt++) {
    const free = await freePorts(
      spec.ports.filter((p) => p === undefined).length,
      new Set([...context.used, ...fixed]),
    );
    const ports = spec.ports.map((p) => p ?? free.shift()!);
    const logFile = join(context.dir, `${spec.component}.log`);
    writeFileSync(logFile, "");
    const child = startProcess({
      name: spec.component,
      binary: spec.binary,
      args: spec.args(ports),
      logFile,
      reaper: context.reaper,
    });
    context.started.push(child);
    const ready = await waitUntilReady(child, {
      spec,
      ports,
      startTimeoutMs: context.startTimeoutMs,
    });
    if (ready) {
      for (const port of ports) context.used.add(port);
      return ports;
    }
    const status = await child.exited;
    context.started.splice(context.started.indexOf(child), 1);
    const tail = child.logTail(TAIL_LINES);
    const reported = takenPort(tail);
    const taken = reported !== undefined && ports.includes(reported)
      ? reported
      : undefined;
    if (taken !== undefined && !fixed.has(taken) && attempt < PORT_ATTEMPTS) {
      continue;
    }
    throw exitedError(spec, {
      status,
      tail,
      taken,
      fixed: taken !== undefined && fixed.has(taken),
      attempt,
    });
  }
}

/**
 * Probes `child` every 100 ms until it is ready (true) or has exited
 * (false); throws when it is neither by the deadline.
 */
async function waitUntilReady(
  child: ManagedProcess,
  init: { spec: Launch; ports: number[]; startTimeoutMs: number },
): Promise<boolean> {
  const { spec, ports } = init;
  const deadline = performance.now() + init.startTimeoutMs;
  let last: ProbeResult | undefined;
  while (child.status === null) {
    const answer = await spec.ready(ports);
    if (answer.ok && child.status === null) return true;
    last = answer;
    if (child.status !== null) break;
    if (performance.now() >= deadline) {
      throw new ControlPlaneError(
        `Expected ${spec.component} to be ready within ${init.startTimeoutMs} ms, ` +
          `but it was not (its health check last answered ${
            last.status === 0
              ? `nothing: ${last.text}`
              : `${last.status}: ${oneLine(last.text)}`
          })`,
        {
          component: spec.component,
          reason: "not-ready",
          binary: spec.binary,
          logTail: child.logTail(TAIL_LINES),
        },
      );
    }
    await pause(100, child.exited);
  }
  return false;
}

/**
 * Why a process exited before it was ready: one of its ports was taken
 * (`taken`; `fixed` when that port was asked for), or else its exit.
 */
function exitedError(
  spec: Launch,
  exit: {
    status: ExitStatus;
    tail: string[];
    taken: number | undefined;
    fixed: boolean;
    attempt: number;
  },
): ControlPlaneError {
  if (exit.taken !== undefined) {
    return new ControlPlaneError(
      `Expected port ${exit.taken} on 127.0.0.1 to be free for ${spec.component}, ` +
        `but it is taken${
          exit.fixed ? "" : ` (${exit.attempt} free ports tried)`
        }`,
      {
        component: spec.component,
        reason: "port-taken",
        binary: spec.binary,
        port: exit.taken,
        logTail: exit.tail,
      },
    );
  }
  return new ControlPlaneError(
    `Expected ${spec.component} to keep running until ready, but it ${
      describeExit(exit.status)
    }`,
    {
      component: spec.component,
      reason: "exited",
      binary: spec.binary,
      logTail: exit.tail,
    },
  );
}

/** A health answer on one line; of `/readyz`'s list, only the failed checks. */
function oneLine(text: string): string {
  const failed = text.split("\n").filter((line) => line.startsWith("[-]"));
  const flat = (failed.length > 0 ? failed.join(", ") : text)
    .replace(/\s+/g, " ").trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}
