/**
 * "Hosts" in Linux network namespaces for the real-network tests: one
 * namespace holds a bridge and a dnsmasq that answers the pods' DNS names;
 * every host (the API server, each replica) is a namespace of its own with
 * one IP on a veth into that bridge. Faults are made with the kernel's own
 * tools: a link set down, blackhole routes (both directions), a `prohibit`
 * rule (one direction), a new address. Traffic never leaves the namespaces
 * this run created: the root namespace gets no address and no route.
 *
 * Every name carries this run's id, `kopn-<pid>-<random>`, so parallel runs
 * never collide, and {@linkcode cleanLeftovers} removes what a run whose
 * process is gone left behind (namespaces, their processes, the
 * `/etc/netns/<name>/` directories and the temporary directory).
 * {@linkcode NetLab.destroy} removes everything this run made; it also runs
 * on SIGINT, SIGTERM and process exit.
 *
 * Needs root, `ip` (iproute2) and dnsmasq; {@linkcode netnsSkipReason}
 * tells why a machine cannot run it (it creates and deletes a namespace).
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** What every namespace, `/etc/netns` directory and temp directory of a run starts with. */
export const PREFIX = "kopn-";
/** The cluster domain the DNS server is authoritative for. */
export const CLUSTER_DOMAIN = "cluster.local";
const ETC_NETNS = "/etc/netns";
const DNSMASQ = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"].find((p) =>
  existsSync(p)
);

/** Raised when an `ip` command fails. */
export class NetLabError extends Error {
  /** Creates the error with a message. */
  constructor(message: string) {
    super(message);
    this.name = "NetLabError";
  }
}

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.error) {
    throw new NetLabError(
      `Expected to run ${command} ${
        args.join(" ")
      }, found ${result.error.message}`,
    );
  }
  if (result.status !== 0) {
    throw new NetLabError(
      `Expected ${command} ${
        args.join(" ")
      } to succeed, found exit ${result.status}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

function ip(...args: string[]): string {
  return run("ip", args);
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** The pid in a name of this harness (`<prefix><pid>-…`), or `null`. */
function ownerPid(name: string, prefix: string): number | null {
  if (!name.startsWith(prefix)) return null;
  const match = /^(\d+)-/.exec(name.slice(prefix.length));
  return match ? Number(match[1]) : null;
}

function namespaces(): string[] {
  let out: string;
  try {
    out = ip("netns", "list");
  } catch {
    return [];
  }
  return out.split("\n").map((line) => line.split(" ")[0]).filter((n) =>
    n !== ""
  );
}

function pidsIn(ns: string): number[] {
  try {
    return ip("netns", "pids", ns).split("\n").filter((l) => l.trim() !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** Kills every process in `ns` and waits (up to 5 s) until they are gone. */
function killAllIn(ns: string): void {
  const deadline = Date.now() + 5_000;
  let pids = pidsIn(ns);
  while (pids.length > 0 && Date.now() < deadline) {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    spawnSync("sleep", ["0.02"]);
    pids = pidsIn(ns).filter(alive);
  }
}

function removeNamespace(ns: string): void {
  killAllIn(ns);
  spawnSync("ip", ["netns", "del", ns]);
  rmSync(join(ETC_NETNS, ns), { recursive: true, force: true });
}

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/**
 * The names in `dir`, none when it does not exist: another run may remove
 * `/etc/netns` (once empty) at any moment.
 */
function entriesOf(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return [];
    throw error;
  }
}

/**
 * Writes host namespace `ns`'s `/etc/netns/<ns>/resolv.conf`. Another run
 * removes `/etc/netns` when it finds it empty, which may fall between the
 * making of `/etc/netns` and of `<ns>` in it: that ENOENT (or EEXIST) is
 * retried (once `<ns>` exists, `/etc/netns` is not empty and stays).
 */
export function writeResolvConf(ns: string, text: string): void {
  const dir = join(ETC_NETNS, ns);
  for (let attempt = 1;; attempt++) {
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "resolv.conf"), text);
      return;
    } catch (error) {
      // Deno reports the same race as EEXIST when /etc/netns vanished
      // between its own making of it and the check that it is a folder.
      const code = errorCode(error);
      if ((code !== "ENOENT" && code !== "EEXIST") || attempt >= 20) {
        throw error;
      }
    }
  }
}

/** Removes `/etc/netns/<ns>/`, and `/etc/netns` if that left it empty. */
export function removeResolvConf(ns: string): void {
  rmSync(join(ETC_NETNS, ns), { recursive: true, force: true });
  removeEtcNetnsIfEmpty();
}

function removeEtcNetnsIfEmpty(): void {
  try {
    if (readdirSync(ETC_NETNS).length === 0) rmdirSync(ETC_NETNS);
  } catch {
    // Missing, or another run put something there.
  }
}

/**
 * Removes what runs whose process is gone left behind: namespaces (and
 * their processes), `/etc/netns/kopn-*` and temporary directories. Leaves
 * the live runs' alone. Returns the names it removed.
 */
export function cleanLeftovers(prefix: string = PREFIX): string[] {
  const removed: string[] = [];
  const dead = (name: string) => {
    const pid = ownerPid(name, prefix);
    return pid !== null && !alive(pid);
  };
  for (const ns of namespaces()) {
    if (dead(ns)) {
      removeNamespace(ns);
      removed.push(ns);
    }
  }
  for (const name of entriesOf(ETC_NETNS)) {
    if (dead(name)) {
      rmSync(join(ETC_NETNS, name), { recursive: true, force: true });
      removed.push(`${ETC_NETNS}/${name}`);
    }
  }
  removeEtcNetnsIfEmpty();
  for (const name of readdirSync(tmpdir())) {
    if (dead(name)) {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
      removed.push(join(tmpdir(), name));
    }
  }
  return removed;
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) =>
    b.toString(16).padStart(2, "0")
  ).join("");
}

/**
 * Why this machine cannot run the network-namespace tests, or `false` when
 * it can: it must be Linux with `ip` and dnsmasq, and creating and deleting
 * a namespace must be permitted.
 */
export function netnsSkipReason(): string | false {
  if (process.platform !== "linux") {
    return `network namespaces need Linux, found ${process.platform}`;
  }
  if (DNSMASQ === undefined) {
    return "dnsmasq is not installed (.ci/run installs it with apt-get)";
  }
  const probe = `${PREFIX}${process.pid}-${randomHex(3)}-probe`;
  const added = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (added.error) return `the ip command is missing (${added.error.message})`;
  if (added.status !== 0) {
    return `ip netns add is not permitted here: ${added.stderr.trim()}`;
  }
  const deleted = spawnSync("ip", ["netns", "del", probe], {
    encoding: "utf8",
  });
  if (deleted.status !== 0) {
    return `ip netns del failed: ${deleted.stderr.trim()}`;
  }
  return false;
}

/** One host: a namespace with one address on the bridge. */
export interface Host {
  /** The host's name in the lab (`api`, `r0`, …). */
  readonly name: string;
  /** Its network namespace. */
  readonly ns: string;
  /** Its current IPv4 address. */
  ip: string;
}

/** Options of {@linkcode NetLab.create}. */
export interface NetLabOptions {
  /** The hosts to make, by name; they get `.10`, `.11`, … of the subnet. */
  hosts: readonly string[];
  /** The search domains of the hosts' resolv.conf (first one first). */
  search?: readonly string[];
  /**
   * What this run's names start with (default {@linkcode PREFIX}). The
   * cleanup tests use their own, so that no other run sweeps what they
   * leave on purpose.
   */
  prefix?: string;
}

/** Options of {@linkcode NetLab.spawn}. */
export interface SpawnOptions {
  /** The child's environment (default: this process's). */
  env?: Record<string, string | undefined>;
}

/**
 * A bridge, a DNS server and hosts in network namespaces of this run.
 *
 * @example
 * ```ts ignore
 * const lab = NetLab.create({ hosts: ["api", "r0", "r1", "r2"] });
 * try {
 *   lab.setRecord("op-0.svc.ops.svc.cluster.local", lab.host("r0").ip);
 *   const child = lab.spawn("r0", "deno", ["run", "-A", "replica.ts"]);
 *   lab.linkDown("r0");
 * } finally {
 *   lab.destroy();
 * }
 * ```
 */
export class NetLab {
  /** This run's id: `kopn-<pid>-<random>`. */
  readonly id: string;
  /** The first three octets of the lab's /24. */
  readonly subnet: string;
  /** The DNS server's address (the bridge's). */
  readonly dnsIp: string;
  /** A temporary directory of this run. */
  readonly dir: string;
  /** The namespace of the bridge and the DNS server. */
  readonly bridgeNs: string;
  readonly #hosts = new Map<string, Host>();
  readonly #namespaces: string[] = [];
  readonly #children = new Set<ChildProcess>();
  readonly #records = new Map<string, string>();
  readonly #undo: string[][] = [];
  readonly #nextHost: { octet: number } = { octet: 10 };
  #dnsmasq: ChildProcess | null = null;
  #destroyed = false;
  readonly #onSignal: () => void;
  readonly #onExit: () => void;

  private constructor(id: string, subnet: string, dir: string) {
    this.id = id;
    this.subnet = subnet;
    this.dnsIp = `${subnet}.1`;
    this.dir = dir;
    this.bridgeNs = `${id}-net`;
    this.#onSignal = () => {
      this.destroy();
      process.exit(130);
    };
    this.#onExit = () => this.destroy();
    process.on("SIGINT", this.#onSignal);
    process.on("SIGTERM", this.#onSignal);
    process.on("exit", this.#onExit);
  }

  /**
   * Makes the bridge namespace with dnsmasq, and one namespace per host.
   * Cleans leftovers of dead runs first. On any failure it removes what it
   * made and throws.
   */
  static async create(options: NetLabOptions): Promise<NetLab> {
    cleanLeftovers();
    const id = `${options.prefix ?? PREFIX}${process.pid}-${randomHex(3)}`;
    const dir = mkdtempSync(join(tmpdir(), `${id}-`));
    chmodSync(dir, 0o755);
    const subnet = `10.77.${crypto.getRandomValues(new Uint8Array(1))[0]}`;
    const lab = new NetLab(id, subnet, dir);
    try {
      lab.#addNamespace(lab.bridgeNs);
      ip("-n", lab.bridgeNs, "link", "set", "lo", "up");
      ip("-n", lab.bridgeNs, "link", "add", "br0", "type", "bridge");
      ip("-n", lab.bridgeNs, "addr", "add", `${lab.dnsIp}/24`, "dev", "br0");
      ip("-n", lab.bridgeNs, "link", "set", "br0", "up");
      for (const name of options.hosts) {
        lab.#addHost(name, options.search ?? []);
      }
      await lab.#startDns();
      return lab;
    } catch (error) {
      lab.destroy();
      throw error;
    }
  }

  #addNamespace(ns: string): void {
    this.#namespaces.push(ns);
    ip("netns", "add", ns);
  }

  #addHost(name: string, search: readonly string[]): void {
    const ns = `${this.id}-${name}`;
    const host: Host = {
      name,
      ns,
      ip: `${this.subnet}.${this.#nextHost.octet++}`,
    };
    this.#addNamespace(ns);
    ip("-n", ns, "link", "set", "lo", "up");
    ip(
      "link",
      "add",
      "eth0",
      "netns",
      ns,
      "type",
      "veth",
      "peer",
      "name",
      `v-${name}`,
      "netns",
      this.bridgeNs,
    );
    ip("-n", this.bridgeNs, "link", "set", `v-${name}`, "master", "br0", "up");
    ip("-n", ns, "addr", "add", `${host.ip}/24`, "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
    writeResolvConf(
      ns,
      [
        ...(search.length > 0 ? [`search ${search.join(" ")}`] : []),
        `nameserver ${this.dnsIp}`,
        "options ndots:5",
        "",
      ].join("\n"),
    );
    this.#hosts.set(name, host);
  }

  async #startDns(): Promise<void> {
    this.#writeHosts();
    const child = spawn("ip", [
      "netns",
      "exec",
      this.bridgeNs,
      DNSMASQ!,
      "--keep-in-foreground",
      "--user=root",
      `--listen-address=${this.dnsIp}`,
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      "--conf-file=/dev/null",
      `--addn-hosts=${join(this.dir, "hosts")}`,
      `--local=/${CLUSTER_DOMAIN}/`,
      "--pid-file=",
      "--log-facility=-",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    this.#children.add(child);
    this.#dnsmasq = child;
    await new Promise<void>((resolve, reject) => {
      let log = "";
      const deadline = setTimeout(() => {
        reject(
          new NetLabError(`Expected dnsmasq to start within 10 s: ${log}`),
        );
      }, 10_000);
      child.stderr!.setEncoding("utf8");
      child.stderr!.on("data", (chunk: string) => {
        log += chunk;
        if (log.includes("started, version")) {
          clearTimeout(deadline);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(deadline);
        reject(
          new NetLabError(`Expected dnsmasq to run, it exited ${code}: ${log}`),
        );
      });
    });
  }

  #writeHosts(): void {
    const lines = [...this.#records].map(([name, address]) =>
      `${address} ${name}`
    );
    const path = join(this.dir, "hosts");
    writeFileSync(`${path}.tmp`, lines.join("\n") + "\n", { mode: 0o644 });
    spawnSync("mv", [`${path}.tmp`, path]);
  }

  /** The host named `name`. */
  host(name: string): Host {
    const host = this.#hosts.get(name);
    if (!host) throw new NetLabError(`Expected a host ${name}, found none`);
    return host;
  }

  /** Every host, in the order they were made. */
  hosts(): Host[] {
    return [...this.#hosts.values()];
  }

  /** The namespaces this run made (the bridge's first). */
  namespaces(): readonly string[] {
    return this.#namespaces;
  }

  /** The pid of the DNS server. */
  get dnsPid(): number | undefined {
    return this.#dnsmasq?.pid;
  }

  /**
   * Makes `name` resolve to `address` (an A record), or not at all with
   * `null`: rewrites the hosts file and sends dnsmasq SIGHUP, which makes
   * it re-read the file within milliseconds.
   */
  setRecord(name: string, address: string | null): void {
    if (address === null) this.#records.delete(name);
    else this.#records.set(name, address);
    this.#writeHosts();
    // Not ChildProcess.kill: Deno's sends one signal per child at most.
    if (this.#dnsmasq?.pid !== undefined) {
      process.kill(this.#dnsmasq.pid, "SIGHUP");
    }
  }

  /** Starts `command` inside host `name`'s namespace (`ip netns exec`). */
  spawn(
    name: string,
    command: string,
    args: string[],
    options: SpawnOptions = {},
  ): ChildProcess {
    const child = spawn("ip", [
      "netns",
      "exec",
      this.host(name).ns,
      command,
      ...args,
    ], {
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.#children.add(child);
    child.once("exit", () => this.#children.delete(child));
    return child;
  }

  /** Takes host `name`'s link down: nothing reaches it, it reaches nothing. */
  linkDown(name: string): void {
    ip("-n", this.host(name).ns, "link", "set", "eth0", "down");
  }

  /** Brings host `name`'s link (and its route to the subnet) back. */
  linkUp(name: string): void {
    ip("-n", this.host(name).ns, "link", "set", "eth0", "up");
  }

  #routeBlackhole(from: Host, to: Host): void {
    ip("-n", from.ns, "route", "add", "blackhole", `${to.ip}/32`);
    this.#undo.push([
      "-n",
      from.ns,
      "route",
      "del",
      "blackhole",
      `${to.ip}/32`,
    ]);
  }

  /**
   * Cuts `a` from `b` in both directions with blackhole routes on both
   * sides; everything else (DNS, other hosts) still reaches both.
   */
  cut(a: string, b: string): void {
    const ha = this.host(a);
    const hb = this.host(b);
    this.#routeBlackhole(ha, hb);
    this.#routeBlackhole(hb, ha);
  }

  /**
   * Blocks packets from `from` to `to` only (an `ip rule … prohibit` in
   * `from`'s namespace): `from`'s sends to `to` fail at once, and what `to`
   * sends reaches `from`, whose answers are refused at its own door.
   */
  block(from: string, to: string): void {
    const hf = this.host(from);
    const target = `${this.host(to).ip}/32`;
    ip("-n", hf.ns, "rule", "add", "to", target, "prohibit");
    this.#undo.push(["-n", hf.ns, "rule", "del", "to", target, "prohibit"]);
  }

  /** Undoes every {@linkcode NetLab.cut} and {@linkcode NetLab.block}, newest first. */
  heal(): void {
    for (const args of this.#undo.splice(0).reverse()) ip(...args);
  }

  /** Gives host `name` a new address (a rescheduled pod); returns it. */
  changeAddress(name: string): string {
    const host = this.host(name);
    const next = `${this.subnet}.${this.#nextHost.octet++}`;
    ip("-n", host.ns, "addr", "flush", "dev", "eth0");
    ip("-n", host.ns, "addr", "add", `${next}/24`, "dev", "eth0");
    host.ip = next;
    return next;
  }

  /**
   * Removes everything this run made: kills its processes, deletes its
   * namespaces (their veths go with them), `/etc/netns/<ns>/` and its
   * temporary directory. Idempotent, synchronous (it runs on exit too).
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    process.off("SIGINT", this.#onSignal);
    process.off("SIGTERM", this.#onSignal);
    process.off("exit", this.#onExit);
    for (const child of this.#children) child.kill("SIGKILL");
    for (const ns of [...this.#namespaces].reverse()) removeNamespace(ns);
    removeEtcNetnsIfEmpty();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * What of run `id` is still on this machine: namespaces, `/etc/netns`
 * directories, temporary directories (empty when it cleaned up).
 */
export function remainsOf(id: string): string[] {
  const found = namespaces().filter((ns) => ns.startsWith(id));
  for (const name of entriesOf(ETC_NETNS)) {
    if (name.startsWith(id)) found.push(`${ETC_NETNS}/${name}`);
  }
  for (const name of readdirSync(tmpdir())) {
    if (name.startsWith(id)) found.push(join(tmpdir(), name));
  }
  return found;
}
