/**
 * A {@link LeaseLock} over `@kubernetes/client-node`'s CoordinationV1Api,
 * like client-go's `resourcelock.LeaseLock`: it remembers the Lease it last
 * read or wrote and updates with that object's resourceVersion.
 *
 * @module
 */
import {
  ApiException,
  type CoordinationV1Api,
  type V1Lease,
  V1MicroTime,
} from "@kubernetes/client-node";
import type {
  LeaseLock,
  LeaseRecord,
  ObservedLease,
} from "./_lease_elector.ts";

/** Where the Lease lives and who asks. */
export interface ClientLeaseLockOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
}

/** Thrown by `update` before any `get` or `create`, as client-go does. */
export class LeaseNotInitializedError extends Error {
  constructor() {
    super(
      "Expected the Lease to have been read or created before an update, found none",
    );
    this.name = "LeaseNotInitializedError";
  }
}

function recordOf(lease: V1Lease): LeaseRecord {
  const s = lease.spec ?? {};
  const time = (t: unknown) =>
    t === undefined || t === null ? "" : String(
      t instanceof Date ? (t as Date).toISOString() : t,
    );
  return {
    holderIdentity: s.holderIdentity ?? "",
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: time(s.acquireTime),
    renewTime: time(s.renewTime),
    leaseTransitions: s.leaseTransitions ?? 0,
  };
}

function specOf(record: LeaseRecord): NonNullable<V1Lease["spec"]> {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: new V1MicroTime(record.acquireTime),
    renewTime: new V1MicroTime(record.renewTime),
    leaseTransitions: record.leaseTransitions,
  };
}

/** client-go's LeaseLock, spoken through client-node. */
export class ClientLeaseLock implements LeaseLock {
  readonly identity: string;
  readonly #o: ClientLeaseLockOptions;
  #lease: V1Lease | undefined;

  constructor(options: ClientLeaseLockOptions) {
    this.#o = options;
    this.identity = options.identity;
  }

  async get(): Promise<ObservedLease | null> {
    try {
      this.#lease = await this.#o.api.readNamespacedLease({
        name: this.#o.name,
        namespace: this.#o.namespace,
      });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return null;
      throw error;
    }
    const record = recordOf(this.#lease);
    return { record, raw: JSON.stringify(record) };
  }

  async create(record: LeaseRecord): Promise<void> {
    this.#lease = await this.#o.api.createNamespacedLease({
      namespace: this.#o.namespace,
      body: {
        metadata: { name: this.#o.name, namespace: this.#o.namespace },
        spec: specOf(record),
      },
    });
  }

  async update(record: LeaseRecord): Promise<void> {
    if (this.#lease === undefined) throw new LeaseNotInitializedError();
    this.#lease = await this.#o.api.replaceNamespacedLease({
      name: this.#o.name,
      namespace: this.#o.namespace,
      body: { ...this.#lease, spec: specOf(record) },
    });
  }
}
