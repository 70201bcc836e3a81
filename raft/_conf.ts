/**
 * Membership arithmetic: checking and applying single-server changes to a
 * {@linkcode ConfState}, and the incarnations it records.
 *
 * @module
 */
import { ConfChangeError } from "./errors.ts";
import type { ConfChange, ConfState, NodeId } from "./types.ts";

const CHANGE_TYPES: readonly ConfChange["type"][] = [
  "addLearner",
  "promote",
  "addVoter",
  "remove",
  "rejoin",
];

/** `true` for a non-negative safe integer. */
export function isNodeId(value: unknown): value is NodeId {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** `true` for a positive safe integer: a storage's incarnation. */
export function isIncarnation(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

/** Checks the shape of a change, returning it typed. */
export function checkConfChange(value: unknown): ConfChange {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfChangeError(
      `Expected a conf change object {type, nodeId}, found ${
        value === null
          ? "null"
          : Array.isArray(value)
          ? "an array"
          : typeof value
      }`,
    );
  }
  const { type, nodeId, incarnation } = value as Record<string, unknown>;
  if (!CHANGE_TYPES.includes(type as ConfChange["type"])) {
    throw new ConfChangeError(
      `Expected a conf change type of ${CHANGE_TYPES.join(", ")}, found ${
        JSON.stringify(type) ?? "nothing"
      }`,
    );
  }
  if (!isNodeId(nodeId)) {
    throw new ConfChangeError(
      `Expected a conf change node id to be a non-negative safe integer, found ${
        JSON.stringify(nodeId) ?? "nothing"
      }`,
    );
  }
  if (incarnation !== undefined && !isIncarnation(incarnation)) {
    throw new ConfChangeError(
      `Expected a conf change incarnation to be a positive safe integer, found ${
        JSON.stringify(incarnation)
      }`,
    );
  }
  if (type === "rejoin" && incarnation === undefined) {
    throw new ConfChangeError(
      `Expected a rejoin of node ${nodeId} to name its new incarnation, found none`,
    );
  }
  const change: ConfChange = { type: type as ConfChange["type"], nodeId };
  if (incarnation !== undefined) change.incarnation = incarnation;
  return change;
}

/** The incarnation `conf` records for `id`, 0 when none. */
export function incarnationOf(conf: ConfState, id: NodeId): number {
  return conf.incarnations?.[id] ?? 0;
}

/** A copy of `conf`, incarnations sorted by node id. */
export function copyConf(conf: ConfState): ConfState {
  const copy: ConfState = {
    voters: conf.voters.slice(),
    learners: conf.learners.slice(),
  };
  if (conf.incarnations !== undefined) {
    const incarnations: Record<NodeId, number> = {};
    for (const [id, n] of sortedIncarnations(conf)) incarnations[id] = n;
    copy.incarnations = incarnations;
  }
  return copy;
}

/** The recorded incarnations of `conf` as `[id, incarnation]`, by id. */
export function sortedIncarnations(conf: ConfState): [NodeId, number][] {
  return Object.entries(conf.incarnations ?? {})
    .map(([id, n]): [NodeId, number] => [Number(id), n])
    .sort((a, b) => a[0] - b[0]);
}

/**
 * Why `change` cannot apply to `conf`, or `null` when it can. A leader
 * refuses such a change; a follower applies one it finds in its log as a
 * no-op so that every node computes the same membership.
 */
export function confChangeProblem(
  conf: ConfState,
  change: ConfChange,
): string | null {
  const id = change.nodeId;
  const voter = conf.voters.includes(id);
  const learner = conf.learners.includes(id);
  const needsIncarnation = change.type === "promote" ||
    change.type === "addVoter" || change.type === "rejoin";
  if (needsIncarnation && !isIncarnation(change.incarnation)) {
    return `Expected the ${change.type} of node ${id} to name its incarnation, found none`;
  }
  switch (change.type) {
    case "addLearner":
      return voter || learner
        ? `Expected node ${id} not to be a member, found it a ${
          voter ? "voter" : "learner"
        }`
        : null;
    case "addVoter":
      return voter
        ? `Expected node ${id} not to be a voter, found it one`
        : null;
    case "promote":
      return learner
        ? null
        : `Expected node ${id} to be a learner to promote, found it ${
          voter ? "a voter" : "not a member"
        }`;
    case "remove":
    case "rejoin":
      if (!voter && !learner) {
        return `Expected node ${id} to be a member to ${change.type}, found it absent`;
      }
      return voter && conf.voters.length === 1
        ? `Expected at least one voter to remain, found node ${id} the last one`
        : null;
  }
}

/** `conf` after `change`; `conf` itself when the change does not apply. */
export function applyConfChange(
  conf: ConfState,
  change: ConfChange,
): ConfState {
  if (confChangeProblem(conf, change) !== null) return conf;
  const id = change.nodeId;
  const voters = conf.voters.filter((v) => v !== id);
  const learners = conf.learners.filter((v) => v !== id);
  const incarnations: Record<NodeId, number> = { ...conf.incarnations };
  delete incarnations[id];
  switch (change.type) {
    case "addLearner":
      learners.push(id);
      break;
    case "rejoin":
      learners.push(id);
      incarnations[id] = change.incarnation!;
      break;
    case "addVoter":
    case "promote":
      voters.push(id);
      incarnations[id] = change.incarnation!;
      break;
    case "remove":
      break;
  }
  return copyConf({ voters, learners, incarnations });
}
