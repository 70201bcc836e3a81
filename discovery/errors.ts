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
 * import { DiscoveryError, podIdentityFromEnv } from "@k8s-operator/k8s-operator/discovery";
 * try {
 *   podIdentityFromEnv({});
 * } catch (error) {
 *   console.log(error instanceof DiscoveryError); // true
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
 * import { MissingEnvError, podIdentityFromEnv } from "@k8s-operator/k8s-operator/discovery";
 * try {
 *   podIdentityFromEnv({ NAMESPACE: "ops" });
 * } catch (error) {
 *   if (error instanceof MissingEnvError) console.log(error.variable); // "POD_NAME"
 * }
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
 * import { MalformedEnvError, podIdentityFromEnv } from "@k8s-operator/k8s-operator/discovery";
 * try {
 *   podIdentityFromEnv({ POD_NAME: "web", NAMESPACE: "ops" });
 * } catch (error) {
 *   if (error instanceof MalformedEnvError) console.log(error.variable, error.value); // "POD_NAME" "web"
 * }
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
 * import { DiscoveryConfigError, HeadlessServiceDiscovery } from "@k8s-operator/k8s-operator/discovery";
 * try {
 *   new HeadlessServiceDiscovery({ service: "Raft!", namespace: "ops", port: 7000 });
 * } catch (error) {
 *   console.log(error instanceof DiscoveryConfigError); // true
 * }
 * ```
 */
export class DiscoveryConfigError extends DiscoveryError {}

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
