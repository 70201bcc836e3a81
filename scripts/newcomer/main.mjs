// What every replica runs (a pod of a StatefulSet, or a process the test
// harness starts with RAFT_NODE_ID and RAFT_PEERS).
import { Operator } from "k8s-operator";
import { Counter, counterReconciler } from "./counter.mjs";

await Operator.fromEnv().controller(Counter, counterReconciler).run();
