/**
 * Runtime validation of values against a structural schema, as a real
 * kube-apiserver 1.32 does it: the shared implementation of
 * `client/schema.ts`, which the test API server of `testing/` uses too.
 *
 * @module
 */
export {
  type Admission,
  admitValue,
  validateValue,
  type ValidateValueOptions,
} from "../client/schema.ts";
