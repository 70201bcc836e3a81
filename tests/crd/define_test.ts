import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Type } from "typebox";
import { resourcePath, type ResourceType } from "../../controller/mod.ts";
import {
  defineCustomResource,
  type InferResource,
  InvalidDefinitionError,
  NonStructuralSchemaError,
  ValidationError,
} from "../../crd/mod.ts";

const base = {
  group: "example.k8s-operator.dev",
  version: "v1",
  kind: "Website",
  scope: "Namespaced" as const,
  spec: Type.Object({
    domain: Type.String(),
    replicas: Type.Integer({ minimum: 1 }),
  }),
};

const Website = defineCustomResource({
  ...base,
  status: Type.Object({
    readyReplicas: Type.Optional(Type.Integer()),
    lastDeployed: Type.Optional(Type.String({ format: "date-time" })),
  }),
  shortNames: ["ws"],
  categories: ["all"],
  printerColumns: [
    { name: "Domain", jsonPath: ".spec.domain" },
    { name: "Replicas", jsonPath: ".spec.replicas" },
    { name: "Deployed", jsonPath: ".status.lastDeployed", priority: 1 },
  ],
});

type Website = InferResource<typeof Website>;

describe("defineCustomResource: the manifest", () => {
  it("names the CRD <plural>.<group> and fills the names", () => {
    const manifest = Website.manifest();
    assert.equal(manifest.apiVersion, "apiextensions.k8s.io/v1");
    assert.equal(manifest.kind, "CustomResourceDefinition");
    assert.equal(manifest.metadata.name, "websites.example.k8s-operator.dev");
    assert.deepEqual(manifest.spec.names, {
      kind: "Website",
      listKind: "WebsiteList",
      plural: "websites",
      singular: "website",
      shortNames: ["ws"],
      categories: ["all"],
    });
    assert.equal(manifest.spec.scope, "Namespaced");
  });

  it("carries one served storage version with the structural schema", () => {
    const [version] = Website.manifest().spec.versions;
    assert.equal(version.name, "v1");
    assert.equal(version.served, true);
    assert.equal(version.storage, true);
    const root = version.schema.openAPIV3Schema;
    assert.equal(root.type, "object");
    assert.deepEqual(root.required, ["spec"]);
    assert.deepEqual(Object.keys(root.properties ?? {}), [
      "apiVersion",
      "kind",
      "metadata",
      "spec",
      "status",
    ]);
    assert.deepEqual(root.properties?.metadata, { type: "object" });
    assert.deepEqual(root.properties?.spec, {
      type: "object",
      required: ["domain", "replicas"],
      properties: {
        domain: { type: "string" },
        replicas: { type: "integer", minimum: 1 },
      },
    });
  });

  it("enables the status subresource only when there is a status schema", () => {
    assert.deepEqual(Website.manifest().spec.versions[0].subresources, {
      status: {},
    });
    const NoStatus = defineCustomResource(base);
    assert.equal(NoStatus.manifest().spec.versions[0].subresources, undefined);
    assert.equal(
      NoStatus.manifest().spec.versions[0].schema.openAPIV3Schema.properties
        ?.status,
      undefined,
    );
  });

  it("infers printer column types from the schema and appends Age", () => {
    assert.deepEqual(
      Website.manifest().spec.versions[0].additionalPrinterColumns,
      [
        { name: "Domain", type: "string", jsonPath: ".spec.domain" },
        { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
        {
          name: "Deployed",
          type: "date",
          jsonPath: ".status.lastDeployed",
          priority: 1,
        },
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      ],
    );
  });

  it("does not add a second Age column", () => {
    const def = defineCustomResource({
      ...base,
      printerColumns: [{
        name: "Created",
        jsonPath: ".metadata.creationTimestamp",
      }],
    });
    assert.deepEqual(def.printerColumns, [{
      name: "Created",
      type: "date",
      jsonPath: ".metadata.creationTimestamp",
    }]);
  });

  it("returns a fresh manifest each time", () => {
    const first = Website.manifest();
    first.spec.versions[0].schema.openAPIV3Schema.required = ["x"];
    assert.deepEqual(
      Website.manifest().spec.versions[0].schema.openAPIV3Schema.required,
      ["spec"],
    );
  });
});

describe("defineCustomResource: names and options", () => {
  it("pluralizes the kind", () => {
    const plural = (kind: string) =>
      defineCustomResource({ ...base, kind }).plural;
    assert.equal(plural("Policy"), "policies");
    assert.equal(plural("Ingress"), "ingresses");
    assert.equal(plural("Gateway"), "gateways");
    assert.equal(plural("Box"), "boxes");
  });

  it("takes an explicit plural and a cluster scope", () => {
    const def = defineCustomResource({
      ...base,
      plural: "sites",
      scope: "Cluster",
    });
    assert.equal(def.name, "sites.example.k8s-operator.dev");
    assert.equal(def.manifest().spec.scope, "Cluster");
  });

  it("is a controller ResourceType, namespaced as its scope says", () => {
    const cluster: ResourceType = defineCustomResource({
      ...base,
      plural: "sites",
      scope: "Cluster",
    });
    const namespaced: ResourceType = defineCustomResource(base);
    assert.equal(cluster.namespaced, false);
    assert.equal(namespaced.namespaced, true);
    assert.equal(
      resourcePath(namespaced, { namespace: "web", name: "blog" }),
      `/apis/example.k8s-operator.dev/v1/namespaces/web/${namespaced.plural}/blog`,
    );
  });

  it("refuses malformed groups, versions, kinds and short names", () => {
    const refuse = (options: Record<string, unknown>, rule: RegExp) =>
      assert.throws(
        () => defineCustomResource({ ...base, ...options }),
        (e: unknown) =>
          e instanceof InvalidDefinitionError && rule.test(e.message),
      );
    refuse(
      { group: "example" },
      /group to be a lowercase DNS subdomain with at least one dot/,
    );
    refuse({ group: "Example.com" }, /found "Example.com"/);
    refuse({ version: "V1" }, /version to be a lowercase DNS label/);
    refuse({ kind: "website" }, /kind to be CamelCase/);
    refuse({ shortNames: ["w s"] }, /every short name/);
    refuse({ scope: "Global" }, /scope to be Namespaced or Cluster/);
  });

  it("refuses printer columns that point outside the schema", () => {
    assert.throws(
      () =>
        defineCustomResource({
          ...base,
          printerColumns: [{ name: "Size", jsonPath: ".spec.size" }],
        }),
      (e: unknown) =>
        e instanceof InvalidDefinitionError &&
        /\.spec\.size, which the schema does not define/.test(e.message),
    );
    assert.throws(
      () =>
        defineCustomResource({
          ...base,
          printerColumns: [{ name: "Size", jsonPath: "spec.size" }],
        }),
      /jsonPath starting with '\.'/,
    );
  });

  it("refuses a non-structural spec or status at definition time", () => {
    assert.throws(
      () =>
        defineCustomResource({
          ...base,
          status: Type.Object({ anything: Type.Unknown() }),
        }),
      (e: unknown) =>
        e instanceof NonStructuralSchemaError &&
        e.problems[0].path === "status.anything",
    );
  });
});

describe("defineCustomResource: objects", () => {
  const valid: Website = Website.build({
    metadata: { name: "blog", namespace: "web" },
    spec: { domain: "blog.example.com", replicas: 2 },
  });

  it("builds objects with apiVersion and kind", () => {
    assert.deepEqual(valid, {
      apiVersion: "example.k8s-operator.dev/v1",
      kind: "Website",
      metadata: { name: "blog", namespace: "web" },
      spec: { domain: "blog.example.com", replicas: 2 },
    });
    assert.equal(Website.validate(valid), valid);
  });

  it("checks apiVersion, kind, metadata, spec and status together", () => {
    assert.throws(
      () =>
        Website.validate({
          apiVersion: "example.k8s-operator.dev/v2",
          kind: "Site",
          metadata: { name: "Blog_1" },
          spec: { domain: 1 },
          status: { readyReplicas: "x" },
          extra: true,
        }),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(e.fields.map((f) => f.path), [
          "apiVersion",
          "kind",
          "spec.replicas",
          "spec.domain",
          "status.readyReplicas",
          "metadata.name",
          "extra",
        ]);
        assert.match(e.message, /^Invalid Website "Blog_1": apiVersion: /);
        return true;
      },
    );
  });

  it("requires a name or generateName, and drops the namespace of a cluster-scoped kind as the server does", () => {
    assert.deepEqual(Website.problems({ ...valid, metadata: {} }), [
      {
        path: "metadata.name",
        reason: "FieldValueRequired",
        message: "name or generateName is required",
      },
    ]);
    assert.deepEqual(
      Website.problems({ ...valid, metadata: { generateName: "blog-" } }),
      [],
    );
    const Cluster = defineCustomResource({ ...base, scope: "Cluster" });
    const admitted = Cluster.admit({
      ...valid,
      metadata: { name: "a", namespace: "x" },
    });
    assert.deepEqual(admitted.problems, []);
    assert.deepEqual(admitted.object.metadata, { name: "a" });
  });

  it("accepts a namespace that starts with a digit (a DNS-1123 label), refuses one with an uppercase letter", () => {
    assert.deepEqual(
      Website.problems({
        ...valid,
        metadata: { name: "a", namespace: "1crdfuzz" },
      }),
      [],
    );
    assert.deepEqual(
      Website.problems({ ...valid, metadata: { name: "a", namespace: "Web" } })
        .map((p) => p.path),
      ["metadata.namespace"],
    );
  });

  it("refuses label keys and values the server refuses", () => {
    const labelled = (labels: Record<string, string>) =>
      Website.problems({ ...valid, metadata: { name: "a", labels } })
        .map((p) => p.path);
    assert.deepEqual(labelled({ app: "bad value!" }), ["metadata.labels"]);
    assert.deepEqual(labelled({ "-app": "x" }), ["metadata.labels"]);
    assert.deepEqual(labelled({ app: "a".repeat(64) }), ["metadata.labels"]);
    assert.deepEqual(labelled({ "example.com/app": "a.b-c_d", e: "" }), []);
  });

  it("leaves status out on create and update with the status subresource, checks it otherwise", () => {
    const withBadStatus = { ...valid, status: { readyReplicas: "x" } };
    assert.deepEqual(
      Website.problems(withBadStatus).map((p) => p.path),
      ["status.readyReplicas"],
    );
    assert.deepEqual(
      Website.problems(withBadStatus, { operation: "create" }),
      [],
    );
    assert.equal(
      Website.admit(withBadStatus, { operation: "create" }).object.status,
      undefined,
    );
  });

  it("reports a missing spec as required", () => {
    const { spec: _spec, ...noSpec } = valid;
    assert.deepEqual(Website.problems(noSpec), [
      { path: "spec", reason: "FieldValueRequired", message: "is required" },
    ]);
  });

  it("refuses a status on a kind without a status schema", () => {
    const NoStatus = defineCustomResource(base);
    assert.deepEqual(NoStatus.problems({ ...valid, status: {} }), [{
      path: "status",
      reason: "FieldValueForbidden",
      message:
        "unknown field: the schema does not define it (the API server prunes it unless fieldValidation is Strict)",
    }]);
  });

  it("says which CEL rules it left to the server when it refuses an object", () => {
    const Ranged = defineCustomResource({
      ...base,
      kind: "Ranged",
      spec: Type.Object({ min: Type.Integer(), max: Type.Integer() }, {
        "x-kubernetes-validations": [{ rule: "self.min <= self.max" }],
      }),
    });
    assert.deepEqual(Ranged.serverOnlyRules, ["spec"]);
    assert.deepEqual(
      Ranged.manifest().spec.versions[0].schema.openAPIV3Schema.properties
        ?.spec["x-kubernetes-validations"],
      [{ rule: "self.min <= self.max" }],
      "passed through as written",
    );
    const object = {
      apiVersion: Ranged.apiVersion,
      kind: "Ranged",
      metadata: { name: "r" },
      spec: { min: 3, max: 2 },
    };
    assert.deepEqual(Ranged.problems(object), [], "the rule is not evaluated");
    assert.throws(
      () => Ranged.validate({ ...object, spec: { min: "3", max: 2 } }),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(e.serverOnlyRules, ["spec"]);
        assert.match(
          e.message,
          /not checked here: the CEL rules \(x-kubernetes-validations\) at spec, which only the API server evaluates/,
        );
        return true;
      },
    );
  });

  it("refuses values that are not objects", () => {
    assert.deepEqual(Website.problems(null), [{
      path: "",
      reason: "FieldValueTypeInvalid",
      message: "expected a Website object, found null",
    }]);
  });

  it("gives the TypeScript type of the resource", () => {
    const site: Website = {
      apiVersion: Website.apiVersion,
      kind: "Website",
      metadata: { name: "x" },
      spec: { domain: "d", replicas: 1 },
      status: { readyReplicas: 1 },
    };
    // @ts-expect-error replicas is an integer, not a string
    const wrong: Website["spec"] = { domain: "d", replicas: "1" };
    // @ts-expect-error status has no field named ready
    const noField: Website["status"] = { ready: true };
    const readyReplicas: number | undefined = site.status?.readyReplicas;
    assert.equal(readyReplicas, 1);
    assert.ok(wrong && noField);
  });
});
