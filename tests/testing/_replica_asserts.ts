/**
 * Checks of the Website operator's replicas that the replica harness and
 * the single-executable tests share: who reconciled, and a SIGTERM
 * handover.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Leader, Replicas } from "../../testing/mod.ts";
import type { Website } from "../../examples/resources.ts";

/** The replica that last reconciled `site`, and in which term, from its Reconciled condition (-1 for none). */
export function reconciledIn(site: Website): { replica: number; term: number } {
  const condition = site.status?.conditions?.find((c) =>
    c.type === "Reconciled"
  );
  const match = /by replica (\d+) in term (\d+)/.exec(condition?.message ?? "");
  return match
    ? { replica: Number(match[1]), term: Number(match[2]) }
    : { replica: -1, term: -1 };
}

/** The replica that last reconciled `site`, or -1. */
export function reconciledBy(site: Website): number {
  return reconciledIn(site).replica;
}

/**
 * Asserts that the replica that reconciled `site` led the term its
 * condition names, as that replica's log says. Not necessarily the leader
 * the test saw first: on a loaded machine leadership can move between
 * `waitForLeader` and the reconcile.
 */
export function assertReconciledByLeader(
  replicas: Replicas,
  site: Website,
): void {
  const { replica, term } = reconciledIn(site);
  assert.ok(
    replica >= 0 &&
      replicas.logs(replica).some((l) =>
        l.message === "role changed" && l.fields.role === "leader" &&
        l.fields.term === term
      ),
    `Expected replica ${replica} to have led term ${term}, in which it reconciled`,
  );
}

/**
 * Asserts that `leader`, stopped with SIGTERM, logged that it handed
 * leadership over, and that the replica it handed to logged leading in a
 * later term. That replica need not lead still: on a loaded machine it can
 * lose leadership again before the harness sees a majority follow it, and
 * then the other one leads.
 */
export function assertHandedOver(replicas: Replicas, leader: Leader): void {
  const handover = replicas.logs(leader.id).find((l) =>
    l.message === "handed leadership over"
  );
  assert.ok(handover !== undefined, "the stopped leader logged its handover");
  const to = handover.fields.to as number;
  assert.notEqual(to, leader.id);
  assert.ok(
    replicas.logs(to).some((l) =>
      l.message === "role changed" && l.fields.role === "leader" &&
      (l.fields.term as number) > leader.term
    ),
    `replica ${to}, handed leadership, led in a term above ${leader.term}`,
  );
}
