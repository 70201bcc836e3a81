// A first operator of one's own: a Counter whose status counts to its
// spec.target. The status schema declares conditions and
// observedGeneration, so the API server keeps what the reconciler writes.
import { Type } from "typebox";
import {
  Conditions,
  defineCustomResource,
  ObservedGeneration,
  ReconcileResult,
  StatusCondition,
  StatusPatch,
} from "k8s-operator";

export const Counter = defineCustomResource({
  group: "example.com",
  version: "v1",
  kind: "Counter",
  scope: "Namespaced",
  spec: Type.Object({ target: Type.Integer({ minimum: 0 }) }),
  status: Type.Object({
    count: Type.Optional(Type.Integer()),
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions()),
  }),
});

export const counterReconciler = {
  async reconcile(counter, ctx) {
    await new StatusPatch(counter, { client: ctx.client, resource: Counter })
      .set("count", counter.spec.target)
      .condition(
        StatusCondition.ready(true).withMessage(
          `counted by replica ${ctx.guard.nodeId}`,
        ),
      )
      .observedGeneration()
      .apply();
    return ReconcileResult.done();
  },
};
