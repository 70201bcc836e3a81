/**
 * The custom resources of the example operator: a `Website` served by a
 * number of replicas. `deploy/crds/crds.ts` lists it, so `deno task crd`
 * writes its CustomResourceDefinition into `deploy/crds/`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Website } from "./resources.ts";
 * assert.equal(Website.manifest().metadata.name, "websites.example.k8s-operator.dev");
 * ```
 *
 * @module
 */
import { Type } from "typebox";
import {
  Conditions,
  defineCustomResource,
  type InferResource,
  IntOrString,
  ObservedGeneration,
} from "../crd/mod.ts";

/**
 * A website: a domain served by a number of replicas of a container image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Website } from "./resources.ts";
 * const site = Website.build({
 *   metadata: { name: "blog", namespace: "default" },
 *   spec: { domain: "blog.example.com", image: "nginx:1.27", replicas: 2 },
 * });
 * assert.deepEqual(Website.problems(site), []);
 * ```
 */
export const Website = defineCustomResource({
  group: "example.k8s-operator.dev",
  version: "v1alpha1",
  kind: "Website",
  scope: "Namespaced",
  shortNames: ["ws"],
  description: "A website served by a number of replicas of an image.",
  spec: Type.Object({
    domain: Type.String({
      description: "The host name the website answers to.",
      minLength: 1,
      maxLength: 253,
      pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
    }),
    image: Type.String({ description: "The container image that serves it." }),
    replicas: Type.Integer({
      description: "How many pods serve it.",
      minimum: 1,
      maximum: 100,
      default: 1,
    }),
    port: Type.Optional(
      IntOrString({ description: "The container port, by number or name." }),
    ),
    tier: Type.Optional(
      Type.Union([Type.Literal("free"), Type.Literal("pro")], {
        default: "free",
      }),
    ),
    env: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: "Environment variables for the container.",
      }),
    ),
  }),
  status: Type.Object({
    readyReplicas: Type.Optional(Type.Integer({ minimum: 0 })),
    url: Type.Optional(Type.String()),
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions()),
  }),
  printerColumns: [
    { name: "Domain", jsonPath: ".spec.domain" },
    { name: "Replicas", jsonPath: ".spec.replicas" },
    { name: "Ready", jsonPath: ".status.readyReplicas" },
    { name: "Tier", jsonPath: ".spec.tier", priority: 1 },
  ],
});

/**
 * A Website object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * import { Website } from "./resources.ts";
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const sites: Website[] = (await Website.client(kubeConfig).list()).items;
 * assert.deepEqual(sites, []);
 * ```
 */
export type Website = InferResource<typeof Website>;
