#!/usr/bin/env bash
# The OpenAPI document is a contract: schemathesis (every check) against the
# debug server, on a fresh SQLite database with the demo data, three times:
# as a buyer (b1), with an API key holding every scope, and as an
# administrator. Any finding fails the run.
#
# Needs `cargo build --bins` (debug) and schemathesis in a virtualenv at
# .venv-contract/ (or $LIVECHAT_CONTRACT_VENV):
#   python3 -m venv .venv-contract && .venv-contract/bin/pip install schemathesis==4.32.5
# Knobs: LIVECHAT_CONTRACT_EXAMPLES (test cases per operation and phase,
# default 8), LIVECHAT_CONTRACT_SEED (default 1; "random" for a new one),
# LIVECHAT_CONTRACT_WORKERS (default 1: with two, hypothesis has been seen to
# trip over itself in a worker thread; on two cores one is as fast).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo}"

SCHEMATHESIS_VERSION="4.32.5"
venv="${LIVECHAT_CONTRACT_VENV:-${repo}/.venv-contract}"
st="${venv}/bin/st"
if [ ! -x "${st}" ]; then
  echo "contract test: schemathesis is missing (no ${st})." >&2
  echo "Create its virtualenv once (on Debian: apt-get install python3-venv if venv creation fails):" >&2
  echo "  python3 -m venv ${venv} && ${venv}/bin/pip install schemathesis==${SCHEMATHESIS_VERSION}" >&2
  echo "(or set LIVECHAT_CONTRACT_VENV to a virtualenv that has it)" >&2
  exit 1
fi
found="$("${venv}/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)"
if [ "${found}" != "${SCHEMATHESIS_VERSION}" ]; then
  echo "contract test: ${venv} has schemathesis ${found:-?}, not ${SCHEMATHESIS_VERSION}:" >&2
  echo "  ${venv}/bin/pip install schemathesis==${SCHEMATHESIS_VERSION}" >&2
  exit 1
fi

bin="${CARGO_TARGET_DIR:-${repo}/target}/debug"
for b in livechat-server create-admin create-api-key; do
  if [ ! -x "${bin}/${b}" ]; then
    echo "contract test: ${bin}/${b} is missing; run \`cargo build --bins\` first." >&2
    exit 1
  fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/livechat-contract.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "${server_pid}" ]; then
    kill "${server_pid}" 2>/dev/null || true
    wait "${server_pid}" 2>/dev/null || true
  fi
  rm -rf "${work}"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:${port}"
mkdir -p "${work}/media" "${work}/dist"

# The test settings (bcrypt cost 4, quiet log), demo data, a database and
# media of its own; webhooks may target this machine only, so that no
# generated request ever leaves it; the API key's rate limit out of the way
# (its 429 is documented, but would hide every other answer).
export LIVECHAT_ENV=test
export LIVECHAT_CONFIG_DIR="${repo}/config"
export HOST=127.0.0.1 PORT="${port}" BASE_URL="${base}"
# Four slashes: an absolute path (SQLAlchemy's convention, docs/deployment.md).
export DATABASE_URL="sqlite:///${work}/contract.db"
export MEDIA_DIR="${work}/media"
export SEED_DEMO=true
export LIVECHAT__SERVER__STATIC_DIR="${work}/dist"
export LIVECHAT__WEBHOOKS__ALLOWED_HOSTS="127.0.0.1,localhost"
export LIVECHAT__WEBHOOKS__ONLY_ALLOWED_HOSTS=true
export LIVECHAT__LIMITS__API_KEY_REQUESTS_PER_MINUTE=1000000
export LIVECHAT__LIMITS__UPLOADS_PER_MINUTE=1000000
export LIVECHAT__LIMITS__SENDS_PER_MINUTE=1000000
export LIVECHAT__LOG__LEVEL=error

"${bin}/livechat-server" >"${work}/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  if curl -fsS "${base}/health" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "${server_pid}" 2>/dev/null; then
    echo "contract test: the server exited at start-up:" >&2
    cat "${work}/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
curl -fsS "${base}/health" >/dev/null

json_field() {
  python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

admin_password="contract-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
"${bin}/create-admin" contract-admin contract-admin "${admin_password}" >/dev/null
admin_token="$(curl -fsS -H 'Content-Type: application/json' \
  -d "{\"username\":\"contract-admin\",\"password\":\"${admin_password}\"}" \
  "${base}/api/auth/login" | json_field access_token)"
buyer_token="$(curl -fsS -H 'Content-Type: application/json' -d '{"user_id":"b1"}' \
  "${base}/api/auth/session" | json_field access_token)"
api_key="$("${bin}/create-api-key" contract --scopes users:write,orders:write,sessions:write,messages:read | grep -o 'lck_[A-Za-z0-9_-]*' | head -1)"
if [ -z "${api_key}" ]; then
  echo "contract test: create-api-key printed no key" >&2
  exit 1
fi

examples="${LIVECHAT_CONTRACT_EXAMPLES:-8}"
workers="${LIVECHAT_CONTRACT_WORKERS:-1}"
seed="${LIVECHAT_CONTRACT_SEED:-1}"
seed_args=()
if [ "${seed}" != "random" ]; then
  seed_args=(--seed "${seed}")
fi

failed=()
run_pass() {
  local name="$1" credential="$2"
  echo "== contract test: ${name} =="
  local started=${SECONDS}
  # From the scratch directory: nothing is left behind in the repository.
  if (cd "${work}" && "${st}" --no-color --config-file "${repo}/scripts/contract-test.toml" run "${base}/openapi.json" \
    --checks all \
    --header "Authorization: Bearer ${credential}" \
    --max-examples "${examples}" \
    --workers "${workers}" \
    "${seed_args[@]}" \
    --request-timeout 20 \
    --suppress-health-check all \
    --generation-database none); then
    echo "== ${name}: no findings ($((SECONDS - started)) s) =="
  else
    echo "== ${name}: FINDINGS ($((SECONDS - started)) s) =="
    failed+=("${name}")
  fi
}

started=${SECONDS}
# The administrator's pass comes last: it may disable users and revoke keys.
run_pass "as a buyer" "${buyer_token}"
run_pass "with an API key" "${api_key}"
run_pass "as an administrator" "${admin_token}"
echo "contract test: $((SECONDS - started)) s for the three passes"

if ! kill -0 "${server_pid}" 2>/dev/null; then
  echo "contract test: the server died during the run:" >&2
  tail -50 "${work}/server.log" >&2
  exit 1
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "contract test: findings ${failed[*]}; the server's log ends:" >&2
  tail -30 "${work}/server.log" >&2
  exit 1
fi
echo "contract test: 0 findings"
