#!/usr/bin/env bash
# Offline checks of the deploy files (no Docker engine, no cluster needed):
# - docker-compose.yml is valid with every secret set, and refuses to render when any one of
#   them is missing (no well-known fallback can slip in);
# - every k3s manifest passes kubernetes-validate --strict.
set -euo pipefail
cd "$(dirname "$0")/.."
# A .env beside the compose file would feed it values and hide a missing secret.
[ ! -e .env ] || { echo "FAIL: remove .env before this check (compose would read secrets from it)"; exit 1; }
err=$(mktemp); trap 'rm -f "$err"' EXIT
secrets=(HARVEST_NETCODE_KEY HARVEST_SERVICE_SECRET HARVEST_JWT_SECRET HARVEST_DB_PASSWORD)
with_all() { env HARVEST_NETCODE_KEY=x HARVEST_SERVICE_SECRET=x HARVEST_JWT_SECRET=x HARVEST_DB_PASSWORD=x "$@"; }
with_all docker-compose -f docker-compose.yml config -q
echo "ok: docker-compose.yml is valid with its secrets set"
for s in "${secrets[@]}"; do
  if with_all env -u "$s" docker-compose -f docker-compose.yml config -q 2>"$err"; then
    echo "FAIL: docker-compose.yml renders without $s"; exit 1
  fi
  grep -q "$s" "$err" || { echo "FAIL: the refusal does not name $s"; cat "$err"; exit 1; }
done
echo "ok: docker-compose.yml refuses to start without any one of ${secrets[*]}"
if grep -rniE '(key|secret|password)["]?:[[:space:]]*["]?[0-9a-f]{16,}' docker-compose.yml deploy/k3s/; then
  echo "FAIL: a literal secret value in the deploy files"; exit 1
fi
# The kustomization lists every manifest in deploy/k3s and only those, and its secrets file is
# never committed; then each manifest is validated strictly.
resources=$(python3 - <<'PY'
import glob, os, sys, yaml
k = yaml.safe_load(open("deploy/k3s/kustomization.yaml"))
assert k.get("kind") == "Kustomization" and k.get("namespace") == "harvest", "kustomization: kind/namespace"
listed = k["resources"]
present = sorted(os.path.basename(p) for p in glob.glob("deploy/k3s/*.yaml") if not p.endswith("kustomization.yaml"))
missing = [r for r in listed if not os.path.exists(os.path.join("deploy/k3s", r))]
unlisted = [p for p in present if p not in listed]
if missing or unlisted:
    sys.exit(f"FAIL: kustomization.yaml lists missing files {missing} / leaves out {unlisted}")
envs = [e for g in k.get("secretGenerator", []) for e in g.get("envs", [])]
assert envs == ["secrets.env"], f"the Secret comes from secrets.env, got {envs}"
print(" ".join(os.path.join("deploy/k3s", r) for r in listed))
PY
)
git check-ignore -q deploy/k3s/secrets.env || { echo "FAIL: deploy/k3s/secrets.env is not git-ignored"; exit 1; }
kubernetes-validate --strict $resources
echo "ok: deploy/k3s: kustomization lists every manifest; each passes kubernetes-validate --strict"
