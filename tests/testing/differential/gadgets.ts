/**
 * The custom resource the scenarios share: `gadgets.<group>`, namespaced,
 * with the status and scale subresources, a map list keyed by name, a set
 * list, a default, bounds and an enum.
 *
 * @module
 */
import type { RawClient } from "./client.ts";

/** The CustomResourceDefinition of gadgets in `group`. */
export function gadgetCrd(group: string): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `gadgets.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: {
        plural: "gadgets",
        singular: "gadget",
        kind: "Gadget",
        listKind: "GadgetList",
      },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        subresources: {
          status: {},
          scale: {
            specReplicasPath: ".spec.replicas",
            statusReplicasPath: ".status.replicas",
            labelSelectorPath: ".status.selector",
          },
        },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                required: ["size"],
                properties: {
                  size: { type: "integer", minimum: 1, maximum: 10 },
                  replicas: { type: "integer", minimum: 0 },
                  mode: {
                    type: "string",
                    enum: ["fast", "safe"],
                    default: "safe",
                  },
                  ports: {
                    type: "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    items: {
                      type: "object",
                      required: ["name"],
                      properties: {
                        name: { type: "string" },
                        port: { type: "integer" },
                      },
                    },
                  },
                  tags: {
                    type: "array",
                    "x-kubernetes-list-type": "set",
                    items: { type: "string" },
                  },
                  args: { type: "array", items: { type: "string" } },
                  settings: {
                    type: "object",
                    additionalProperties: { type: "string" },
                  },
                },
              },
              status: {
                type: "object",
                properties: {
                  replicas: { type: "integer" },
                  selector: { type: "string" },
                  ready: { type: "boolean" },
                  observedGeneration: { type: "integer" },
                  conditions: {
                    type: "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    items: {
                      type: "object",
                      required: ["type", "status"],
                      properties: {
                        type: { type: "string" },
                        status: { type: "string" },
                        reason: { type: "string" },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      }],
    },
  };
}

/** Creates the gadgets CRD and resolves once gadgets are served. */
export async function installGadgets(
  client: RawClient,
  group: string,
): Promise<void> {
  const created = await client.send({
    method: "POST",
    path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    body: gadgetCrd(group),
  });
  if (created.status !== 201) {
    throw new Error(
      `Expected the gadgets CRD to be created, found ${created.status}: ${
        JSON.stringify(created.body)
      }`,
    );
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const list = await client.send({ path: `/apis/${group}/v1/gadgets` });
    if (list.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("Expected gadgets to be served within 60 s");
}

/** A gadget object. */
export function gadget(
  group: string,
  name: string,
  spec: Record<string, unknown> = { size: 1 },
  metadata: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: `${group}/v1`,
    kind: "Gadget",
    metadata: { name, ...metadata },
    spec,
  };
}
