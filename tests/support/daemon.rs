//! Runs the real `owncast-sentry` binary: writes its configuration, starts `run`, reads the
//! stdout notifier's JSON lines and the logs, and stops it with SIGTERM.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::watch;

pub const BIN: &str = env!("CARGO_BIN_EXE_owncast-sentry");
const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// A configuration file built key by key.
#[derive(Clone)]
pub struct Config {
    sections: BTreeMap<String, BTreeMap<String, String>>,
    pub path: PathBuf,
}

impl Config {
    /// Fast polling, private addresses allowed (fakes listen on 127.0.0.1), no cooldowns.
    pub fn new(dir: &Path, database_url: &str) -> Config {
        let mut config = Config {
            sections: BTreeMap::new(),
            path: dir.join("owncast-sentry.toml"),
        };
        config
            .set("database", "url", database_url)
            .set("owncast", "poll_interval", "100ms")
            .set("owncast", "request_timeout", "2s")
            .set_raw("owncast", "allow_private_addresses", "true")
            .set("notifications", "cooldown", "0s")
            .set("notifications", "temporary_offline_cooldown", "0s");
        config.write();
        config
    }

    pub fn set(&mut self, section: &str, key: &str, value: &str) -> &mut Config {
        self.set_raw(section, key, &format!("{value:?}"))
    }

    pub fn set_raw(&mut self, section: &str, key: &str, toml: &str) -> &mut Config {
        self.sections
            .entry(section.into())
            .or_default()
            .insert(key.into(), toml.into());
        self.write();
        self
    }

    fn write(&self) {
        let mut text = String::new();
        for (section, keys) in &self.sections {
            text.push_str(&format!("[{section}]\n"));
            for (key, value) in keys {
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
        std::fs::write(&self.path, text).expect("write config");
    }

    /// Runs a one-shot subcommand (`check`, `subscriptions …`, `migrate`).
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(&self.path)
            .env_remove("RUST_LOG")
            .output()
            .expect("run owncast-sentry")
    }

    /// `subscriptions add`, which must succeed.
    pub fn subscribe(&self, room: &str, target: &str) {
        let out = self.cli(&["subscriptions", "add", room, target]);
        assert!(
            out.status.success(),
            "subscriptions add {room} {target}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

pub struct Daemon {
    child: Child,
    stdout: UnboundedReceiver<String>,
    /// Every log line so far; the watch counts them and closes when the daemon exits.
    log: Arc<Mutex<Vec<String>>>,
    log_lines: watch::Receiver<usize>,
    /// Notifications read so far, in order.
    pub seen: Vec<Value>,
}

impl Daemon {
    pub fn start(config: &Config) -> Daemon {
        let mut child = Command::new(BIN)
            .arg("run")
            .arg("--config")
            .arg(&config.path)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start owncast-sentry run");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (out_tx, stdout) = unbounded_channel();
        let stdout_pipe = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout_pipe).lines().map_while(Result::ok) {
                let _ = out_tx.send(line);
            }
        });
        let (count_tx, log_lines) = watch::channel(0);
        let stderr_pipe = child.stderr.take().expect("stderr");
        let log_copy = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                let count = {
                    let mut log = log_copy.lock().unwrap();
                    log.push(line);
                    log.len()
                };
                count_tx.send_replace(count);
            }
        });
        Daemon {
            child,
            stdout,
            log,
            log_lines,
            seen: Vec::new(),
        }
    }

    /// Every log line so far.
    pub fn logs(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits for the next notification line.
    pub async fn next_notification(&mut self) -> Value {
        match tokio::time::timeout(WAIT_LIMIT, self.stdout.recv()).await {
            Ok(Some(line)) => {
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                self.seen.push(value.clone());
                value
            }
            Ok(None) => panic!("daemon exited; logs:\n{}", self.logs()),
            Err(_) => panic!(
                "no notification within {WAIT_LIMIT:?}; logs:\n{}",
                self.logs()
            ),
        }
    }

    /// Waits until some log line (of this run, from its start) contains every one of
    /// `needles`; returns it.
    pub async fn wait_log(&mut self, needles: &[&str]) -> String {
        let search = |log: &Vec<String>| {
            log.iter()
                .find(|line| needles.iter().all(|n| line.contains(n)))
                .cloned()
        };
        let found = tokio::time::timeout(WAIT_LIMIT, async {
            loop {
                if let Some(line) = search(&self.log.lock().unwrap()) {
                    return Some(line);
                }
                if self.log_lines.changed().await.is_err() {
                    return search(&self.log.lock().unwrap());
                }
            }
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            Ok(None) => panic!("daemon exited before logging {needles:?}:\n{}", self.logs()),
            Err(_) => panic!("no log line with {needles:?}; logs:\n{}", self.logs()),
        }
    }

    /// SIGTERM; waits for the exit and returns its status with every notification printed
    /// since the last one read (shutdown commits and delivers everything pending first).
    pub async fn stop(mut self) -> (ExitStatus, Vec<Value>) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        kill(pid, Signal::SIGTERM).expect("SIGTERM");
        let mut rest = Vec::new();
        loop {
            match tokio::time::timeout(WAIT_LIMIT, self.stdout.recv()).await {
                Ok(Some(line)) => rest.push(serde_json::from_str(&line).expect("JSON line")),
                Ok(None) => break,
                Err(_) => panic!("daemon did not exit after SIGTERM; logs:\n{}", self.logs()),
            }
        }
        let status = self.child.wait().expect("wait for daemon");
        (status, rest)
    }

    /// SIGKILL: no shutdown at all.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The kinds of a list of notifications, for compact assertions.
pub fn kinds(notifications: &[Value]) -> Vec<String> {
    notifications
        .iter()
        .map(|n| {
            format!(
                "{}:{}",
                n["kind"].as_str().unwrap_or("?"),
                n["domain"].as_str().unwrap_or("?")
            )
        })
        .collect()
}
