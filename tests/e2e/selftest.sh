#!/usr/bin/env bash
# Self-test of the e2e tooling (no Rust involved):
#   synapse.sh up -> alice creates an ENCRYPTED room inviting bob -> bob joins -> alice sends
#   -> bob receives it decrypted -> bob replies -> alice sees the reply with in_reply_to
#   -> both read the history -> synapse.sh down.
# It drives two mxclient.py processes over their JSON-lines protocol, exactly like a Rust test
# would, and prints per-step timings.
#
#   tests/e2e/selftest.sh            # uses MX_ROOT/MX_PORT/... like scripts/synapse.sh
#   MX_KEEP=1 tests/e2e/selftest.sh  # leave Synapse running afterwards
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export MX_ROOT="${MX_ROOT:-$REPO/.mx}"

t0=$(date +%s.%N)
bash "$REPO/scripts/synapse.sh" up
if [[ "${MX_KEEP:-0}" != 1 ]]; then
    trap 'bash "$REPO/scripts/synapse.sh" down' EXIT
fi
# shellcheck source=/dev/null
. "$MX_ROOT/env"

if [[ "$MX_E2E" != 1 ]]; then
    echo "selftest: E2EE support missing in the venv (MX_E2E=$MX_E2E)" >&2
    exit 1
fi

# The orchestration is Python (stdlib only) because juggling two JSON-lines coprocesses in
# bash is fragile. It only talks to mxclient.py through stdin/stdout, like the Rust tests.
"$MX_PYTHON" - "$REPO/tests/e2e/mxclient.py" <<'EOF'
import json, os, subprocess, sys, time

MXCLIENT = sys.argv[1]
HS = os.environ["MX_HS_URL"]
T0 = time.monotonic()

class Client:
    def __init__(self, user):
        self.user = user
        self.p = subprocess.Popen(
            [sys.executable, MXCLIENT, "--hs", HS, "--user", user,
             "--password", os.environ[f"MX_PASSWORD_{user.upper()}"]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        hello = self.read()
        assert hello.get("ok") and hello.get("event") == "ready", hello
        self.user_id, self.e2e = hello["user_id"], hello["e2e"]

    def read(self):
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit(f"{self.user}: mxclient exited (rc={self.p.wait()})")
        return json.loads(line)

    def __call__(self, cmd, **kw):
        t = time.monotonic()
        self.p.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
        self.p.stdin.flush()
        r = self.read()
        print(f"  {time.monotonic() - t:6.3f}s  {self.user:5} {cmd:13} -> {json.dumps(r)[:150]}")
        if not r.get("ok"):
            raise SystemExit(f"FAILED: {self.user} {cmd}: {r.get('error')}")
        return r

    def close(self):
        try:
            self("quit")
        finally:
            self.p.wait(timeout=10)

t = time.monotonic()
alice, bob = Client("alice"), Client("bob")
print(f"  {time.monotonic() - t:6.3f}s  start + login + first sync of two clients (e2e={alice.e2e})")

room = alice("create_room", invite=[bob.user_id], encrypted=True, name="selftest")["room_id"]
bob("wait_invited", room_id=room)
bob("join", room_id=room)
alice("wait_joined", room_id=room, user_id=bob.user_id)
sent = alice("send", room_id=room, body="hello bob, this is encrypted")["event_id"]
got = bob("wait_message", room_id=room, sender=alice.user_id, after_event_id=None,
          contains="hello bob")
assert got["event_id"] == sent and got["encrypted"] is True, got
assert got["body"] == "hello bob, this is encrypted", got
reply = bob("send", room_id=room, body="hi alice", reply_to=sent)["event_id"]
back = alice("wait_message", room_id=room, sender=bob.user_id, after_event_id=sent)
assert back["event_id"] == reply and back["in_reply_to"] == sent and back["encrypted"], back
hist = bob("messages", room_id=room, limit=50)["messages"]
assert [m.get("body") for m in hist] == ["hello bob, this is encrypted", "hi alice"], hist
assert not any(m.get("undecryptable") for m in hist), hist
alice.close(); bob.close()
print(f"selftest OK: encrypted round trip verified in {time.monotonic() - T0:.2f}s (client part)")
EOF
echo "selftest total (incl. synapse up): $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}') s"
