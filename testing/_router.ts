/**
 * HTTP in, API out: authentication, discovery documents, URL parsing into
 * a target and verb, request bodies and content types, fault injection,
 * and `Status` responses for every error.
 *
 * @module
 */
import { load as loadYaml } from "js-yaml";
import type { ApiCore, ListQuery, PatchType, Target } from "./_api.ts";
import type { FaultInjector, RequestInfo } from "./_faults.ts";
import { STREAMED } from "./_http.ts";
import { managerFromUserAgent } from "./_managed.ts";
import { isObject } from "./_patch.ts";
import { apiVersionOf, type ResourceDef } from "./_resources.ts";
import {
  ApiStatusError,
  badRequest,
  methodNotAllowed,
  reasonForCode,
} from "./_status.ts";
import type { Verb } from "./faults.ts";

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];
const JSON_HEADERS = { "content-type": "application/json" };

/** The server version `/version` reports. */
export const SERVER_VERSION = {
  major: "1",
  minor: "33",
  gitVersion: "v1.33.0+k8s-operator-testing",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2025-04-23T00:00:00Z",
  goVersion: "none",
  compiler: "none",
  platform: "linux/amd64",
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

function statusResponse(error: ApiStatusError): Response {
  const headers: Record<string, string> = { ...JSON_HEADERS };
  const retry = error.details?.retryAfterSeconds;
  if (retry !== undefined) headers["retry-after"] = String(retry);
  return new Response(JSON.stringify(error.toStatus()), {
    status: error.code,
    headers,
  });
}

function notFoundPath(): ApiStatusError {
  return new ApiStatusError(404, {
    reason: "NotFound",
    message: "the server could not find the requested resource",
    details: {},
  });
}

/** What the real server answers for a path no API group serves: plain text. */
function pageNotFound(): Response {
  return new Response("404 page not found\n", {
    status: 404,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

function flag(value: string | null): boolean {
  return value === "true" || value === "1";
}

interface Parsed {
  target: Target;
  verb: Verb;
  watch: boolean;
}

/** Routes requests to the API core. */
export class Router {
  #core: ApiCore;
  #faults: FaultInjector;
  #token: string;
  #sleep: (ms: number) => Promise<void>;

  constructor(
    core: ApiCore,
    options: {
      faults: FaultInjector;
      token: string;
      sleep: (ms: number) => Promise<void>;
    },
  ) {
    this.#core = core;
    this.#faults = options.faults;
    this.#token = options.token;
    this.#sleep = options.sleep;
  }

  /** Handles one HTTP request. */
  async handle(request: Request): Promise<Response> {
    try {
      return await this.#handle(request);
    } catch (error) {
      if (error instanceof ApiStatusError) return statusResponse(error);
      const message = error instanceof Error ? error.message : String(error);
      return statusResponse(
        new ApiStatusError(500, {
          reason: "InternalError",
          message: `Internal error occurred: ${message}`,
        }),
      );
    }
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (path === "/healthz" || path === "/livez" || path === "/readyz") {
      return new Response("ok", { headers: { "content-type": "text/plain" } });
    }
    const auth = request.headers.get("authorization") ?? "";
    if (auth !== `Bearer ${this.#token}`) {
      return statusResponse(
        new ApiStatusError(401, {
          reason: "Unauthorized",
          message: "Unauthorized",
        }),
      );
    }
    await this.#faults.gate();
    if (path === "/version") return json(SERVER_VERSION);
    const segments = path.split("/").filter((s) => s !== "").map(
      decodeURIComponent,
    );
    if (segments[0] === "api") {
      if (segments.length === 1) {
        return json({
          kind: "APIVersions",
          versions: ["v1"],
          serverAddressByClientCIDRs: [{
            clientCIDR: "0.0.0.0/0",
            serverAddress: url.host,
          }],
        });
      }
      return await this.#resource(request, url, {
        group: "",
        rest: segments.slice(1),
      });
    }
    if (segments[0] === "apis") {
      if (segments.length === 1) return json(this.#groupList());
      if (segments.length === 2) {
        const group = this.#group(segments[1]);
        if (!group) return pageNotFound();
        return json({ kind: "APIGroup", apiVersion: "v1", ...group });
      }
      return await this.#resource(request, url, {
        group: segments[1],
        rest: segments.slice(2),
      });
    }
    return pageNotFound();
  }

  #group(name: string) {
    const versions = this.#core.registry.groups().get(name);
    if (!versions || name === "") return undefined;
    const list = versions.map((v) => ({
      groupVersion: `${name}/${v}`,
      version: v,
    }));
    return { name, versions: list, preferredVersion: list[0] };
  }

  #groupList() {
    const groups = [...this.#core.registry.groups().keys()]
      .filter((g) => g !== "")
      .sort()
      .map((g) => this.#group(g));
    return { kind: "APIGroupList", apiVersion: "v1", groups };
  }

  #resourceList(group: string, version: string): unknown {
    const defs = this.#core.registry.all().filter((d) =>
      d.group === group && d.versions.some((v) => v.name === version)
    );
    if (defs.length === 0) throw notFoundPath();
    const resources = defs.sort((a, b) => a.plural.localeCompare(b.plural))
      .flatMap(
        (d) => {
          const entry: Record<string, unknown> = {
            name: d.plural,
            singularName: d.singular,
            namespaced: d.namespaced,
            kind: d.kind,
            verbs: VERBS,
          };
          if (d.shortNames.length) entry.shortNames = d.shortNames;
          if (d.categories.length) entry.categories = d.categories;
          const out: unknown[] = [entry];
          const info = d.versions.find((v) => v.name === version);
          if (info?.status) {
            out.push({
              name: `${d.plural}/status`,
              singularName: "",
              namespaced: d.namespaced,
              kind: d.kind,
              verbs: ["get", "patch", "update"],
            });
          }
          if (info?.scale) {
            out.push({
              name: `${d.plural}/scale`,
              singularName: "",
              namespaced: d.namespaced,
              group: "autoscaling",
              version: "v1",
              kind: "Scale",
              verbs: ["get", "patch", "update"],
            });
          }
          return out;
        },
      );
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: apiVersionOf(group, version),
      resources,
    };
  }

  #parse(
    request: Request,
    url: URL,
    at: { group: string; version: string; rest: string[] },
  ): Parsed {
    let rest = at.rest;
    let watch = flag(url.searchParams.get("watch"));
    if (rest[0] === "watch") {
      watch = true;
      rest = rest.slice(1);
    }
    const registry = this.#core.registry;
    let namespace: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3) {
      const inner = registry.lookup(at.group, at.version, rest[2]);
      if (inner?.def.namespaced) {
        namespace = rest[1];
        rest = rest.slice(2);
      }
    }
    const [plural, name, sub, ...extra] = rest;
    const found = registry.lookup(at.group, at.version, plural);
    if (!found || extra.length > 0) throw notFoundPath();
    const def: ResourceDef = found.def;
    if (namespace !== undefined && !def.namespaced) throw notFoundPath();
    if (def.namespaced && name !== undefined && namespace === undefined) {
      throw notFoundPath();
    }
    let subresource: "status" | "scale" | undefined;
    if (sub !== undefined) {
      if (sub === "status" && found.version.status) subresource = "status";
      else if (sub === "scale" && found.version.scale) subresource = "scale";
      else throw notFoundPath();
    }
    const target: Target = {
      def,
      version: found.version,
      namespace,
      name,
      subresource,
    };
    const method = request.method.toUpperCase();
    let verb: Verb;
    if (method === "GET") {
      verb = name === undefined ? (watch ? "watch" : "list") : "get";
    } else if (method === "POST") {
      if (name !== undefined) {
        throw methodNotAllowed(`POST is not supported on a named ${def.kind}`);
      }
      if (def.namespaced && namespace === undefined) throw notFoundPath();
      verb = "create";
    } else if (method === "PUT") verb = "update";
    else if (method === "PATCH") verb = "patch";
    else if (method === "DELETE") {
      verb = name === undefined ? "deletecollection" : "delete";
    } else {throw methodNotAllowed(
        `the server does not allow the method ${method}`,
      );}
    if (name === undefined && (verb === "update" || verb === "patch")) {
      throw methodNotAllowed(
        `the server does not allow this method on the requested resource`,
      );
    }
    if (method === "GET" && name !== undefined && watch) verb = "watch";
    return { target, verb, watch };
  }

  async #resource(
    request: Request,
    url: URL,
    at: { group: string; rest: string[] },
  ): Promise<Response> {
    const [version, ...rest] = at.rest;
    if (!this.#core.registry.groups().get(at.group)?.includes(version)) {
      return pageNotFound();
    }
    if (rest.length === 0) return json(this.#resourceList(at.group, version));
    const { target, verb } = this.#parse(request, url, {
      group: at.group,
      version,
      rest,
    });
    const info: RequestInfo = {
      verb,
      plural: target.def.plural,
      group: target.def.group,
      subresource: target.subresource,
      namespace: target.namespace,
      name: target.name,
    };
    const delay = this.#faults.delayFor(info);
    if (delay > 0) await this.#sleep(delay);
    const failure = this.#faults.failureFor(info);
    if (failure) {
      await request.body?.cancel();
      throw failure;
    }
    return await this.#dispatch(request, url, { target, verb });
  }

  async #scale(
    request: Request,
    at: { t: Target; verb: Verb; manager: string; dryRun: boolean },
  ): Promise<Response> {
    const { t, verb, manager, dryRun } = at;
    switch (verb) {
      case "get":
        return json(this.#core.getScale(t));
      case "update":
        return json(
          this.#core.updateScale(t, await readJson(request), {
            manager,
            dryRun,
          }),
        );
      case "patch": {
        const type = patchType(request.headers.get("content-type"));
        const raw = await readText(request);
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch (error) {
          throw badRequest(
            `the patch body is not valid JSON: ${(error as Error).message}`,
          );
        }
        return json(this.#core.patchScale(t, { type, body, manager, dryRun }));
      }
      default:
        throw methodOnScale(verb);
    }
  }

  async #dispatch(
    request: Request,
    url: URL,
    parsed: { target: Target; verb: Verb },
  ): Promise<Response> {
    const core = this.#core;
    const q = url.searchParams;
    const t = {
      ...parsed.target,
      strictFields: q.get("fieldValidation") === "Strict",
    };
    const dryRun = q.getAll("dryRun").includes("All");
    const fieldManager = q.get("fieldManager") ?? undefined;
    const manager = fieldManager ||
      managerFromUserAgent(request.headers.get("user-agent") ?? "");
    if (t.subresource === "scale") {
      return await this.#scale(request, {
        t,
        verb: parsed.verb,
        manager,
        dryRun,
      });
    }
    switch (parsed.verb) {
      case "get":
        return text(core.render(t, core.get(t)));
      case "list":
        return text(core.list(t, listQuery(q)));
      case "watch": {
        const query = listQuery(q);
        if (t.name !== undefined) {
          const selector = `metadata.name=${t.name}`;
          query.fieldSelector = query.fieldSelector
            ? `${query.fieldSelector},${selector}`
            : selector;
        }
        const stream = core.watch({ ...t, name: undefined }, query);
        const response = new Response(stream, {
          headers: {
            "content-type": "application/json",
            "cache-control": "no-cache",
          },
        });
        STREAMED.add(response);
        return response;
      }
      case "create": {
        const body = await readJson(request);
        const obj = core.create(t, body, { dryRun, manager });
        return text(core.render(t, obj), 201);
      }
      case "update": {
        const body = await readJson(request);
        const obj = core.update(t, body, { dryRun, manager });
        return text(core.render(t, obj));
      }
      case "patch": {
        const type = patchType(request.headers.get("content-type"));
        const raw = await readText(request);
        let body: unknown;
        try {
          body = type === "apply" ? parseApply(raw) : JSON.parse(raw);
        } catch (error) {
          if (error instanceof ApiStatusError) throw error;
          throw badRequest(
            `the patch body is not valid ${
              type === "apply" ? "YAML" : "JSON"
            }: ${(error as Error).message}`,
          );
        }
        const { object, created } = core.patch(t, {
          type,
          body,
          fieldManager,
          manager,
          force: flag(q.get("force")),
          dryRun,
        });
        return text(core.render(t, object), created ? 201 : 200);
      }
      case "delete": {
        const options = await deleteOptions(request, q);
        const { object, removed } = core.delete(t, {
          ...options,
          dryRun: dryRun || options.dryRun,
        });
        if (removed && t.def.plural !== "pods") {
          return json({
            kind: "Status",
            apiVersion: "v1",
            metadata: {},
            status: "Success",
            details: {
              name: t.name,
              group: t.def.group || undefined,
              kind: t.def.plural,
              uid: object.metadata.uid,
            },
          });
        }
        return text(core.render(t, object));
      }
      case "deletecollection": {
        const options = await deleteOptions(request, q);
        return text(
          core.deleteCollection(t, listQuery(q), {
            propagationPolicy: options.propagationPolicy,
            dryRun: dryRun || options.dryRun,
          }),
        );
      }
    }
  }
}

function methodOnScale(verb: Verb): ApiStatusError {
  return methodNotAllowed(
    `the server does not allow the ${verb} verb on scale`,
  );
}

function text(body: string, status = 200): Response {
  return new Response(body, { status, headers: JSON_HEADERS });
}

function listQuery(q: URLSearchParams): ListQuery {
  const limit = q.get("limit");
  const timeout = q.get("timeoutSeconds");
  const query: ListQuery = {
    labelSelector: q.get("labelSelector"),
    fieldSelector: q.get("fieldSelector"),
    continue: q.get("continue"),
    resourceVersion: q.get("resourceVersion"),
    resourceVersionMatch: q.get("resourceVersionMatch"),
    allowWatchBookmarks: flag(q.get("allowWatchBookmarks")),
    sendInitialEvents: flag(q.get("sendInitialEvents")),
  };
  if (limit !== null) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 0) {
      throw badRequest(`invalid limit "${limit}"`);
    }
    query.limit = n;
  }
  if (timeout !== null) {
    const n = Number(timeout);
    if (!Number.isFinite(n) || n < 0) {
      throw badRequest(`invalid timeoutSeconds "${timeout}"`);
    }
    query.timeoutSeconds = n;
  }
  return query;
}

async function readText(request: Request): Promise<string> {
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > MAX_BODY_BYTES) {
    await request.body?.cancel();
    throw new ApiStatusError(413, {
      reason: "RequestEntityTooLarge",
      message: `Request entity too large: limit is ${MAX_BODY_BYTES}`,
    });
  }
  const body = await request.text();
  if (body.length > MAX_BODY_BYTES) {
    throw new ApiStatusError(413, {
      reason: "RequestEntityTooLarge",
      message: `Request entity too large: limit is ${MAX_BODY_BYTES}`,
    });
  }
  return body;
}

async function readJson(request: Request): Promise<unknown> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]
    .trim().toLowerCase();
  if (type === "application/yaml") {
    const raw = await readText(request);
    try {
      return loadYaml(raw);
    } catch (error) {
      throw badRequest(
        `the request body is not valid YAML: ${(error as Error).message}`,
      );
    }
  }
  if (type !== "" && type !== "application/json") {
    await request.body?.cancel();
    throw new ApiStatusError(415, {
      reason: reasonForCode(415),
      message:
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (found "${type}")`,
    });
  }
  const raw = await readText(request);
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw badRequest(
      `the request body is not valid JSON: ${(error as Error).message}`,
    );
  }
}

function parseApply(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return loadYaml(raw);
  }
}

function patchType(contentType: string | null): PatchType {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  switch (type) {
    case "application/merge-patch+json":
      return "merge";
    case "application/json-patch+json":
      return "json";
    case "application/strategic-merge-patch+json":
      return "strategic";
    case "application/apply-patch+yaml":
    case "application/apply-patch+json":
      return "apply";
    default:
      throw new ApiStatusError(415, {
        reason: reasonForCode(415),
        message:
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (found "${type}")`,
        details: {},
      });
  }
}

interface DeleteRequest {
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

async function deleteOptions(
  request: Request,
  q: URLSearchParams,
): Promise<DeleteRequest> {
  const raw = await readText(request);
  const out: DeleteRequest = {};
  if (raw.trim() !== "") {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (error) {
      throw badRequest(
        `the DeleteOptions body is not valid JSON: ${(error as Error).message}`,
      );
    }
    if (isObject(body)) {
      if (typeof body.propagationPolicy === "string") {
        out.propagationPolicy = body.propagationPolicy;
      }
      if (isObject(body.preconditions)) {
        const p = body.preconditions;
        out.preconditions = {
          uid: typeof p.uid === "string" ? p.uid : undefined,
          resourceVersion: typeof p.resourceVersion === "string"
            ? p.resourceVersion
            : undefined,
        };
      }
      if (Array.isArray(body.dryRun) && body.dryRun.includes("All")) {
        out.dryRun = true;
      }
      if (body.orphanDependents === true && !out.propagationPolicy) {
        out.propagationPolicy = "Orphan";
      }
    }
  }
  const policy = q.get("propagationPolicy");
  if (policy) out.propagationPolicy = policy;
  return out;
}
