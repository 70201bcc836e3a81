/**
 * The errors discovery throws: invalid settings and failed DNS queries; and
 * the ones the composition root throws for discovery's environment
 * variables (missing or malformed), which name the variable.
 *
 * @module
 */

/**
 * The base class of every discovery error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DiscoveryError, podIdentity } from "@k8s-operator/k8s-operator/discovery";
 * try {
 *   podIdentity({ podName: "web", namespace: "ops" });
 * } catch (error) {
 *   assert.ok(error instanceof DiscoveryError);
 * }
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
 * import { podIdentityFromEnv } from "@k8s-operator/k8s-operator";
 * import { MissingEnvError } from "@k8s-operator/k8s-operator/discovery";
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
 * import { podIdentityFromEnv } from "@k8s-operator/k8s-operator";
 * import { MalformedEnvError } from "@k8s-operator/k8s-operator/discovery";
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
 * Which option of a typed setting was invalid, so that a caller that took it
 * from elsewhere (the environment) can name its own source.
 *
 * @example
 * ```ts
 * import type { InvalidOption } from "@k8s-operator/k8s-operator/discovery";
 * const invalid: InvalidOption = { option: "podName", value: "web", expected: "a StatefulSet pod name" };
 * ```
 */
export interface InvalidOption {
  /** The option's name, such as `podName` or `replicas`. */
  option: string;
  /** The value found. */
  value: unknown;
  /** What a valid value is, as a phrase ("a DNS label …"). */
  expected: string;
}

/**
 * A setting passed in code is invalid (a name that is not a DNS label, a
 * port out of range, a malformed peer address). `invalid` names the option,
 * the value and what was expected, where one option is at fault.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DiscoveryConfigError, HeadlessServiceDiscovery } from "@k8s-operator/k8s-operator/discovery";
 * assert.throws(
 *   () => new HeadlessServiceDiscovery({ service: "Raft!", namespace: "ops", port: 7000 }),
 *   (error) => error instanceof DiscoveryConfigError && error.invalid?.option === "service",
 * );
 * ```
 */
export class DiscoveryConfigError extends DiscoveryError {
  /** The option at fault, or `null` when the settings disagree as a whole. */
  readonly invalid: InvalidOption | null;

  /** Creates the error; `invalid` names the option at fault. */
  constructor(message: string, invalid?: InvalidOption) {
    super(message);
    this.invalid = invalid ?? null;
  }

  /**
   * The error for one invalid option, worded as every error here:
   * "Expected <what> to be <expected>, found <value>".
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DiscoveryConfigError } from "@k8s-operator/k8s-operator/discovery";
   * const error = DiscoveryConfigError.option("the port", { option: "port", value: 0, expected: "a port from 1 to 65535" });
   * assert.equal(error.message, "Expected the port to be a port from 1 to 65535, found 0");
   * ```
   */
  static option(what: string, invalid: InvalidOption): DiscoveryConfigError {
    return new DiscoveryConfigError(
      `Expected ${what} to be ${invalid.expected}, found ${
        JSON.stringify(invalid.value)
      }`,
      invalid,
    );
  }
}

/**
 * A DNS query failed for a reason other than "no such records" (a timeout,
 * an unreachable server, a refused query). The original error is the `cause`.
 *
 * @example
 * ```ts
 * import { DnsResolutionError } from "@k8s-operator/k8s-operator/discovery";
 * const error = new DnsResolutionError("raft.ops.svc.cluster.local.", "A", new Error("timed out"));
 * console.log(error.message);
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
