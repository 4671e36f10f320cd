#!/usr/bin/env bash
# Offline checks of deploy/k8s (there is no Kubernetes API server on this machine,
# so nothing server-side: no --dry-run=server, admission, defaulting or CRD checks).
#   1. render the base and every overlay with `kubectl kustomize` (or a standalone
#      `kustomize`); kubectl is not in Debian bookworm main (kubernetes-client is
#      1.20 in bookworm, with a kustomize too old for this kustomization), so
#      without either the raw base files are checked unrendered and it says so;
#   2. schema check with npm kubernetes-models (ajv) + a tsc --strict pass over
#      its types (k8s-validate.mjs), installed into deploy/test/.cache (gitignored).
# Ends with "N passed, N failed".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k8s=$(cd "$here/../k8s" && pwd)
scratch=$here/.cache/k8s-validate
out=$here/.cache/rendered
T0=$SECONDS
export PATH="$here/../../.cache/toolchain/bin:$PATH"
log() { printf '[k8s-check %3ss] %s\n' "$((SECONDS - T0))" "$*" >&2; }

if [ ! -f "$scratch/node_modules/kubernetes-models/package.json" ] || [ ! -f "$scratch/node_modules/typescript/package.json" ]; then
  log "installing kubernetes-models, yaml, typescript into $scratch"
  mkdir -p "$scratch"
  echo '{"name":"k8s-validate","private":true,"type":"module"}' >"$scratch/package.json"
  install() {
    if command -v npm >/dev/null; then
      (cd "$scratch" && npm install --no-audit --no-fund --silent kubernetes-models@5.1.0 yaml@2 typescript@5.9.3)
    else
      (cd "$scratch" && pnpm add --ignore-workspace --silent kubernetes-models@5.1.0 yaml@2 typescript@5.9.3)
    fi
  }
  # The registry is reached over the network: try three times before failing.
  install || { sleep 10; install; } || { sleep 30; install; } || { log "FAIL npm install of the validators"; echo "0 passed, 1 failed"; exit 1; }
fi

rm -rf "$out"; mkdir -p "$out"
render=()
if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then render=(kubectl kustomize)
elif command -v kustomize >/dev/null; then render=(kustomize build); fi
files=()
rfail=0
if [ ${#render[@]} -gt 0 ]; then
  for dir in "$k8s/base" "$k8s"/overlays/*/; do
    dir=${dir%/}; name=$(basename "$dir")
    if "${render[@]}" "$dir" >"$out/$name.yaml" 2>"$out/$name.err"; then
      log "rendered $name with ${render[*]}: $(grep -c '^kind:' "$out/$name.yaml") objects"
      files+=("$out/$name.yaml")
    else
      log "FAIL render $name: $(cat "$out/$name.err")"; rfail=1
    fi
  done
else
  log "SKIP render: neither kubectl nor kustomize is installed; checking the base files unrendered"
  for f in "$k8s"/base/*.yaml; do [ "$(basename "$f")" = kustomization.yaml ] || files+=("$f"); done
fi

status=0
node "$here/k8s-validate.mjs" "$scratch" "${files[@]}" >"$out/validate.log" || status=$?
log "done in $((SECONDS - T0))s (details: $out/validate.log)"
# Failures, then the closing "N passed, N failed" line (a failed render counts as one).
grep -v '^ok ' "$out/validate.log" | grep -Ev '^[0-9]+ passed, [0-9]+ failed' || true
counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/validate.log" | tail -1)
passed=$(echo "$counts" | sed -n 's/^\([0-9]*\) passed.*/\1/p') failed=$(echo "$counts" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
echo "${passed:-0} passed, $((${failed:-1} + rfail)) failed"
[ "$rfail" = 0 ] || exit 1
exit "$status"
