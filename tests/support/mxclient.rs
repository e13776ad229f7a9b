//! Drives `tests/e2e/mxclient.py`, an independent Matrix client (matrix-nio, with E2EE), over
//! its JSON-lines protocol: one command per line in, one result per line out. See the module
//! docstring of that script for the commands.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/mxclient.py");
/// Login, first sync and key upload.
const START_LIMIT: Duration = Duration::from_secs(90);
/// The script's own default wait, for commands that are not given a `timeout`.
const SCRIPT_DEFAULT_WAIT: u64 = 30;
/// Beyond a command's own timeout: the script answers a timed-out wait with an error, which
/// says more than this side giving up.
const ANSWER_MARGIN: Duration = Duration::from_secs(30);

/// Where the homeserver of `scripts/synapse.sh` is, from the environment it writes (`.mx/env`).
#[derive(Debug, Clone)]
pub struct MxEnv {
    pub hs_url: String,
    pub python: String,
    pub shared_secret: String,
    pub server_name: String,
    pub e2e: bool,
}

impl MxEnv {
    /// `None` when no homeserver was set up (`MX_HS_URL` unset): the caller skips.
    pub fn from_env() -> Option<MxEnv> {
        let hs_url = std::env::var("MX_HS_URL").ok().filter(|s| !s.is_empty())?;
        let get = |key: &str, default: &str| std::env::var(key).unwrap_or_else(|_| default.into());
        Some(MxEnv {
            hs_url,
            python: get("MX_PYTHON", "python3"),
            shared_secret: get("MX_SHARED_SECRET", "mx-test-shared-secret"),
            server_name: get("MX_SERVER_NAME", "localhost"),
            e2e: get("MX_E2E", "0") == "1",
        })
    }

    pub fn user_id(&self, localpart: &str) -> String {
        format!("@{localpart}:{}", self.server_name)
    }
}

/// One logged-in client process with its own device and sync loop.
pub struct MxClient {
    pub user_id: String,
    pub device_id: String,
    pub e2e: bool,
    label: String,
    child: Child,
    stdin: ChildStdin,
    lines: UnboundedReceiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl MxClient {
    /// Logs `localpart` in with `password` (a new device) and waits for the first sync.
    pub async fn start(env: &MxEnv, localpart: &str, password: &str) -> MxClient {
        let mut child = Command::new(&env.python)
            .arg(SCRIPT)
            .args([
                "--hs",
                &env.hs_url,
                "--user",
                localpart,
                "--password",
                password,
            ])
            .args(["--server-name", &env.server_name])
            .env("MX_SHARED_SECRET", &env.shared_secret)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {} {SCRIPT}: {e}", env.python));
        let stdin = child.stdin.take().expect("stdin");
        let (tx, lines) = unbounded_channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let copy = stderr.clone();
        let pipe = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                copy.lock().unwrap().push(line);
            }
        });
        let mut client = MxClient {
            user_id: String::new(),
            device_id: String::new(),
            e2e: false,
            label: localpart.to_owned(),
            child,
            stdin,
            lines,
            stderr,
        };
        let hello = client.read(START_LIMIT, "the ready greeting").await;
        assert!(
            hello["ok"] == true && hello["event"] == "ready",
            "{localpart}: mxclient did not start: {hello}\n{}",
            client.stderr_tail()
        );
        client.user_id = str_field(&hello, "user_id");
        client.device_id = str_field(&hello, "device_id");
        client.e2e = hello["e2e"] == true;
        client
    }

    fn stderr_tail(&self) -> String {
        let lines = self.stderr.lock().unwrap();
        let start = lines.len().saturating_sub(30);
        format!("mxclient stderr (tail):\n{}", lines[start..].join("\n"))
    }

    async fn read(&mut self, limit: Duration, what: &str) -> Value {
        match tokio::time::timeout(limit, self.lines.recv()).await {
            Ok(Some(line)) => serde_json::from_str(&line).unwrap_or_else(|e| {
                panic!(
                    "{}: not JSON ({e}): {line}\n{}",
                    self.label,
                    self.stderr_tail()
                )
            }),
            Ok(None) => panic!(
                "{}: mxclient exited while waiting for {what}\n{}",
                self.label,
                self.stderr_tail()
            ),
            Err(_) => panic!(
                "{}: no answer for {what} within {limit:?}\n{}",
                self.label,
                self.stderr_tail()
            ),
        }
    }

    /// Sends one command and returns its result; the error if the client answers `ok: false`.
    pub async fn try_call(&mut self, command: Value) -> Result<Value, String> {
        let wait = command["timeout"].as_f64().map_or(
            Duration::from_secs(SCRIPT_DEFAULT_WAIT),
            Duration::from_secs_f64,
        );
        let line = format!("{command}\n");
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("{}: write to mxclient: {e}", self.label));
        let what = command["cmd"].to_string();
        let answer = self.read(wait + ANSWER_MARGIN, &what).await;
        if answer["ok"] == true {
            Ok(answer)
        } else {
            Err(answer["error"].as_str().unwrap_or("?").to_owned())
        }
    }

    /// Sends one command and returns its result; panics when the client answers `ok: false`.
    pub async fn call(&mut self, command: Value) -> Value {
        let shown = command.to_string();
        match self.try_call(command).await {
            Ok(answer) => answer,
            Err(error) => panic!("{}: {shown} failed: {error}", self.label),
        }
    }

    /// A new account (Synapse's shared-secret registration, no rate-limit override).
    pub async fn register(&mut self, localpart: &str, password: &str) -> String {
        let r = self
            .call(json!({"cmd": "register", "username": localpart, "password": password}))
            .await;
        str_field(&r, "user_id")
    }

    pub async fn create_room(&mut self, invite: &[&str], encrypted: bool, name: &str) -> String {
        let r = self
            .call(json!({
                "cmd": "create_room", "invite": invite, "encrypted": encrypted, "name": name,
            }))
            .await;
        str_field(&r, "room_id")
    }

    pub async fn invite(&mut self, room_id: &str, user_id: &str) {
        self.call(json!({"cmd": "invite", "room_id": room_id, "user_id": user_id}))
            .await;
    }

    /// Waits for an invite to `room_id`, then joins.
    pub async fn join(&mut self, room_id: &str) {
        self.call(json!({"cmd": "wait_invited", "room_id": room_id}))
            .await;
        self.call(json!({"cmd": "join", "room_id": room_id})).await;
    }

    pub async fn set_power_level(&mut self, room_id: &str, user_id: &str, level: i64) {
        self.call(json!({
            "cmd": "set_power_level", "room_id": room_id, "user_id": user_id, "level": level,
        }))
        .await;
    }

    /// Waits until this client's sync has seen `user_id` join (and, in an encrypted room,
    /// fetched their device keys).
    pub async fn wait_joined(&mut self, room_id: &str, user_id: &str, timeout: u64) {
        self.call(json!({
            "cmd": "wait_joined", "room_id": room_id, "user_id": user_id, "timeout": timeout,
        }))
        .await;
    }

    /// Sends an `m.text` message; returns its event id.
    pub async fn send(&mut self, room_id: &str, body: &str) -> String {
        let r = self
            .call(json!({"cmd": "send", "room_id": room_id, "body": body}))
            .await;
        str_field(&r, "event_id")
    }

    /// The first message from `sender` after `after` (the room's start if `None`).
    pub async fn wait_message_from(
        &mut self,
        room_id: &str,
        sender: &str,
        after: Option<&str>,
        timeout: u64,
    ) -> Value {
        self.call(json!({
            "cmd": "wait_message", "room_id": room_id, "sender": sender,
            "after_event_id": after, "timeout": timeout,
        }))
        .await
    }

    /// The first reply from `sender` to the event `command`.
    pub async fn wait_reply(
        &mut self,
        room_id: &str,
        sender: &str,
        command: &str,
        timeout: u64,
    ) -> Value {
        self.call(json!({
            "cmd": "wait_message", "room_id": room_id, "sender": sender,
            "in_reply_to": command, "timeout": timeout,
        }))
        .await
    }

    /// The server's history of the room, oldest first (undecryptable events included).
    pub async fn messages(&mut self, room_id: &str) -> Vec<Value> {
        let r = self
            .call(json!({"cmd": "messages", "room_id": room_id, "limit": 1000}))
            .await;
        r["messages"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for MxClient {
    /// Asks the client to quit, so it removes its temporary crypto store; kills it if it
    /// does not go within a few seconds.
    fn drop(&mut self) {
        let _ = self.stdin.write_all(b"{\"cmd\":\"quit\"}\n");
        let _ = self.stdin.flush();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn str_field(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{key}` in {v}"))
        .to_owned()
}
