/**
 * The errors discovery throws: missing or malformed environment, invalid
 * settings and failed DNS queries.
 *
 * @module
 */

/**
 * The base class of every discovery error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DiscoveryError, podIdentityFromEnv } from "@k8s-operator/k8s-operator/discovery";
 * assert.throws(() => podIdentityFromEnv({}), DiscoveryError);
 * ```
 */
export class DiscoveryError extends Error {
  /** Creates the error with a message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A required environment variable is not set (or is empty).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MissingEnvError, podIdentityFromEnv } from "@k8s-operator/k8s-operator/discovery";
 * assert.throws(
 *   () => podIdentityFromEnv({ NAMESPACE: "ops" }),
 *   (error) => error instanceof MissingEnvError && error.variable === "POD_NAME",
 * );
 * ```
 */
export class MissingEnvError extends DiscoveryError {
  /** The variable that is missing. */
  readonly variable: string;

  /** Creates the error for `variable`; `hint` says where its value comes from. */
  constructor(variable: string, hint: string) {
    super(
      `Expected the environment variable ${variable} (${hint}), found it unset`,
    );
    this.variable = variable;
  }
}

/**
 * An environment variable is set but its value has the wrong shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MalformedEnvError, podIdentityFromEnv } from "@k8s-operator/k8s-operator/discovery";
 * assert.throws(
 *   () => podIdentityFromEnv({ POD_NAME: "web", NAMESPACE: "ops" }),
 *   (error) => error instanceof MalformedEnvError && error.variable === "POD_NAME" && error.value === "web",
 * );
 * ```
 */
export class MalformedEnvError extends DiscoveryError {
  /** The variable whose value is malformed. */
  readonly variable: string;
  /** The value found. */
  readonly value: string;

  /** Creates the error; `expected` describes a well-formed value. */
  constructor(variable: string, value: string, expected: string) {
    super(
      `Expected ${variable} to be ${expected}, found ${JSON.stringify(value)}`,
    );
    this.variable = variable;
    this.value = value;
  }
}

/**
 * A setting passed in code is invalid (a name that is not a DNS label, a
 * port out of range, a malformed peer address).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DiscoveryConfigError, HeadlessServiceDiscovery } from "@k8s-operator/k8s-operator/discovery";
 * assert.throws(
 *   () => new HeadlessServiceDiscovery({ service: "Raft!", namespace: "ops", port: 7000 }),
 *   DiscoveryConfigError,
 * );
 * ```
 */
export class DiscoveryConfigError extends DiscoveryError {}

/**
 * A DNS query failed for a reason other than "no such records" (a timeout,
 * an unreachable server, a refused query). The original error is the `cause`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DnsResolutionError } from "@k8s-operator/k8s-operator/discovery";
 * const timedOut = new Error("timed out");
 * const error = new DnsResolutionError("raft.ops.svc.cluster.local.", "A", timedOut);
 * assert.equal(error.cause, timedOut);
 * assert.match(error.message, /raft\.ops\.svc\.cluster\.local\./);
 * ```
 */
export class DnsResolutionError extends DiscoveryError {
  /** The name that was queried. */
  readonly query: string;
  /** The record type that was queried. */
  readonly recordType: string;

  /** Creates the error for one failed query. */
  constructor(query: string, recordType: string, cause: unknown) {
    super(
      `Expected a DNS answer for ${recordType} ${query}, found an error: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.query = query;
    this.recordType = recordType;
  }
}
