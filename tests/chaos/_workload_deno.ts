/**
 * The chaos run's workload: Website spec changes, tampering with the
 * children and deletions, one at a time, drawn from the run's seed.
 *
 * @module
 */
import {
  isApiError,
  type KubeClient,
  type KubeObject,
} from "../../controller/mod.ts";
import { Website } from "../../examples/resources.ts";
import {
  childNames,
  configMaps,
  deployments,
  websites,
} from "../../examples/website.ts";
import { below } from "../../testing/raft/random.ts";
import { FOREIGN_CONDITION } from "./_invariants.ts";

/** The namespace of the chaos run's Websites. */
export const NAMESPACE = "default";
interface SiteRecord {
  deleted: boolean;
  foreign: boolean;
}

/** Spec changes, tampering and deletions, one at a time, from a seed. */
export class Workload {
  readonly sites = new Map<string, SiteRecord>();
  readonly counts: Record<string, number> = {};
  #next = 0;
  readonly #client: KubeClient;
  readonly #random: () => number;

  constructor(client: KubeClient, random: () => number) {
    this.#client = client;
    this.#random = random;
  }

  live(): string[] {
    return [...this.sites].filter(([, s]) => !s.deleted).map(([n]) => n);
  }

  #count(op: string, ok: boolean): void {
    const key = `${op}${ok ? "" : " failed"}`;
    this.counts[key] = (this.counts[key] ?? 0) + 1;
  }

  #spec(name: string): Record<string, unknown> {
    const r = this.#random;
    return {
      domain: `${name}.example.com`,
      image: `nginx:1.${20 + below(r, 8)}`,
      replicas: 1 + below(r, 5),
      ...(r() < 0.5 ? { tier: r() < 0.5 ? "free" : "pro" } : {}),
      ...(r() < 0.5 ? { env: { MODE: `m${below(r, 4)}` } } : {}),
    };
  }

  async create(): Promise<void> {
    const name = `site-${this.#next++}`;
    this.sites.set(name, { deleted: false, foreign: false });
    await this.#client.create(websites, {
      apiVersion: Website.apiVersion,
      kind: Website.kind,
      metadata: { name, namespace: NAMESPACE },
      spec: this.#spec(name),
    } as KubeObject);
  }

  async #change(name: string): Promise<KubeObject> {
    const r = this.#random;
    const changes: Record<string, unknown>[] = [
      { replicas: 1 + below(r, 5) },
      { image: `nginx:1.${20 + below(r, 8)}` },
      { domain: `${name}-${below(r, 100)}.example.com` },
      { env: { MODE: `m${below(r, 4)}` } },
      { tier: r() < 0.5 ? "free" : "pro" },
    ];
    return await this.#client.patch(websites, name, {
      spec: changes[below(r, changes.length)],
    }, { namespace: NAMESPACE });
  }

  /** One operation; failures (injected faults) are counted, not thrown. */
  async step(): Promise<void> {
    const r = this.#random;
    const live = this.live();
    const pick = () => live[below(r, live.length)];
    const roll = r();
    let op: string;
    let run: () => Promise<unknown>;
    if (live.length < 4 || (roll < 0.2 && live.length < 24)) {
      op = "create";
      run = () => this.create();
    } else if (roll < 0.55) {
      const name = pick();
      op = "change spec";
      run = () => this.#change(name);
    } else if (roll < 0.65) {
      const name = pick();
      op = "delete";
      this.sites.get(name)!.deleted = true;
      run = () => this.#client.delete(websites, name, { namespace: NAMESPACE });
    } else if (roll < 0.85) {
      const name = pick();
      const { configMap, deployment } = childNames({
        metadata: { name },
      } as Website);
      const tamper = below(r, 3);
      op = ["tamper ConfigMap data", "delete Deployment", "orphan ConfigMap"][
        tamper
      ];
      run = () =>
        tamper === 0
          ? this.#client.patch(configMaps, configMap, {
            data: { DOMAIN: "tampered.example.com" },
          }, { namespace: NAMESPACE })
          : tamper === 1
          ? this.#client.delete(deployments, deployment, {
            namespace: NAMESPACE,
          })
          : this.#client.patch(configMaps, configMap, {
            metadata: { ownerReferences: null },
          }, { namespace: NAMESPACE });
    } else {
      const name = pick();
      op = "change spec, then add a foreign condition";
      run = () => this.#foreign(name);
    }
    try {
      await run();
      this.#count(op, true);
    } catch (error) {
      if (!isApiError(error) && !(error instanceof DOMException)) {
        this.#count(`${op}: ${(error as Error).name}`, false);
      } else this.#count(op, false);
    }
  }

  /**
   * A spec change, then at once a status condition of another writer,
   * appended by a JSON Patch that tests the resourceVersion it read (so
   * this writer never drops the operator's conditions).
   */
  async #foreign(name: string): Promise<void> {
    const site = await this.#change(name) as Website;
    const conditions = site.status?.conditions;
    if (
      !Array.isArray(conditions) ||
      conditions.some((c) => c.type === FOREIGN_CONDITION)
    ) return;
    await this.#client.patch(websites, name, [
      {
        op: "test",
        path: "/metadata/resourceVersion",
        value: site.metadata.resourceVersion,
      },
      {
        op: "add",
        path: "/status/conditions/-",
        value: {
          type: FOREIGN_CONDITION,
          status: "True",
          reason: "Probed",
          message: "written by the chaos workload",
          lastTransitionTime: new Date().toISOString(),
        },
      },
    ], { namespace: NAMESPACE, type: "json", subresource: "status" });
    this.sites.get(name)!.foreign = true;
  }
}
