/**
 * Every differential scenario, in the order they run: what controllers do
 * to an API server, each written once and run on both control planes.
 * Every `call`, `eventually`, `events` and `record` is one compared
 * observation.
 *
 * @module
 */
import {
  configMapCrud,
  crdLifecycle,
  customCrud,
  defaults,
  deletion,
  leasesAndEvents,
} from "./crud.ts";
import { patches, strategicLists } from "./patches.ts";
import { applyConfigMap, applyDeployment, applyLists } from "./apply.ts";
import {
  generation,
  scaleSubresource,
  statusSubresource,
} from "./subresources.ts";
import { finalizerEvents, garbageCollection, namespaces } from "./lifecycle.ts";
import { pagination, selectors, watches } from "./reads.ts";
import type { Scenario } from "../run.ts";

/** Every scenario, in the order they run. */
export const SCENARIOS: Scenario[] = [
  configMapCrud,
  customCrud,
  patches,
  strategicLists,
  applyConfigMap,
  applyLists,
  applyDeployment,
  statusSubresource,
  scaleSubresource,
  finalizerEvents,
  watches,
  selectors,
  pagination,
  generation,
  namespaces,
  garbageCollection,
  deletion,
  crdLifecycle,
  leasesAndEvents,
  defaults,
];
