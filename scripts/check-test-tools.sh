#!/usr/bin/env bash
# Says plainly what `just test` needs and is missing, instead of failing
# obscurely halfway through.
set -uo pipefail

missing=()
hint=()

command -v cargo >/dev/null 2>&1 || { missing+=("cargo (Rust toolchain)"); hint+=("install Rust with rustup: https://rustup.rs"); }
if command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "${major}" -lt 20 ]; then
    missing+=("Node.js >= 20 (found $(node --version))")
    hint+=("install a newer Node.js")
  fi
else
  missing+=("node (Node.js >= 20)")
  hint+=("apt-get install nodejs npm")
fi
command -v npm >/dev/null 2>&1 || { missing+=("npm"); hint+=("apt-get install npm"); }

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "${chromium}" ]; then
  missing+=("Chromium at ${chromium} (browser end-to-end tests)")
  hint+=("apt-get update && apt-get install chromium   (or set CHROMIUM_PATH)")
fi

# The calls' browser test runs the server and Chromium in a network
# namespace of their own (loopback only): it needs iproute2 and root.
if ! command -v ip >/dev/null 2>&1; then
  missing+=("ip (iproute2), for the calls' browser test in a network namespace")
  hint+=("apt-get install iproute2")
elif [ "$(id -u)" != "0" ]; then
  missing+=("root, for the calls' browser test (ip netns add)")
  hint+=("run just test as root (CI does)")
fi

# The PostgreSQL test runs (`just test-postgres`) link libpq and need a
# server at 127.0.0.1:5432 that lets `postgres` in without a password.
command -v pg_config >/dev/null 2>&1 || { missing+=("libpq-dev (Diesel's PostgreSQL backend links libpq)"); hint+=("apt-get install libpq-dev"); }
pg_start='pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
if ! command -v pg_isready >/dev/null 2>&1; then
  missing+=("PostgreSQL (pg_isready not found)")
  hint+=("apt-get install postgresql, then: ${pg_start}")
elif ! pg_isready -h 127.0.0.1 -q; then
  missing+=("PostgreSQL at 127.0.0.1:5432 is not answering (the PostgreSQL test runs)")
  hint+=("start it: ${pg_start}")
fi

# The PostgreSQL run goes through the Redis broker, and the multi-node
# test (`just test-multinode`) runs three nodes on that Redis behind its
# own nginx from Debian's package.
nginx_bin="${LIVECHAT_TEST_NGINX:-/usr/sbin/nginx}"
if [ ! -x "${nginx_bin}" ]; then
  missing+=("nginx at ${nginx_bin} (the multi-node test runs its own; the system service need not run)")
  hint+=("apt-get install nginx   (or set LIVECHAT_TEST_NGINX)")
fi
redis_start="redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"
if ! command -v redis-cli >/dev/null 2>&1; then
  missing+=("Redis (redis-cli not found), for the broker and multi-node tests")
  hint+=("apt-get install redis-server, then: ${redis_start}")
elif [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" != "PONG" ]; then
  missing+=("Redis at 127.0.0.1:6379 is not answering (the broker and multi-node tests)")
  hint+=("start it: ${redis_start}")
fi

# The contract test (`just test-contract`) runs schemathesis from a
# virtualenv of its own.
contract_venv="${LIVECHAT_CONTRACT_VENV:-$(cd "$(dirname "$0")/.." && pwd)/.venv-contract}"
if [ ! -x "${contract_venv}/bin/st" ]; then
  missing+=("schemathesis in ${contract_venv} (the OpenAPI contract test)")
  hint+=("python3 -m venv ${contract_venv} && ${contract_venv}/bin/pip install schemathesis==4.32.5   (Debian: apt-get install python3-venv if venv fails; or set LIVECHAT_CONTRACT_VENV)")
fi

if command -v fc-list >/dev/null 2>&1 && ! fc-list 2>/dev/null | grep -i "CJK" >/dev/null; then
  echo "note: no CJK font found (fonts-noto-cjk); screenshots will show boxes instead of Chinese" >&2
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "just test cannot run; missing:" >&2
  for i in "${!missing[@]}"; do
    echo "  - ${missing[$i]}: ${hint[$i]}" >&2
  done
  echo "On Debian, .ci/run installs all of them." >&2
  exit 1
fi
