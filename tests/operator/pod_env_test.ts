import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import {
  DiscoveryError,
  MalformedEnvError,
  MissingEnvError,
} from "../../discovery/mod.ts";
import { podIdentityFromEnv } from "../../operator/mod.ts";

describe("podIdentityFromEnv", () => {
  it("derives StatefulSet and ordinal from POD_NAME", () => {
    assert.deepEqual(
      podIdentityFromEnv({ POD_NAME: "my-operator-12", NAMESPACE: "ops" }),
      {
        podName: "my-operator-12",
        namespace: "ops",
        statefulSet: "my-operator",
        ordinal: 12,
      },
    );
  });

  it("takes the last dash-number as the ordinal", () => {
    const id = podIdentityFromEnv({ POD_NAME: "web-2-0", NAMESPACE: "a" });
    assert.equal(id.statefulSet, "web-2");
    assert.equal(id.ordinal, 0);
  });

  it("reads the process environment when no env is given", () => {
    const saved = {
      POD_NAME: process.env.POD_NAME,
      NAMESPACE: process.env.NAMESPACE,
    };
    process.env.POD_NAME = "from-env-4";
    process.env.NAMESPACE = "env-ns";
    try {
      assert.deepEqual(podIdentityFromEnv(), {
        podName: "from-env-4",
        namespace: "env-ns",
        statefulSet: "from-env",
        ordinal: 4,
      });
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it("names the missing variable, treating empty as missing", () => {
    for (
      const [env, variable] of [
        [{ NAMESPACE: "ops" }, "POD_NAME"],
        [{ POD_NAME: "", NAMESPACE: "ops" }, "POD_NAME"],
        [{ POD_NAME: "op-0" }, "NAMESPACE"],
      ] as const
    ) {
      assert.throws(() => podIdentityFromEnv(env), (error: unknown) => {
        assert.ok(error instanceof MissingEnvError);
        assert.ok(error instanceof DiscoveryError);
        assert.equal(error.variable, variable);
        assert.match(
          error.message,
          new RegExp(
            `^Expected the environment variable ${variable} .*downward API.*found it unset$`,
          ),
        );
        return true;
      });
    }
  });

  it("rejects pod names that are not <statefulSet>-<ordinal>", () => {
    for (
      const podName of [
        "operator",
        "op-",
        "-0",
        "op-01",
        "Op-0",
        "op_0-1",
        "op-1.x",
        "op-99999999999999999999",
        `${"a".repeat(62)}-0`,
      ]
    ) {
      assert.throws(
        () => podIdentityFromEnv({ POD_NAME: podName, NAMESPACE: "ops" }),
        (error: unknown) => {
          assert.ok(error instanceof MalformedEnvError, podName);
          assert.equal(error.variable, "POD_NAME");
          assert.equal(error.value, podName);
          assert.match(
            error.message,
            /^Expected POD_NAME to be a StatefulSet pod name/,
          );
          assert.ok(error.message.endsWith(`found ${JSON.stringify(podName)}`));
          return true;
        },
      );
    }
  });

  it("rejects a namespace that is not a DNS label", () => {
    assert.throws(
      () => podIdentityFromEnv({ POD_NAME: "op-0", NAMESPACE: "Ops.Prod" }),
      (error: unknown) =>
        error instanceof MalformedEnvError && error.variable === "NAMESPACE" &&
        /found "Ops.Prod"/.test(error.message),
    );
  });
});
