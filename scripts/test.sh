#!/usr/bin/env bash
# Runs every test: unit and integration tests on SQLite, the same suites on PostgreSQL when a
# server answers on 127.0.0.1:5432 (or TEST_POSTGRES_URL is set), and the end-to-end suite
# against a local Synapse homeserver that scripts/synapse.sh installs into .mx/ (git-ignored).
#
#   scripts/test.sh              # everything
#   scripts/test.sh --test cli   # extra arguments go to `cargo test`
#   MX_SKIP=1 scripts/test.sh    # no Synapse: the end-to-end suite skips itself
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${TEST_POSTGRES_URL:-}" ] && command -v pg_isready >/dev/null \
    && pg_isready -q -h 127.0.0.1 -p 5432; then
    export TEST_POSTGRES_URL="postgres://$(id -un)@127.0.0.1:5432/test"
fi
if [ -n "${TEST_POSTGRES_URL:-}" ]; then
    echo "PostgreSQL suites: on ($TEST_POSTGRES_URL)"
else
    echo "PostgreSQL suites: skipped (no server on 127.0.0.1:5432, TEST_POSTGRES_URL unset)"
fi

if [ "${MX_SKIP:-0}" != 1 ]; then
    export MX_ROOT="${MX_ROOT:-$PWD/.mx}"
    # Bots meet Synapse's stock message limit (the suite checks they cope with it); the human
    # test users are exempt so their commands are never the ones held back.
    export MX_RATELIMIT="${MX_RATELIMIT:-default}"
    export MX_UNLIMITED_USERS="${MX_UNLIMITED_USERS:-alice bob carol mxadmin}"
    bash scripts/synapse.sh up
    trap 'bash scripts/synapse.sh down' EXIT
    # shellcheck disable=SC1091
    . "$MX_ROOT/env"
fi

cargo test "$@"
