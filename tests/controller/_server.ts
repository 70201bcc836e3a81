/** Integration harness: a TestApiServer with a Widget CRD and a KubeClient. */
import { TestApiServer } from "../../testing/mod.ts";
import { isApiError } from "../../client/errors.ts";
import {
  type KubeClient,
  KubeClient as Client,
} from "../../client/kube_client.ts";
import type { KubeObject, ResourceType } from "../../client/objects.ts";

/** The Widget custom resource. */
export interface Widget extends KubeObject {
  spec: { size: number };
  status?: {
    observedGeneration?: number;
    conditions?: unknown[];
    size?: number;
  };
}

/** The Widget resource type. */
export const widgets: ResourceType = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};

/** ConfigMaps. */
export { configMaps } from "../../testing/resource_types.ts";

const crds: ResourceType = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};

/** A started server with the Widget CRD registered. */
export interface Harness {
  server: TestApiServer;
  client: KubeClient;
  stop(): Promise<void>;
}

/** Starts a server and registers `widgets.example.com`. */
export async function startServer(
  options: { bookmarkIntervalMs?: number } = {},
): Promise<Harness> {
  const server = await TestApiServer.start({
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 0,
  });
  const client = Client.fromKubeConfig(server.kubeConfig());
  await client.create(crds, {
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      scope: "Namespaced",
      names: { plural: "widgets", singular: "widget", kind: "Widget" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                "x-kubernetes-preserve-unknown-fields": true,
              },
              status: {
                type: "object",
                "x-kubernetes-preserve-unknown-fields": true,
              },
            },
          },
        },
      }],
    },
  } as KubeObject);
  return { server, client, stop: () => server.stop() };
}

const namespaces: ResourceType = {
  group: "",
  version: "v1",
  plural: "namespaces",
  kind: "Namespace",
  namespaced: false,
};

/** Creates a namespace unless it exists. */
export async function ensureNamespace(
  client: KubeClient,
  name: string,
): Promise<void> {
  try {
    await client.create(namespaces, { metadata: { name } });
  } catch (error) {
    if (!isApiError(error, 409)) throw error;
  }
}

/** Creates `count` widgets `w-0`… in `namespace`, `parallel` at a time. */
export async function createWidgets(
  client: KubeClient,
  options: { count: number; namespace?: string; parallel?: number },
): Promise<void> {
  const namespace = options.namespace ?? "default";
  await ensureNamespace(client, namespace);
  let next = 0;
  const worker = async () => {
    while (next < options.count) {
      const i = next++;
      await client.create<Widget>(widgets, {
        metadata: { name: `w-${i}`, namespace },
        spec: { size: 1 },
      });
    }
  };
  await Promise.all(
    Array.from({ length: options.parallel ?? 16 }, worker),
  );
}
