#!/usr/bin/env bash
# Run a throw-away Synapse homeserver on 127.0.0.1 for end-to-end tests.
#
#   scripts/synapse.sh up       # install (cached), fresh config + DB, start, register users
#   scripts/synapse.sh down     # stop it (PID file only; idempotent)
#   scripts/synapse.sh status   # "running (pid N, URL)" or "not running"; exit 0 / 3
#
# After `up`, `. "$MX_ROOT/env"` gives MX_HS_URL, MX_SHARED_SECRET, MX_ADMIN_TOKEN,
# MX_TOKEN_<NAME>, MX_DEVICE_<NAME>, MX_PASSWORD_<NAME>, MX_USER_<NAME>, MX_SYNAPSE_PID,
# MX_PYTHON, MX_E2E for NAME in MXADMIN BOT ALICE BOB CAROL.
#
# Knobs (environment):
#   MX_ROOT          state dir (default <repo>/.mx, git-ignored). venv/ inside is the cache.
#   MX_PORT          client listener port on 127.0.0.1 (default 8008)
#   MX_FRESH         1 (default): wipe hs/ and regenerate config + DB on every `up`.
#                    0: keep existing data; existing users are logged in instead of registered.
#   MX_RATELIMIT     off (default) | default   -- see write_overrides() for what each means
#   MX_ROOM_VERSION  e.g. 11, if some client can't handle v12 room ids (default: Synapse's, "12")
#   MX_UNLIMITED_USERS  space-separated localparts that get an admin-API ratelimit
#                    override of 0/0 (exempt from every requester-keyed limiter). Default empty.
#   MX_PYTHON_BASE   interpreter used to create the venv (default: python3)
#
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MX_ROOT="${MX_ROOT:-$REPO/.mx}"
MX_PORT="${MX_PORT:-8008}"
MX_FRESH="${MX_FRESH:-1}"
MX_RATELIMIT="${MX_RATELIMIT:-off}"
MX_ROOM_VERSION="${MX_ROOM_VERSION:-}"
MX_UNLIMITED_USERS="${MX_UNLIMITED_USERS:-}"
MX_PYTHON_BASE="${MX_PYTHON_BASE:-python3}"

VENV="$MX_ROOT/venv"
PY="$VENV/bin/python"          # always `python -m pip`: a restored venv keeps stale pip shebangs
HS="$MX_ROOT/hs"
PIDFILE="$MX_ROOT/synapse.pid" # outside hs/ so a fresh `up` can't lose track of a running server
URLFILE="$MX_ROOT/synapse.url" # URL of the running instance, for `status` under another MX_PORT
ENVFILE="$MX_ROOT/env"
STAMP="$VENV/.mx-installed"
E2EFLAG="$VENV/.mx-e2e"        # "1" if matrix-nio's e2e extra (vodozemac) got installed

SERVER_NAME=localhost
HS_URL="http://127.0.0.1:$MX_PORT"   # localhost has no .well-known: clients must use this URL
SHARED_SECRET="mx-test-shared-secret"  # fixed so Rust tests can register users themselves
USERS=(mxadmin bot alice bob carol)    # mxadmin is the server admin; password is "<name>-pw"

# Pins. matrix-nio 0.26's "e2e" extra uses vodozemac (Rust, manylinux wheels), NOT python-olm,
# so no libolm / compiler is needed. vodozemac is pinned too because it is the crypto we test with.
PIN_SYNAPSE="matrix-synapse==1.163.2"
PIN_NIO="matrix-nio==0.26.0"
PIN_NIO_E2E="matrix-nio[e2e]==0.26.0"
PIN_VODOZEMAC="vodozemac==0.10.0"

log() { printf '[synapse.sh] %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
read_pid() { [[ -f "$PIDFILE" ]] && cat "$PIDFILE" || true; }

# ---------------------------------------------------------------------------------------------
# venv: reinstall only when the pins or the Python minor version change (stamp file).
# ---------------------------------------------------------------------------------------------
ensure_venv() {
    local pyminor want
    pyminor="$("$MX_PYTHON_BASE" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    want="python=$pyminor $PIN_SYNAPSE $PIN_NIO_E2E $PIN_VODOZEMAC"
    if [[ -x "$PY" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
        return 0
    fi
    local t0; t0="$(now)"
    log "installing venv at $VENV ($want)"
    rm -rf "$VENV"
    "$MX_PYTHON_BASE" -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
    # --only-binary=:all: so we never silently start compiling C/Rust on a CI box: every
    # dependency (incl. vodozemac) ships manylinux wheels for cp311.
    if "$PY" -m pip install -q --only-binary=:all: "$PIN_SYNAPSE" "$PIN_NIO_E2E" "$PIN_VODOZEMAC"; then
        echo 1 >"$E2EFLAG"
    else
        # Fallback: no encryption on the client side. Encrypted-room tests must skip (MX_E2E=0).
        log "WARNING: matrix-nio[e2e] not installable from wheels; falling back to plain $PIN_NIO (no E2EE)"
        "$PY" -m pip install -q --only-binary=:all: "$PIN_SYNAPSE" "$PIN_NIO"
        echo 0 >"$E2EFLAG"
    fi
    echo "$want" >"$STAMP"
    log "venv ready in $(elapsed "$t0") s"
}

# ---------------------------------------------------------------------------------------------
# Config: generated homeserver.yaml stays untouched; everything we change is in overrides.yaml,
# passed as a second -c (top-level keys in later files replace the earlier ones, whole).
# ---------------------------------------------------------------------------------------------
generate_config() {
    mkdir -p "$HS"
    # cd: some generation paths are relative to the CWD; keep them inside hs/.
    (cd "$HS" && "$PY" -m synapse.app.homeserver --server-name "$SERVER_NAME" \
        --config-path "$HS/homeserver.yaml" --data-directory "$HS" \
        --generate-config --report-stats=no >"$HS/generate.log" 2>&1) || {
        log "config generation failed:"; cat "$HS/generate.log" >&2; return 1; }
}

write_log_config() {
    # The generated log config writes ./homeserver.log relative to the CWD through a buffered
    # handler; use a plain file handler in hs/ so logs are where we look on failure and flushed.
    cat >"$HS/log.yaml" <<EOF
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: $HS/homeserver.log
    encoding: utf8
loggers:
  synapse.storage.SQL:
    level: INFO
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
EOF
}

write_overrides() {
    local big="{per_second: 10000, burst_count: 100000}"
    {
        cat <<EOF
# Written by scripts/synapse.sh -- test-only overlay on the generated homeserver.yaml.
listeners:                      # client API only, IPv4 loopback only (no federation listener)
  - port: $MX_PORT
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources: [{names: [client], compress: false}]
log_config: $HS/log.yaml
registration_shared_secret: "$SHARED_SECRET"
enable_registration: false      # shared-secret registration works regardless
report_stats: false
trusted_key_servers: []         # generated default is matrix.org: no outbound traffic
suppress_key_server_warning: true
federation_domain_whitelist: [] # federation off entirely
bcrypt_rounds: 4                # default 12; makes register/login ~4x cheaper
EOF
        if [[ -n "$MX_ROOM_VERSION" ]]; then
            echo "default_room_version: \"$MX_ROOM_VERSION\""
        fi
        # Rate limits.
        #  off     (default): every rc_* limiter is effectively disabled.
        #  default: rc_message keeps Synapse's stock 0.2/s, burst 10 (note: state events such as
        #           power-level changes also go through this limiter) so a test can exercise the
        #           bot's 429 handling -- but login, registration, joins, invites, room creation etc.
        #           are STILL relaxed, because the stock login limit (0.003/s, burst 5, keyed on
        #           the client IP = 127.0.0.1 for all users) makes the 6th login in ~5 min a 429
        #           with retry_after ~316 s, and a suite that logs in several clients dies on it.
        # Keys are replaced whole by the overlay, so nested maps are spelled out completely.
        echo "# rate limits: MX_RATELIMIT=$MX_RATELIMIT"
        if [[ "$MX_RATELIMIT" == "off" ]]; then
            echo "rc_message: $big"
        fi
        cat <<EOF
rc_registration: $big
rc_registration_token_validity: $big
rc_login:
  address: $big
  account: $big
  failed_attempts: $big
rc_joins:
  local: $big
  remote: $big
rc_joins_per_room: $big
rc_invites:
  per_room: $big
  per_user: $big
  per_issuer: $big
rc_room_creation: $big
rc_3pid_validation: $big
rc_third_party_invite: $big
rc_presence:
  per_user: $big
rc_delayed_event_mgmt: $big
rc_key_requests: $big
rc_media_create: $big
rc_reports: $big
rc_user_directory: $big
rc_profile: $big
rc_admin_redaction: $big
EOF
    } >"$HS/overrides.yaml"
}

# ---------------------------------------------------------------------------------------------
# Start / wait / stop
# ---------------------------------------------------------------------------------------------
print_log_tails() {
    local f
    for f in "$HS/stdout.log" "$HS/homeserver.log"; do
        [[ -f "$f" ]] || continue
        echo "----- tail -n 40 $f -----" >&2
        tail -n 40 "$f" >&2 || true
    done
}

port_in_use() {
    "$PY" - "$MX_PORT" <<'EOF'
import socket, sys
s = socket.socket()
s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
EOF
}

start_synapse() {
    if port_in_use; then
        log "port $MX_PORT on 127.0.0.1 is already in use by something else (set MX_PORT)"
        return 1
    fi
    # Foreground process in the background (not --daemonize) so $! is the real Synapse PID.
    # cd into hs/ so any stray relative path lands there, not in the repo.
    (cd "$HS" && exec "$PY" -m synapse.app.homeserver \
        -c "$HS/homeserver.yaml" -c "$HS/overrides.yaml" >"$HS/stdout.log" 2>&1) &
    echo $! >"$PIDFILE"
    echo "$HS_URL" >"$URLFILE"
    local pid=$! deadline=$((SECONDS + 120))
    # Poll /health every 0.2 s (startup is ~1.5 s); bail out early if the process dies.
    until curl -fsS -m 2 "$HS_URL/health" >/dev/null 2>&1; do
        if ! pid_alive "$pid"; then
            log "synapse (pid $pid) exited during startup"
            print_log_tails; rm -f "$PIDFILE"; return 1
        fi
        if ((SECONDS >= deadline)); then
            log "synapse did not become healthy within 120 s"
            print_log_tails; return 1
        fi
        sleep 0.2
    done
}

stop_synapse() {
    local pid; pid="$(read_pid)"
    if ! pid_alive "$pid"; then
        rm -f "$PIDFILE"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do         # up to 10 s; Synapse normally exits in ~100 ms
        pid_alive "$pid" || break
        sleep 0.1
    done
    if pid_alive "$pid"; then
        log "synapse (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$PIDFILE" "$URLFILE"
    log "stopped synapse (pid $pid)"
}

# ---------------------------------------------------------------------------------------------
# Users: shared-secret admin registration (HMAC-SHA1 over nonce\0user\0password\0admin|notadmin).
# An existing user (MX_FRESH=0) gets M_USER_IN_USE and is logged in with its password instead.
# One Python process for all users (stdlib only) keeps this well under a second.
# Prints shell `export` lines on stdout.
# ---------------------------------------------------------------------------------------------
register_users() {
    "$PY" - "$HS_URL" "$SHARED_SECRET" "$MX_UNLIMITED_USERS" "${USERS[@]}" <<'EOF'
import hashlib, hmac, json, sys, urllib.error, urllib.request

url, secret, unlimited, users = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]

def call(method, path, body=None, token=None):
    req = urllib.request.Request(url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")

def register(name, admin):
    pw = name + "-pw"
    _, nonce = call("GET", "/_synapse/admin/v1/register")
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce["nonce"].encode(), name.encode(), pw.encode(),
                             b"admin" if admin else b"notadmin"]))
    st, r = call("POST", "/_synapse/admin/v1/register",
                 {"nonce": nonce["nonce"], "username": name, "password": pw,
                  "admin": admin, "mac": mac.hexdigest()})
    if st == 400 and r.get("errcode") == "M_USER_IN_USE":
        st, r = call("POST", "/_matrix/client/v3/login",
                     {"type": "m.login.password", "password": pw,
                      "identifier": {"type": "m.id.user", "user": name},
                      "initial_device_display_name": "synapse.sh"})
    if st != 200:
        sys.exit(f"registering/logging in {name} failed: HTTP {st} {r}")
    return pw, r

admin_token = None
for name in users:
    pw, r = register(name, admin=(name == "mxadmin"))
    up = name.upper()
    if name == "mxadmin":
        admin_token = r["access_token"]
        print(f"export MX_ADMIN_TOKEN='{admin_token}'")
    print(f"export MX_USER_{up}='{r['user_id']}'")
    print(f"export MX_TOKEN_{up}='{r['access_token']}'")
    print(f"export MX_DEVICE_{up}='{r['device_id']}'")
    print(f"export MX_PASSWORD_{up}='{pw}'")

# Optional per-user override 0/0 (stored in the DB, so re-applied on every `up`).
for name in unlimited:
    st, r = call("POST", f"/_synapse/admin/v1/users/@{name}:localhost/override_ratelimit",
                 {"messages_per_second": 0, "burst_count": 0}, token=admin_token)
    if st != 200:
        sys.exit(f"override_ratelimit for {name} failed: HTTP {st} {r}")
EOF
}

# ---------------------------------------------------------------------------------------------
cmd_up() {
    local t0; t0="$(now)"
    case "$MX_RATELIMIT" in off|default) ;; *) log "MX_RATELIMIT must be off|default"; exit 2;; esac
    mkdir -p "$MX_ROOT"
    ensure_venv

    local pid; pid="$(read_pid)"
    if [[ "$MX_FRESH" == 1 ]]; then
        stop_synapse                          # a fresh server needs a fresh process
        rm -rf "$HS"
        generate_config
    elif [[ ! -f "$HS/homeserver.yaml" ]]; then
        generate_config
    fi
    # Rewrite the overlay every time so MX_PORT / MX_RATELIMIT changes take effect
    # (only applied on a (re)start; with MX_FRESH=0 and a running server they are ignored).
    write_log_config
    write_overrides

    pid="$(read_pid)"
    if pid_alive "$pid"; then
        log "synapse already running (pid $pid); reusing it"
    else
        start_synapse
    fi
    pid="$(read_pid)"

    local exports
    exports="$(register_users)"
    {
        echo "# Generated by scripts/synapse.sh up -- source me: . $ENVFILE"
        echo "export MX_ROOT='$MX_ROOT'"
        echo "export MX_HS_URL='$HS_URL'"
        echo "export MX_SERVER_NAME='$SERVER_NAME'"
        echo "export MX_SHARED_SECRET='$SHARED_SECRET'"
        echo "export MX_SYNAPSE_PID='$pid'"
        echo "export MX_PYTHON='$PY'"
        echo "export MX_E2E='$(cat "$E2EFLAG" 2>/dev/null || echo 0)'"
        echo "export MX_RATELIMIT='$MX_RATELIMIT'"
        echo "$exports"
    } >"$ENVFILE.tmp"
    mv "$ENVFILE.tmp" "$ENVFILE"   # atomic: a reader never sees a half-written env

    log "synapse up at $HS_URL (pid $pid, ratelimit=$MX_RATELIMIT) -- env: $ENVFILE"
    echo "up took $(elapsed "$t0") s"
}

cmd_down() {
    stop_synapse
    rm -f "$ENVFILE"   # stale tokens would only mislead tests into talking to nothing
}

cmd_status() {
    local pid; pid="$(read_pid)"
    if pid_alive "$pid"; then
        [[ -f "$URLFILE" ]] && HS_URL="$(cat "$URLFILE")"
        if curl -fsS -m 2 "$HS_URL/health" >/dev/null 2>&1; then
            echo "running (pid $pid, $HS_URL, healthy)"
        else
            echo "running (pid $pid, $HS_URL, NOT answering /health)"
        fi
    else
        echo "not running"
        return 3
    fi
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
