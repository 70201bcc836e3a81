/**
 * Peers from the DNS records of a headless Service: SRV records naming each
 * pod (`_raft._tcp.<service>.<namespace>.svc.cluster.local`), A/AAAA records
 * of the Service, and the per-pod names a StatefulSet guarantees.
 *
 * @module
 */
import { resolveDns } from "../platform/mod.ts";
import type { ResolveOptions, SrvRecord } from "../platform/types.ts";
import type { NodeId } from "../common/leadership.ts";
import {
  comparePeers,
  formatAddress,
  fullyQualified,
  isHostName,
  requireDnsLabel,
  requireDnsName,
  requirePort,
  splitOrdinal,
  withoutTrailingDot,
} from "./_names.ts";
import { DiscoveryConfigError, DnsResolutionError } from "./errors.ts";
import type { Discovery, Peer, ResolvePeersOptions } from "./peer.ts";

export type {
  DnsRecordType,
  ResolveOptions,
  SrvRecord,
} from "../platform/types.ts";

/**
 * A DNS lookup function with the shape of the platform's `resolveDns`.
 * Inject one in tests; the default asks the system resolver (or
 * `nameServer`). "No such records" must be reported by throwing an error
 * named `NotFound` (Deno) or with code `ENOTFOUND`/`ENODATA` (Node).
 *
 * @example A fixed answer for tests
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DnsResolver, HeadlessServiceDiscovery } from "@k8s-operator/k8s-operator/discovery";
 * const resolver = ((_name: string, type: string) =>
 *   Promise.resolve(type === "A" ? ["10.0.0.1"] : [])) as DnsResolver;
 * const discovery = new HeadlessServiceDiscovery({ service: "raft", namespace: "ops", port: 7000, resolver });
 * assert.equal((await discovery.resolve())[0].address, "10.0.0.1:7000");
 * ```
 */
export interface DnsResolver {
  /** A or AAAA records: addresses. */
  (
    name: string,
    type: "A" | "AAAA",
    options?: ResolveOptions,
  ): Promise<string[]>;
  /** SRV records. */
  (name: string, type: "SRV", options?: ResolveOptions): Promise<SrvRecord[]>;
}

/**
 * How to find the peers behind a headless Service.
 *
 * @example
 * ```ts
 * import type { HeadlessServiceOptions } from "@k8s-operator/k8s-operator/discovery";
 * const options: HeadlessServiceOptions = {
 *   service: "my-op-raft",
 *   namespace: "ops",
 *   port: 7000,
 *   refreshIntervalMs: 2000,
 * };
 * ```
 */
export interface HeadlessServiceOptions {
  /** The headless Service's name. */
  service: string;
  /** Its namespace. */
  namespace: string;
  /** The Raft port: used for per-ordinal addresses and address-only answers. */
  port: number;
  /**
   * The StatefulSet whose pods are the peers. When given, only SRV targets
   * named `<statefulSet>-<ordinal>` get a node id, so pods of another set
   * behind the same Service cannot claim one. Default: any `<name>-<ordinal>`.
   */
  statefulSet?: string;
  /** The name of the Service port, queried as `_<portName>._tcp` (default `raft`). */
  portName?: string;
  /** The cluster's DNS domain (default `cluster.local`). */
  clusterDomain?: string;
  /** How often {@linkcode HeadlessServiceDiscovery.watch} resolves again (default 5000 ms). */
  refreshIntervalMs?: number;
  /** Ask this DNS server instead of the system's (tests use one on loopback). */
  nameServer?: { ipAddr: string; port: number };
  /** The DNS lookup to use (default: the platform's `resolveDns`). */
  resolver?: DnsResolver;
}

/**
 * Options of {@linkcode HeadlessServiceDiscovery.watch}.
 *
 * @example
 * ```ts
 * import type { WatchPeersOptions } from "@k8s-operator/k8s-operator/discovery";
 * const stop = new AbortController();
 * const options: WatchPeersOptions = { signal: stop.signal, onError: (e) => console.warn(e) };
 * ```
 */
export interface WatchPeersOptions {
  /** Ends the iteration when aborted. */
  signal?: AbortSignal;
  /**
   * Receives each failed refresh; the watch keeps the last peer set and tries
   * again after the refresh interval. Without it, a failure ends the
   * iteration by throwing.
   */
  onError?: (error: unknown) => void;
}

const STATEFUL_SET = { option: "statefulSet", what: "the StatefulSet name" };

function isNoRecords(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return name === "NotFound" || code === "ENOTFOUND" || code === "ENODATA";
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Discovers the pods of a StatefulSet through its headless Service.
 *
 * {@linkcode HeadlessServiceDiscovery.resolve} asks for the SRV records of
 * the named port; each SRV target is a pod's own name, whose ordinal is its
 * node id. When there are no SRV records (an unnamed port), it falls back to
 * the Service's A/AAAA records, which carry addresses but no node ids. All
 * queries use fully qualified names (a trailing dot), so the pod's DNS search
 * path is never appended. Give the Service `publishNotReadyAddresses: true`:
 * peers must find each other before they are ready.
 *
 * @example Names without DNS
 * ```ts
 * import assert from "node:assert/strict";
 * import { HeadlessServiceDiscovery } from "@k8s-operator/k8s-operator/discovery";
 * const discovery = new HeadlessServiceDiscovery({ service: "raft", namespace: "ops", port: 7000 });
 * assert.equal(discovery.dnsName(), "raft.ops.svc.cluster.local");
 * assert.equal(discovery.discoverByOrdinal("my-op", 2).get(1), "my-op-1.raft.ops.svc.cluster.local.:7000");
 * ```
 *
 * @example Resolving and watching
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DnsResolver, HeadlessServiceDiscovery, type SrvRecord } from "@k8s-operator/k8s-operator/discovery";
 * // The SRV answer of a Service with two ready pods, faked (the default
 * // resolver asks the system's DNS).
 * const srv: SrvRecord[] = [0, 1].map((i) => ({
 *   priority: 0, weight: 50, port: 7000, target: `my-op-${i}.raft.ops.svc.cluster.local.`,
 * }));
 * const resolver = ((_name: string, type: string) => Promise.resolve(type === "SRV" ? srv : [])) as DnsResolver;
 * const discovery = new HeadlessServiceDiscovery({ service: "raft", namespace: "ops", port: 7000, resolver });
 * assert.deepEqual((await discovery.resolve()).map((p) => p.nodeId), [0, 1]);
 * const stop = new AbortController();
 * for await (const peers of discovery.watch({ signal: stop.signal, onError: console.warn })) {
 *   assert.equal(peers.length, 2); // the peer set now, then each time it changes
 *   stop.abort();
 * }
 * ```
 */
export class HeadlessServiceDiscovery implements Discovery {
  /** The headless Service's name. */
  readonly service: string;
  /** Its namespace. */
  readonly namespace: string;
  /** The Raft port. */
  readonly port: number;
  /** The StatefulSet whose pods get node ids, or `null` for any. */
  readonly statefulSet: string | null;
  /** The SRV port name. */
  readonly portName: string;
  /** The cluster DNS domain. */
  readonly clusterDomain: string;
  /** The interval between two resolutions of a watch, in milliseconds. */
  readonly refreshIntervalMs: number;
  readonly #nameServer: { ipAddr: string; port: number } | undefined;
  readonly #resolver: DnsResolver;

  /** Creates the discovery; throws {@linkcode DiscoveryConfigError} on invalid settings. */
  constructor(options: HeadlessServiceOptions) {
    this.service = requireDnsLabel(options.service, {
      option: "service",
      what: "the service name",
    });
    this.namespace = requireDnsLabel(options.namespace, {
      option: "namespace",
      what: "the namespace",
    });
    this.port = requirePort(options.port, { option: "port", what: "the port" });
    this.statefulSet = options.statefulSet === undefined
      ? null
      : requireDnsLabel(options.statefulSet, STATEFUL_SET);
    this.portName = requireDnsLabel(options.portName ?? "raft", {
      option: "portName",
      what: "the port name",
    });
    this.clusterDomain = requireDnsName(
      withoutTrailingDot(options.clusterDomain ?? "cluster.local"),
      { option: "clusterDomain", what: "the cluster domain" },
    );
    const interval = options.refreshIntervalMs ?? 5000;
    if (!Number.isFinite(interval) || interval <= 0) {
      throw DiscoveryConfigError.option("the refresh interval", {
        option: "refreshIntervalMs",
        value: interval,
        expected: "a positive number of milliseconds",
      });
    }
    this.refreshIntervalMs = interval;
    this.#nameServer = options.nameServer;
    this.#resolver = options.resolver ?? resolveDns;
  }

  /**
   * The Service's DNS name, `service.namespace.svc.<clusterDomain>`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { HeadlessServiceDiscovery } from "@k8s-operator/k8s-operator/discovery";
   * const d = new HeadlessServiceDiscovery({ service: "raft", namespace: "ops", port: 7000 });
   * assert.equal(d.dnsName(), "raft.ops.svc.cluster.local");
   * ```
   */
  dnsName(): string {
    return `${this.service}.${this.namespace}.svc.${this.clusterDomain}`;
  }

  /**
   * The stable address of every pod of a StatefulSet governed by this
   * Service: node id → `name-i.service.namespace.svc.<domain>.:port`, for
   * `i` in `0..replicas-1`. No DNS query is made; this is the fixed initial
   * membership every pod agrees on. The names are fully qualified (a
   * trailing dot), so a lookup asks for that name only: without the dot,
   * the pod's `ndots:5` search path turned every lookup of a missing pod
   * into one A and one AAAA query per search domain.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { HeadlessServiceDiscovery } from "@k8s-operator/k8s-operator/discovery";
   * const d = new HeadlessServiceDiscovery({ service: "raft", namespace: "ops", port: 7000 });
   * assert.deepEqual([...d.discoverByOrdinal("my-op", 3).values()], [
   *   "my-op-0.raft.ops.svc.cluster.local.:7000",
   *   "my-op-1.raft.ops.svc.cluster.local.:7000",
   *   "my-op-2.raft.ops.svc.cluster.local.:7000",
   * ]);
   * ```
   */
  discoverByOrdinal(
    statefulSet: string,
    replicas: number,
  ): Map<NodeId, string> {
    requireDnsLabel(statefulSet, STATEFUL_SET);
    if (!Number.isSafeInteger(replicas) || replicas < 1) {
      throw new DiscoveryConfigError(
        `Expected the replica count to be a positive integer, found ${replicas}`,
      );
    }
    const longest = `${statefulSet}-${replicas - 1}`;
    if (longest.length > 63) {
      throw new DiscoveryConfigError(
        `Expected pod names of at most 63 characters, found ${
          JSON.stringify(longest)
        }`,
      );
    }
    const peers = new Map<NodeId, string>();
    for (let i = 0; i < replicas; i++) {
      peers.set(
        i,
        formatAddress(
          fullyQualified(`${statefulSet}-${i}.${this.dnsName()}`),
          this.port,
        ),
      );
    }
    return peers;
  }

  /**
   * Asks DNS for the peers now. SRV targets become peers with the SRV port
   * and the node id from the target's ordinal, with their own A/AAAA
   * addresses; without SRV records, each A/AAAA address of the Service is a
   * peer on the configured port with node id `null`. No records at all
   * gives an empty list; any other DNS failure throws
   * {@linkcode DnsResolutionError}.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { type DnsResolver, HeadlessServiceDiscovery } from "@k8s-operator/k8s-operator/discovery";
   * // No SRV records, two addresses (faked; by default the system's DNS answers).
   * const resolver = ((_name: string, type: string) =>
   *   Promise.resolve(type === "A" ? ["10.0.0.2", "10.0.0.1"] : [])) as DnsResolver;
   * const peers = await new HeadlessServiceDiscovery({ service: "raft", namespace: "ops", port: 7000, resolver }).resolve();
   * assert.deepEqual(peers.map((p) => [p.nodeId, p.address]), [[null, "10.0.0.1:7000"], [null, "10.0.0.2:7000"]]);
   * ```
   */
  async resolve(options: ResolvePeersOptions = {}): Promise<Peer[]> {
    const name = fullyQualified(this.dnsName());
    const [srv, v4, v6] = await Promise.all([
      this.#query(`_${this.portName}._tcp.${name}`, "SRV", options.signal),
      this.#query(name, "A", options.signal),
      this.#query(name, "AAAA", options.signal),
    ]);
    const targets = new Map<string, SrvRecord>();
    for (const record of srv) {
      const host = withoutTrailingDot(String(record.target)).toLowerCase();
      if (host === "" || !isHostName(host)) continue;
      if (
        !Number.isInteger(record.port) || record.port < 1 || record.port > 65535
      ) continue;
      if (!targets.has(host)) targets.set(host, record);
    }
    if (targets.size > 0) {
      const peers = await Promise.all(
        [...targets].map(async ([host, record]): Promise<Peer> => {
          const fqdn = fullyQualified(host);
          const [a, aaaa] = await Promise.all([
            this.#query(fqdn, "A", options.signal),
            this.#query(fqdn, "AAAA", options.signal),
          ]);
          return {
            nodeId: this.#ordinalOf(host),
            host,
            port: record.port,
            address: formatAddress(fqdn, record.port),
            addresses: [...a, ...aaaa],
          };
        }),
      );
      return peers.sort(comparePeers);
    }
    const ips = [...new Set([...v4, ...v6])];
    return ips.map((ip): Peer => ({
      nodeId: null,
      host: ip,
      port: this.port,
      address: formatAddress(ip, this.port),
      addresses: [ip],
    })).sort(comparePeers);
  }

  /**
   * Resolves now and then every `refreshIntervalMs`, yielding the peer set
   * first and then each time it changes. Ends when `signal` aborts.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { type DnsResolver, HeadlessServiceDiscovery } from "@k8s-operator/k8s-operator/discovery";
   * let answer = ["10.0.0.1"]; // a faked DNS whose answer changes
   * const resolver = ((_name: string, type: string) => Promise.resolve(type === "A" ? answer : [])) as DnsResolver;
   * const discovery = new HeadlessServiceDiscovery({
   *   service: "raft", namespace: "ops", port: 7000, resolver, refreshIntervalMs: 1,
   * });
   * const stop = new AbortController();
   * const sizes: number[] = [];
   * for await (const peers of discovery.watch({ signal: stop.signal })) {
   *   sizes.push(peers.length);
   *   if (sizes.length === 1) answer = ["10.0.0.1", "10.0.0.2"]; // a pod joins
   *   else stop.abort();
   * }
   * assert.deepEqual(sizes, [1, 2]);
   * ```
   */
  async *watch(
    options: WatchPeersOptions = {},
  ): AsyncGenerator<Peer[], void, void> {
    const { signal, onError } = options;
    let last: string | null = null;
    while (!signal?.aborted) {
      try {
        const peers = await this.resolve({ signal });
        const key = JSON.stringify(peers);
        if (key !== last) {
          last = key;
          yield peers;
        }
      } catch (error) {
        if (signal?.aborted) return;
        if (onError === undefined) throw error;
        onError(error);
      }
      await delay(this.refreshIntervalMs, signal);
    }
  }

  #ordinalOf(host: string): NodeId | null {
    const [first, ...rest] = host.split(".");
    if (rest.join(".") !== this.dnsName()) return null;
    const parts = splitOrdinal(first);
    if (parts === null) return null;
    if (this.statefulSet !== null && parts.statefulSet !== this.statefulSet) {
      return null;
    }
    return parts.ordinal;
  }

  async #query(
    name: string,
    type: "SRV",
    signal: AbortSignal | undefined,
  ): Promise<SrvRecord[]>;
  async #query(
    name: string,
    type: "A" | "AAAA",
    signal: AbortSignal | undefined,
  ): Promise<string[]>;
  async #query(
    name: string,
    type: "A" | "AAAA" | "SRV",
    signal: AbortSignal | undefined,
  ): Promise<string[] | SrvRecord[]> {
    const options: ResolveOptions = { nameServer: this.#nameServer, signal };
    try {
      // Two calls, so that each picks its overload of the resolver.
      const answer = type === "SRV"
        ? await this.#resolver(name, type, options)
        : await this.#resolver(name, type, options);
      return Array.isArray(answer) ? answer : [];
    } catch (error) {
      if (isNoRecords(error)) return [];
      throw new DnsResolutionError(name, type, error);
    }
  }
}
