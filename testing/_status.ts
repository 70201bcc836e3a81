/**
 * Kubernetes `Status` errors as the API server sends them: an HTTP code, a
 * machine-readable reason, a message, and details naming the object.
 *
 * @module
 */

/** One cause of an `Invalid` error: which field, and what is wrong. */
export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

/** The `details` of a `Status`. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The JSON `Status` object. */
export interface StatusObject {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** A request that fails with a Kubernetes `Status`. */
export class ApiStatusError extends Error {
  /** The HTTP status code. */
  readonly code: number;
  /** The `Status.reason`, e.g. `NotFound`. */
  readonly reason: string;
  /** The `Status.details`. */
  readonly details: StatusDetails | undefined;

  constructor(
    code: number,
    fields: { reason: string; message: string; details?: StatusDetails },
  ) {
    super(fields.message);
    this.name = "ApiStatusError";
    this.code = code;
    this.reason = fields.reason;
    this.details = fields.details;
  }

  /** The `Status` object for the response body (no `reason` when it is empty, as the server sends it). */
  toStatus(): StatusObject {
    const status: StatusObject = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      code: this.code,
    };
    if (this.reason) status.reason = this.reason;
    if (this.details) status.details = this.details;
    return status;
  }
}

/** A resource as errors name it: `configmaps`, `widgets.example.com`. */
export interface ErrorResource {
  group: string;
  plural: string;
}

function qualified(resource: ErrorResource): string {
  return resource.group
    ? `${resource.plural}.${resource.group}`
    : resource.plural;
}

function details(resource: ErrorResource, name: string): StatusDetails {
  const d: StatusDetails = {};
  if (name) d.name = name;
  if (resource.group) d.group = resource.group;
  d.kind = resource.plural;
  return d;
}

/** 404 NotFound. */
export function notFound(
  resource: ErrorResource,
  name: string,
): ApiStatusError {
  return new ApiStatusError(404, {
    reason: "NotFound",
    message: `${qualified(resource)} "${name}" not found`,
    details: details(resource, name),
  });
}

/** 409 AlreadyExists. */
export function alreadyExists(
  resource: ErrorResource,
  name: string,
): ApiStatusError {
  return new ApiStatusError(409, {
    reason: "AlreadyExists",
    message: `${qualified(resource)} "${name}" already exists`,
    details: details(resource, name),
  });
}

/** 409 Conflict. */
export function conflict(
  resource: ErrorResource,
  fields: { name: string; message: string },
): ApiStatusError {
  return new ApiStatusError(409, {
    reason: "Conflict",
    message: `Operation cannot be fulfilled on ${
      qualified(resource)
    } "${fields.name}": ${fields.message}`,
    details: details(resource, fields.name),
  });
}

/** The message of a Conflict on a stale resourceVersion. */
export const STALE_MESSAGE =
  "the object has been modified; please apply your changes to the latest version and try again";

/** 422 Invalid with one cause per field. */
export function invalid(
  target: { kind: string; group: string; name: string },
  causes: StatusCause[],
): ApiStatusError {
  const kind = target.group ? `${target.kind}.${target.group}` : target.kind;
  const list = causes.map((c) =>
    c.field ? `${c.field}: ${c.message}` : c.message
  );
  const summary = list.length === 1 ? list[0] : `[${list.join(", ")}]`;
  const d: StatusDetails = {};
  if (target.name) d.name = target.name;
  if (target.group) d.group = target.group;
  d.kind = target.kind;
  d.causes = causes;
  return new ApiStatusError(422, {
    reason: "Invalid",
    message: `${kind} "${target.name}" is invalid: ${summary}`,
    details: d,
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiStatusError {
  return new ApiStatusError(400, { reason: "BadRequest", message });
}

/** 410 Gone with reason Expired. */
export function expired(message: string): ApiStatusError {
  return new ApiStatusError(410, { reason: "Expired", message });
}

/** 403 Forbidden. */
export function forbidden(
  message: string,
  target?: StatusDetails,
): ApiStatusError {
  return new ApiStatusError(403, {
    reason: "Forbidden",
    message,
    details: target,
  });
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(message: string): ApiStatusError {
  return new ApiStatusError(405, { reason: "MethodNotAllowed", message });
}

/** The reason the real server uses for an HTTP code. */
export function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}
