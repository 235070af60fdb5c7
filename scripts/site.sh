#!/usr/bin/env bash
# Build the compliance site from the bundled vault/ and flake/ (installs what it needs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/bootstrap.sh "site"
exec .venv/bin/kbgen build "$@"
