#!/usr/bin/env python3
"""A scriptable "human" Matrix client for end-to-end tests, built on matrix-nio.

Rust tests spawn it as a subprocess and drive it over JSON lines, so one logged-in client
(with its sync state and E2EE keys) lives across many test steps:

    $MX_PYTHON tests/e2e/mxclient.py --hs $MX_HS_URL --user alice --password alice-pw [--store DIR]

Protocol
  * The first stdout line is a greeting once login + first sync + key upload are done:
        {"ok":true,"event":"ready","user_id":"@alice:localhost","device_id":"...","e2e":true}
    or {"ok":false,"error":...} followed by exit code 1.
  * Then: one JSON command per stdin line -> exactly one JSON result per stdout line, in order.
    Results are {"ok":true,...} or {"ok":false,"error":"..."}. An optional "id" field in a
    command is echoed back in its result. stdout carries nothing else (logs go to stderr).
  * EOF on stdin behaves like {"cmd":"quit"}.

Commands (timeouts in seconds, default 30):
  create_room  {"invite":[..], "encrypted":bool, "name":str, "topic"?, "preset"?, "is_direct"?,
                "room_version"?}                                -> {"room_id"}
               Returns once the room is known from sync (so a following `send` encrypts).
  join         {"room_id"}                                      -> {"room_id"}
  wait_invited {"room_id"?}                                     -> {"room_id"}  (pending invite)
  invite       {"room_id","user_id"}                            -> {}
  set_power_level {"room_id","user_id","level"}                 -> {"event_id"}
  kick         {"room_id","user_id","reason"?}                 -> {}
  wait_joined  {"room_id","user_id"}                            -> {}
               Returns once our sync has seen that membership AND (encrypted rooms) the
               resulting device-key query is done, so a following `send` reaches that user.
  send         {"room_id","body","msgtype"?="m.text","formatted_body"?,"reply_to"?}
                                                                -> {"event_id"}
  wait_message {"room_id","sender"?,"after_event_id"?,"contains"?,"msgtype"?,"in_reply_to"?}
               -> first m.room.message in our timeline after `after_event_id` (or from the
                  start of the room if omitted) that matches every given filter:
                  {"event_id","sender","body","msgtype","formatted_body","format",
                   "in_reply_to","content","encrypted","origin_server_ts"}
  messages     {"room_id","limit"?=200} -> {"messages":[...]} server history, oldest first;
               undecryptable events appear as {"event_id","sender","undecryptable":true,...}
  whoami       {}                                               -> {"user_id","device_id"}
  register     {"username","password","admin"?=false,"shared_secret"?=$MX_SHARED_SECRET}
                                                                -> {"user_id"}
               A new account through Synapse's shared-secret admin API (no rate-limit
               override), e.g. one bot account per test so tests can run side by side.
  quit         {}                                               -> {} and exit 0

Design notes (why it looks like this):
  * A background asyncio task long-polls /sync. After each response it does the E2EE
    housekeeping (to-device, key upload/query/claim, trusting every device -- this is a test
    rig), retries decryption of events whose room key arrived late, appends timeline events to
    a per-room cache and then notifies an asyncio.Condition. All waits are predicates on that
    state re-checked on notify: no sleep loops.
  * The per-room cache is kept gap-free: if a sync timeline is "limited" (first sight of a
    room after joining, or a burst bigger than the filter limit), the missing events are
    paginated from the server, so "first match after X" is reliable.
  * Room ids are treated as opaque strings: room version 12 ids have no ":server" part
    ("!abc..."), which is Synapse 1.163's default.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from typing import Any, Callable

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinError,
    LoginResponse,
    MegolmEvent,
    RoomCreateError,
    RoomGetStateEventError,
    RoomInviteError,
    RoomMessagesError,
    RoomPreset,
    RoomKickError,
    RoomPutStateError,
    RoomSendError,
    SyncError,
)
from nio.api import MessageDirection

try:
    from nio.crypto import ENCRYPTION_ENABLED
except ImportError:  # pragma: no cover
    ENCRYPTION_ENABLED = False

log = logging.getLogger("mxclient")

SYNC_TIMEOUT_MS = 30_000
# Big timeline limit so bursts from the bot rarely produce "limited" (gappy) syncs; gaps that
# still happen are back-filled anyway.
SYNC_FILTER = {"room": {"timeline": {"limit": 100}}}
ENC_CONTENT = {"algorithm": "m.megolm.v1.aes-sha2"}


class CommandError(Exception):
    pass


def event_json(ev: Any) -> dict[str, Any]:
    """Flatten a (possibly decrypted) nio room event into the JSON shape tests see."""
    src = ev.source or {}
    if isinstance(ev, MegolmEvent):
        return {
            "event_id": ev.event_id,
            "sender": ev.sender,
            "undecryptable": True,
            "encrypted": True,
            "session_id": ev.session_id,
            "origin_server_ts": ev.server_timestamp,
        }
    content = src.get("content") or {}
    relates = content.get("m.relates_to") or {}
    return {
        "event_id": ev.event_id,
        "sender": ev.sender,
        "type": src.get("type"),
        "body": content.get("body"),
        "msgtype": content.get("msgtype"),
        "formatted_body": content.get("formatted_body"),
        "format": content.get("format"),
        "in_reply_to": (relates.get("m.in_reply_to") or {}).get("event_id"),
        "content": content,
        "encrypted": bool(getattr(ev, "decrypted", False)),
        "origin_server_ts": getattr(ev, "server_timestamp", None),
    }


def is_message(ev: Any) -> bool:
    return not isinstance(ev, MegolmEvent) and (ev.source or {}).get("type") == "m.room.message"


class Driver:
    def __init__(self, client: AsyncClient):
        self.c = client
        self.cond = asyncio.Condition()
        # room_id -> ordered list of timeline events (all types; messages decrypted when possible)
        self.timeline: dict[str, list[Any]] = {}
        self.seen: dict[str, set[str]] = {}
        self.crypto_lock = asyncio.Lock()  # serialises key query/claim/share with `send`
        self.sync_task: asyncio.Task | None = None
        self.sync_error: str | None = None
        self.first_sync_done = asyncio.Event()

    # ------------------------------------------------------------------ sync loop
    async def sync_loop(self) -> None:
        first = True
        while True:
            resp = await self.c.sync(timeout=0 if first else SYNC_TIMEOUT_MS,
                                     sync_filter=SYNC_FILTER, full_state=first)
            if isinstance(resp, SyncError):
                # Transient (e.g. Synapse restarting); surface it to waits but keep going.
                self.sync_error = f"sync failed: {resp.message}"
                log.warning(self.sync_error)
                await asyncio.sleep(0.5)
                continue
            self.sync_error = None
            async with self.crypto_lock:
                await self.crypto_housekeeping()
            await self.ingest(resp)
            first = False
            self.first_sync_done.set()
            async with self.cond:
                self.cond.notify_all()

    async def crypto_housekeeping(self) -> None:
        """What nio's sync_forever does concurrently; done sequentially here so that, when a
        wait returns, keys for newly seen members are already known."""
        c = self.c
        if not c.olm:
            return
        await c.send_to_device_messages()
        if c.should_upload_keys:
            await c.keys_upload()
        if c.should_query_keys:
            await c.keys_query()
        if c.should_claim_keys:
            await c.keys_claim(c.get_users_for_key_claiming())
        self.trust_everyone()

    def trust_everyone(self) -> None:
        # Test setup: trust every device we know about (there is no human to verify).
        for dev in list(self.c.device_store):
            if dev.deleted or (dev.user_id == self.c.user_id and dev.device_id == self.c.device_id):
                continue
            if not self.c.olm.is_device_verified(dev):
                self.c.verify_device(dev)

    async def ingest(self, resp: Any) -> None:
        for room_id, info in resp.rooms.join.items():
            events = list(info.timeline.events)
            known = self.seen.setdefault(room_id, set())
            tl = self.timeline.setdefault(room_id, [])
            if info.timeline.limited and info.timeline.prev_batch:
                # Gap between what we have and this batch (or the room's whole history on
                # first sight): fetch it so the cache stays complete.
                older = await self.paginate_back(room_id, info.timeline.prev_batch, stop_at=known)
                events = older + events
            for ev in events:
                if ev.event_id in known:
                    continue
                if isinstance(ev, MegolmEvent):
                    ev.room_id = room_id
                known.add(ev.event_id)
                tl.append(ev)
        self.retry_decryption()

    async def paginate_back(self, room_id: str, token: str, stop_at: set[str],
                            max_events: int = 10_000) -> list[Any]:
        """Events older than `token`, oldest first, stopping at an already known event."""
        out: list[Any] = []
        while token and len(out) < max_events:
            r = await self.c.room_messages(room_id, start=token, direction=MessageDirection.back,
                                           limit=100)
            if isinstance(r, RoomMessagesError):
                log.warning("back-fill of %s failed: %s", room_id, r.message)
                break
            hit_known = False
            for ev in r.chunk:  # newest first
                if ev.event_id in stop_at:
                    hit_known = True
                    break
                out.append(ev)
            if hit_known or not r.chunk or not r.end or r.end == token:
                break
            token = r.end
        out.reverse()
        return out

    def retry_decryption(self) -> None:
        """Room keys can arrive (to-device) after the message: decrypt cached events again."""
        if not self.c.olm:
            return
        for room_id, tl in self.timeline.items():
            for i, ev in enumerate(tl):
                if isinstance(ev, MegolmEvent):
                    ev.room_id = room_id
                    try:
                        tl[i] = self.c.decrypt_event(ev)
                    except Exception:  # noqa: BLE001 - still no key; try after the next sync
                        pass

    async def wait_for(self, pred: Callable[[], Any], timeout: float, what: str) -> Any:
        """Re-evaluate `pred` whenever the sync loop has ingested something."""
        async def _wait():
            async with self.cond:
                while True:
                    v = pred()
                    if v:
                        return v
                    await self.cond.wait()
        try:
            return await asyncio.wait_for(_wait(), timeout)
        except asyncio.TimeoutError:
            extra = f" (last sync error: {self.sync_error})" if self.sync_error else ""
            raise CommandError(f"timed out after {timeout}s waiting for {what}{extra}") from None

    # ------------------------------------------------------------------ helpers
    def room_known(self, room_id: str) -> bool:
        return room_id in self.c.rooms

    def is_joined(self, room_id: str, user_id: str) -> bool:
        room = self.c.rooms.get(room_id)
        if room is None:
            return False
        u = room.users.get(user_id)
        return u is not None and not getattr(u, "invited", False)

    async def wait_room(self, room_id: str, timeout: float) -> None:
        await self.wait_for(lambda: self.room_known(room_id), timeout, f"room {room_id} in sync")

    # ------------------------------------------------------------------ commands
    async def cmd_whoami(self, a: dict) -> dict:
        return {"user_id": self.c.user_id, "device_id": self.c.device_id}

    async def cmd_create_room(self, a: dict) -> dict:
        encrypted = bool(a.get("encrypted", False))
        if encrypted and not self.c.olm:
            raise CommandError("encrypted room requested but E2EE is unavailable in this venv")
        initial_state = []
        if encrypted:
            initial_state.append({"type": "m.room.encryption", "state_key": "",
                                  "content": ENC_CONTENT})
        preset = RoomPreset(a["preset"]) if a.get("preset") else None
        r = await self.c.room_create(
            name=a.get("name"), topic=a.get("topic"), invite=list(a.get("invite", [])),
            initial_state=initial_state, preset=preset, is_direct=bool(a.get("is_direct", False)),
            room_version=a.get("room_version"))
        if isinstance(r, RoomCreateError):
            raise CommandError(f"room_create: {r.status_code} {r.message}")
        # Wait until sync knows the room (and its encryption state), so `send` does the right thing.
        await self.wait_room(r.room_id, float(a.get("timeout", 30)))
        return {"room_id": r.room_id}

    async def cmd_join(self, a: dict) -> dict:
        room_id = a["room_id"]
        r = await self.c.join(room_id)
        if isinstance(r, JoinError):
            raise CommandError(f"join: {r.status_code} {r.message}")
        await self.wait_room(room_id, float(a.get("timeout", 30)))
        return {"room_id": room_id}

    async def cmd_wait_invited(self, a: dict) -> dict:
        want = a.get("room_id")

        def pred():
            for rid in self.c.invited_rooms:
                if want is None or rid == want:
                    return rid
            return None
        rid = await self.wait_for(pred, float(a.get("timeout", 30)), "an invite")
        return {"room_id": rid}

    async def cmd_invite(self, a: dict) -> dict:
        r = await self.c.room_invite(a["room_id"], a["user_id"])
        if isinstance(r, RoomInviteError):
            raise CommandError(f"invite: {r.status_code} {r.message}")
        return {}

    async def cmd_kick(self, a: dict) -> dict:
        r = await self.c.room_kick(a["room_id"], a["user_id"], a.get("reason"))
        if isinstance(r, RoomKickError):
            raise CommandError(f"kick: {r.status_code} {r.message}")
        return {}

    async def cmd_set_power_level(self, a: dict) -> dict:
        room_id, user_id, level = a["room_id"], a["user_id"], int(a["level"])
        r = await self.c.room_get_state_event(room_id, "m.room.power_levels")
        if isinstance(r, RoomGetStateEventError):
            raise CommandError(f"get power levels: {r.status_code} {r.message}")
        content = dict(r.content)
        content["users"] = dict(content.get("users") or {})
        content["users"][user_id] = level
        p = await self.c.room_put_state(room_id, "m.room.power_levels", content)
        if isinstance(p, RoomPutStateError):
            raise CommandError(f"set power levels: {p.status_code} {p.message}")
        return {"event_id": p.event_id}

    async def cmd_wait_joined(self, a: dict) -> dict:
        room_id, user_id = a["room_id"], a["user_id"]
        # True only after the sync that carried the join was fully processed, which includes
        # the key query for the new member (crypto_housekeeping runs before notify).
        await self.wait_for(lambda: self.is_joined(room_id, user_id), float(a.get("timeout", 30)),
                            f"{user_id} to join {room_id}")
        return {}

    async def cmd_send(self, a: dict) -> dict:
        room_id = a["room_id"]
        timeout = float(a.get("timeout", 30))
        await self.wait_room(room_id, timeout)
        room = self.c.rooms[room_id]
        if room.encrypted and not self.c.olm:
            raise CommandError("room is encrypted but E2EE is unavailable in this venv")
        content: dict[str, Any] = {"msgtype": a.get("msgtype", "m.text"), "body": a["body"]}
        if a.get("formatted_body") is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = a["formatted_body"]
        if a.get("reply_to"):
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": a["reply_to"]}}
        async with self.crypto_lock:
            if room.encrypted and self.c.should_query_keys:
                await self.c.keys_query()
                self.trust_everyone()
            r = await asyncio.wait_for(
                self.c.room_send(room_id, "m.room.message", content,
                                 ignore_unverified_devices=True), timeout)
        if isinstance(r, RoomSendError):
            raise CommandError(f"send: {r.status_code} {r.message}")
        return {"event_id": r.event_id}

    async def cmd_wait_message(self, a: dict) -> dict:
        room_id = a["room_id"]
        sender, after = a.get("sender"), a.get("after_event_id")
        contains, msgtype = a.get("contains"), a.get("msgtype")
        reply_to = a.get("in_reply_to")

        def pred():
            tl = self.timeline.get(room_id, [])
            start = 0
            if after:
                for i, ev in enumerate(tl):
                    if ev.event_id == after:
                        start = i + 1
                        break
                else:
                    return None  # anchor not seen yet: keep waiting for it
            for ev in tl[start:]:
                if not is_message(ev):
                    continue
                j = event_json(ev)
                if sender and j["sender"] != sender:
                    continue
                if msgtype and j["msgtype"] != msgtype:
                    continue
                if contains and contains not in (j["body"] or ""):
                    continue
                if reply_to and j["in_reply_to"] != reply_to:
                    continue
                return j
            return None
        desc = f"message in {room_id} from {sender or 'anyone'}" + (
            f" after {after}" if after else "") + (f" containing {contains!r}" if contains else "") + (
            f" replying to {reply_to}" if reply_to else "")
        return await self.wait_for(pred, float(a.get("timeout", 30)), desc)

    async def cmd_messages(self, a: dict) -> dict:
        room_id, limit = a["room_id"], int(a.get("limit", 200))
        # No `from` token = start at the live end of the room. (Our sync token could be older
        # than an event we just sent, which would then be missing from the history.)
        token: str | None = None
        out: list[Any] = []
        filt = {"types": ["m.room.message", "m.room.encrypted"]}
        while len(out) < limit:
            r = await self.c.room_messages(room_id, start=token, direction=MessageDirection.back,
                                           limit=min(100, limit - len(out)), message_filter=filt)
            if isinstance(r, RoomMessagesError):
                raise CommandError(f"messages: {r.status_code} {r.message}")
            out.extend(r.chunk)  # nio already decrypted what it could
            if not r.chunk or not r.end or r.end == token:
                break
            token = r.end
        out.reverse()
        msgs = []
        for ev in out:
            if isinstance(ev, MegolmEvent):
                ev.room_id = room_id
                try:
                    ev = self.c.decrypt_event(ev)
                except Exception:  # noqa: BLE001
                    msgs.append(event_json(ev))
                    continue
            if is_message(ev):
                msgs.append(event_json(ev))
        return {"messages": msgs}

    async def cmd_register(self, a: dict) -> dict:
        secret = a.get("shared_secret") or os.environ.get("MX_SHARED_SECRET")
        if not secret:
            raise CommandError("register needs shared_secret or MX_SHARED_SECRET")
        name, password, admin = a["username"], a["password"], bool(a.get("admin", False))
        url = self.c.homeserver.rstrip("/") + "/_synapse/admin/v1/register"

        def call(body: dict | None) -> tuple[int, dict]:
            req = urllib.request.Request(
                url, method="GET" if body is None else "POST",
                data=None if body is None else json.dumps(body).encode(),
                headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return r.status, json.load(r)
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read() or b"{}")

        # urllib blocks: off the event loop, so the sync loop keeps running meanwhile.
        st, nonce = await asyncio.to_thread(call, None)
        if st != 200:
            raise CommandError(f"register nonce: HTTP {st} {nonce}")
        mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce["nonce"].encode(), name.encode(), password.encode(),
                                 b"admin" if admin else b"notadmin"]))
        st, r = await asyncio.to_thread(call, {
            "nonce": nonce["nonce"], "username": name, "password": password, "admin": admin,
            "mac": mac.hexdigest()})
        if st != 200:
            raise CommandError(f"register {name}: HTTP {st} {r.get('errcode')} {r.get('error')}")
        return {"user_id": r["user_id"]}

    async def cmd_quit(self, a: dict) -> dict:
        return {}


async def read_lines(reader: asyncio.StreamReader):
    while True:
        line = await reader.readline()
        if not line:
            return
        line = line.strip()
        if line:
            yield line


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


async def amain(args: argparse.Namespace) -> int:
    store_dir = args.store
    tmp_store = None
    if store_dir is None:
        tmp_store = store_dir = tempfile.mkdtemp(prefix="mxclient-")
    os.makedirs(store_dir, exist_ok=True)

    user = args.user
    if not user.startswith("@"):
        user = f"@{user}:{args.server_name}"
    cfg = AsyncClientConfig(encryption_enabled=ENCRYPTION_ENABLED, store_sync_tokens=False)
    client = AsyncClient(args.hs, user, store_path=store_dir, config=cfg)
    driver = Driver(client)
    rc = 0
    try:
        resp = await client.login(args.password, device_name=args.device_name)
        if not isinstance(resp, LoginResponse):
            emit({"ok": False, "error": f"login failed: {resp}"})
            return 1
        driver.sync_task = asyncio.create_task(driver.sync_loop())
        done, _ = await asyncio.wait({driver.sync_task, asyncio.create_task(
            driver.first_sync_done.wait())}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if not driver.first_sync_done.is_set():
            err = driver.sync_task.exception() if driver.sync_task.done() else "timeout"
            emit({"ok": False, "error": f"first sync failed: {err}"})
            return 1
        emit({"ok": True, "event": "ready", "user_id": client.user_id,
              "device_id": client.device_id, "e2e": bool(client.olm)})

        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        async for raw in read_lines(reader):
            cid = name = None
            try:
                try:
                    cmd = json.loads(raw)
                except ValueError as e:
                    raise CommandError(f"bad JSON command: {e}") from None
                if not isinstance(cmd, dict):
                    raise CommandError("command must be a JSON object")
                cid = cmd.get("id")
                name = cmd.get("cmd")
                handler = getattr(driver, f"cmd_{name}", None) if isinstance(name, str) else None
                if handler is None:
                    raise CommandError(f"unknown cmd {name!r}")
                if driver.sync_task.done():
                    raise CommandError(f"sync loop died: {driver.sync_task.exception()!r}")
                result = {"ok": True, **(await handler(cmd))}
            except CommandError as e:
                result = {"ok": False, "error": str(e)}
            except KeyError as e:
                result = {"ok": False, "error": f"missing field {e}"}
            except Exception as e:  # noqa: BLE001 - report, keep the driver alive
                log.exception("command failed")
                result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            if cid is not None:
                result["id"] = cid
            emit(result)
            if result.get("ok") and name == "quit":
                break
    finally:
        if driver.sync_task:
            driver.sync_task.cancel()
            try:
                await driver.sync_task
            except BaseException:  # noqa: BLE001 - cancelled or already failed
                pass
        await client.close()
        if tmp_store:
            shutil.rmtree(tmp_store, ignore_errors=True)
    return rc


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hs", default=os.environ.get("MX_HS_URL", "http://127.0.0.1:8008"))
    p.add_argument("--user", required=True, help="localpart or full @user:server")
    p.add_argument("--password", help="default: <localpart>-pw (the synapse.sh convention)")
    p.add_argument("--server-name", default=os.environ.get("MX_SERVER_NAME", "localhost"))
    p.add_argument("--store", help="nio crypto store dir (default: fresh temp dir, deleted on exit)")
    p.add_argument("--device-name", default="mxclient")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logs on stderr")
    args = p.parse_args()
    if args.password is None:
        args.password = args.user.lstrip("@").split(":")[0] + "-pw"
    logging.basicConfig(stream=sys.stderr,
                        level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s mxclient[" + args.user + "] %(name)s %(levelname)s %(message)s")
    if not args.verbose:
        # nio.crypto logs routine things ("Missing session for device X" before a key claim)
        # as WARNING; keep test output quiet unless asked.
        logging.getLogger("nio.crypto").setLevel(logging.ERROR)
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
