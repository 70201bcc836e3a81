/**
 * Membership arithmetic: checking and applying single-server changes to a
 * {@linkcode ConfState}.
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
];

/** `true` for a non-negative safe integer. */
export function isNodeId(value: unknown): value is NodeId {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
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
  const { type, nodeId } = value as Record<string, unknown>;
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
  return { type: type as ConfChange["type"], nodeId };
}

/** A copy of `conf`. */
export function copyConf(conf: ConfState): ConfState {
  return { voters: conf.voters.slice(), learners: conf.learners.slice() };
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
      if (!voter && !learner) {
        return `Expected node ${id} to be a member to remove, found it absent`;
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
  if (change.type === "addLearner") learners.push(id);
  if (change.type === "addVoter" || change.type === "promote") voters.push(id);
  return { voters, learners };
}
