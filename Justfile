# livechat: `just run` serves everything at one URL; `just test` runs every test.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Install the front end's packages, build it and the server (release), serve at http://localhost:8000.
run: web-build
    cargo build --release --bin livechat-server --bin create-admin --bin change-password --bin migrate-data --bin create-api-key --bin revoke-api-key
    ./target/release/livechat-server

# Every test: front-end lint, Rust (unit and integration, on SQLite and on PostgreSQL, three nodes behind nginx), the OpenAPI contract, front-end unit, browser end-to-end.
test: check-test-tools web-install
    cd frontend && npm run lint
    # One debug build serves the Rust tests, the contract test and the browser tests.
    cargo build --bins
    cargo test --workspace
    just test-contract
    cargo run -q -p livechat-domain --example signed_link
    RUSTDOCFLAGS="-D warnings" cargo doc -p livechat-domain --no-deps
    just test-postgres
    just test-multinode
    cd frontend && npm run test:unit
    cd frontend && npm run build
    cd frontend && npm run test:bundle
    cd frontend && npm run test:e2e

# Rust tests only.
test-rust:
    cargo test --workspace

# The store's tests (each database test runs on SQLite and PostgreSQL) and the server's integration tests again on PostgreSQL, through the Redis broker: needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379 (`scripts/check-test-tools.sh` says how to start them).
test-postgres:
    cargo test -p livechat-store
    LIVECHAT_TEST_DATABASE=postgres LIVECHAT_TEST_BROKER=redis cargo test -p livechat-server --tests

# Three server processes on one PostgreSQL database and one Redis behind nginx (crates/server/tests/multinode.rs, ignored by the plain run): needs PostgreSQL, Redis at 127.0.0.1:6379 and /usr/sbin/nginx (`scripts/check-test-tools.sh` says how to get them).
test-multinode:
    cargo test -p livechat-server --test multinode -- --include-ignored

# The OpenAPI document as a contract: schemathesis, every check, against the debug server as a buyer, with an API key and as an admin (needs `cargo build --bins`; schemathesis in .venv-contract/ or $LIVECHAT_CONTRACT_VENV: `python3 -m venv .venv-contract && .venv-contract/bin/pip install schemathesis==4.32.5`).
test-contract:
    scripts/contract-test.sh

# Browser tests only (needs `cargo build --bins` and a built front end).
test-e2e: web-install
    cd frontend && npm run build && npm run test:e2e

# Development: the server on :8000 and the Vite dev server on http://localhost:5173 (proxying to it).
dev: web-install
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --bin livechat-server
    ./target/debug/livechat-server &
    server=$!
    trap 'kill $server' EXIT
    cd frontend && npm run dev

# Create an administrator: `just create-admin a1 admin admin123`, or no arguments to be asked.
create-admin *args:
    cargo run --quiet --bin create-admin -- {{args}}

# Set an administrator's password: `just change-password a1 newpass`, or no arguments to be asked.
change-password *args:
    cargo run --quiet --bin change-password -- {{args}}

# Formatting and lints, as required before every commit (installs the front end's packages if ESLint is missing).
lint:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
    cd frontend && if [ ! -x node_modules/.bin/eslint ]; then npm ci --no-audit --no-fund; fi && npm run lint

# Say what `just test` needs and is missing.
check-test-tools:
    scripts/check-test-tools.sh

# Install the front end's packages (from the lock file when it is there).
web-install:
    cd frontend && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

# Build the web app into frontend/dist.
web-build: web-install
    cd frontend && npm run build

# Refresh the README's screenshots in docs/screenshots (the browser tests take them).
screenshots: web-build
    cargo build --bins
    cd frontend && LIVECHAT_SCREENSHOTS=docs npm run test:e2e

# Load and latency benchmarks (release build, a few minutes): rewrites the generated part of docs/benchmarks.md and docs/benchmarks.json.
bench:
    cargo build --release -p livechat-server -p livechat-loadgen
    ./target/release/livechat-loadgen bench --server target/release/livechat-server --config-dir config --md docs/benchmarks.md --json docs/benchmarks.json
