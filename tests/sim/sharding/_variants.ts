/**
 * The grant state machines the sharding simulator can run: the real ones,
 * and deliberately broken variants that exist to prove the checker has
 * teeth. Each breaks one rule of the protocol through the protected hooks
 * `GrantHolder` and `GrantIssuer` keep for this purpose.
 *
 * @module
 */
import {
  GrantHolder,
  GrantIssuer,
  type GrantRecord,
} from "../../../sharding/mod.ts";

/** Moves a shard at once: another holder's grant counts as ended. */
export class ReassignWithoutWait extends GrantIssuer {
  protected override recordEnded(_record: GrantRecord, _now: number): boolean {
    return true;
  }
}

/** A new leader grants at once, without waiting out its predecessors' grants. */
export class NewLeaderNoWait extends GrantIssuer {
  protected override waitUntil(): number {
    return this.leaderSince;
  }
}

/** Counts a grant only for `grantMs` on the leader: no drift or granularity allowance. */
export class NoDriftAllowance extends GrantIssuer {
  protected override holdMs(): number {
    return this.timing.grantMs;
  }

  protected override waitUntil(): number {
    return this.leaderSince + this.timing.grantMs;
  }
}

/** Never grants anything (safe, but no shard is ever reconciled): liveness must catch it. */
export class NeverGrants extends GrantIssuer {
  protected override waitUntil(): number {
    return Infinity;
  }
}

/** The holder counts its grant from the grant's arrival, not the request's send. */
export class HolderFromReceipt extends GrantHolder {
  protected override validFrom(_sentAt: number, receivedAt: number): number {
    return receivedAt;
  }
}

/** What a variant changes. */
export interface Variant {
  /** The holder class. */
  holder: typeof GrantHolder;
  /** The issuer class. */
  issuer: typeof GrantIssuer;
  /** The leader grants whether or not it holds its Raft lease. */
  ignoreLease: boolean;
}

const REAL: Variant = {
  holder: GrantHolder,
  issuer: GrantIssuer,
  ignoreLease: false,
};

/** Every variant by name (`--variant NAME`). */
export const VARIANTS: Record<string, Variant> = {
  real: REAL,
  "reassign-without-wait": { ...REAL, issuer: ReassignWithoutWait },
  "new-leader-no-wait": { ...REAL, issuer: NewLeaderNoWait },
  "holder-from-receipt": { ...REAL, holder: HolderFromReceipt },
  "no-drift-allowance": { ...REAL, issuer: NoDriftAllowance },
  "grant-without-lease": { ...REAL, ignoreLease: true },
  "never-grants": { ...REAL, issuer: NeverGrants },
};
