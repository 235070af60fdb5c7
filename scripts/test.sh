#!/usr/bin/env bash
# The whole test suite, from a fresh clone: virtualenv, Python dependencies, the Debian
# packages the tests drive (nix-bin for Nix's own parser), the SARIF schema, then ruff,
# pytest and kbgen's own gate on the bundled vault and flake.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/bootstrap.sh "site,test,bench,oscal,zensical"

# Debian packages the tests need: Nix's own parser and the browser the site tests drive
# (root only; elsewhere the tests that need them skip locally and fail in CI).
need_apt=()
command -v nix-instantiate >/dev/null 2>&1 || need_apt+=(nix-bin)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${need_apt[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The official SARIF 2.1.0 schema, from the npm package that ships it, checked by hash.
schema=.cache/sarif-2.1.0.json
if [ ! -f "$schema" ] && command -v npm >/dev/null; then
  mkdir -p .cache/npm
  (cd .cache/npm && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null 2>&1) || true
  tarball=.cache/npm/microsoft-jest-sarif-1.0.0-beta.0.tgz
  if [ -f "$tarball" ]; then
    tar -xzf "$tarball" -C .cache/npm package/lib/schemas/sarif-2.1.0-rtm.5.json
    echo "2d99159ae54a3eea97f81781cff48780548657c35949f4b7f25e99a2ba4de4f8  .cache/npm/package/lib/schemas/sarif-2.1.0-rtm.5.json" | sha256sum -c --quiet
    cp .cache/npm/package/lib/schemas/sarif-2.1.0-rtm.5.json "$schema"
  fi
fi

# In CI every prerequisite must be there: missing ones fail instead of skipping.
if [ "${CI:-}" = "true" ]; then export KBGEN_REQUIRE_ALL=1; fi

.venv/bin/ruff check kbgen tests benchmarks
.venv/bin/ruff format --check kbgen tests benchmarks
# The gate on the bundled vault and flake, exactly as CI users run it (Nix's own parser
# included), before the tests so that pytest's summary is the last line.
.venv/bin/kbgen check
.venv/bin/python -m pytest -q "$@"
