//! A fleet of simulated Owncast servers polled by the real daemon, against a baseline.
//!
//! One local HTTP proxy stands in for every server (`http://s<i>.fleet.invalid`), answering
//! `/api/status` in Owncast's wire format; each server goes live, changes title and goes
//! offline every few polls, so transitions, writes and notifications happen at scale. The
//! daemon (`owncast-sentry run`, stdout notifier, SQLite) runs as its own process and its CPU
//! time and memory are read from /proc. The baseline is this program re-run as a minimal
//! poller in its own process: the same requests at the same pace, each body parsed into a JSON
//! value, nothing else. Their ratio is the cost of everything the daemon adds.
//!
//!     cargo bench --bench fleet -- [--streams 2000] [--interval 10] [--rounds 3]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use owncast_sentry::actors::scheduler::cadence;
use owncast_sentry::storage::{self, subscriptions};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const BASELINE_ENV: &str = "FLEET_BASELINE";
/// Polls per phase of a simulated server (offline, live, live with a new title).
const POLLS_PER_PHASE: usize = 4;
const BUCKET: Duration = Duration::from_millis(100);

struct Args {
    streams: usize,
    interval: u64,
    rounds: u64,
}

fn args() -> Args {
    let mut args = Args {
        streams: 2000,
        interval: 10,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        match arg.as_str() {
            "--streams" => args.streams = value() as usize,
            "--interval" => args.interval = value(),
            "--rounds" => args.rounds = value(),
            _ => {} // cargo bench passes `--bench`
        }
    }
    args
}

/// Per-host poll counts drive each simulated server through its phases.
struct Fleet {
    polls: Mutex<std::collections::HashMap<String, usize>>,
    served: AtomicUsize,
    started: Instant,
    buckets: Mutex<Vec<usize>>,
}

/// wiremock's responder for the shared fleet state.
struct FleetResponder(Arc<Fleet>);

impl Respond for FleetResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let host = request.url.host_str().unwrap_or("").to_owned();
        if request.url.path() == "/api/config" {
            return ResponseTemplate::new(200).set_body_raw(
                format!("{{\"name\":\"{host}\",\"summary\":\"\",\"tags\":[\"bench\"]}}\n"),
                "application/json",
            );
        }
        let n = {
            let mut polls = self.0.polls.lock().unwrap();
            let n = polls.entry(host.clone()).or_default();
            *n += 1;
            *n
        };
        self.0.served.fetch_add(1, Ordering::Relaxed);
        let bucket = (self.0.started.elapsed().as_millis() / BUCKET.as_millis()) as usize;
        {
            let mut buckets = self.0.buckets.lock().unwrap();
            if buckets.len() <= bucket {
                buckets.resize(bucket + 1, 0);
            }
            buckets[bucket] += 1;
        }
        let cycle = n / POLLS_PER_PHASE;
        let now = Utc::now().format("%Y-%m-%dT%H:%M:%S%.9fZ");
        let session = format!("\"2026-01-01T00:{:02}:00Z\"", (cycle / 3) % 60);
        let body = match cycle % 3 {
            0 => format!(
                "{{\"serverTime\":\"{now}\",\"lastConnectTime\":null,\"lastDisconnectTime\":\"2026-01-01T00:00:00Z\",\"versionNumber\":\"0.2.3\",\"streamTitle\":\"Episode\",\"online\":false}}\n"
            ),
            phase => format!(
                "{{\"serverTime\":\"{now}\",\"lastConnectTime\":{session},\"lastDisconnectTime\":null,\"versionNumber\":\"0.2.3\",\"streamTitle\":\"Episode part {phase}\",\"viewerCount\":3,\"online\":true}}\n"
            ),
        };
        ResponseTemplate::new(200).set_body_raw(body, "application/json")
    }
}

/// CPU time (user + system) and memory of a process, from /proc.
fn usage(pid: u32) -> (Duration, u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    let hz = 100; // USER_HZ on Linux
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (
        Duration::from_millis(ticks * 1000 / hz),
        kib("VmRSS:"),
        kib("VmHWM:"),
    )
}

struct Measured {
    polls: usize,
    cpu: Duration,
    rss_kib: u64,
    peak_kib: u64,
    peak_to_mean: f64,
}

/// Runs `child` through a warm-up interval, then measures `rounds` intervals.
async fn measure(child: &mut Child, fleet: &Fleet, args: &Args) -> Measured {
    let interval = Duration::from_secs(args.interval);
    tokio::time::sleep(interval + Duration::from_secs(1)).await;
    let (cpu0, _, _) = usage(child.id());
    let served0 = fleet.served.load(Ordering::Relaxed);
    let bucket0 = (fleet.started.elapsed().as_millis() / BUCKET.as_millis()) as usize;
    tokio::time::sleep(interval * args.rounds as u32).await;
    let (cpu1, rss, peak) = usage(child.id());
    let polls = fleet.served.load(Ordering::Relaxed) - served0;
    let bucket1 = (fleet.started.elapsed().as_millis() / BUCKET.as_millis()) as usize;
    let buckets = fleet.buckets.lock().unwrap();
    let window = &buckets[bucket0.min(buckets.len())..bucket1.min(buckets.len())];
    let mean = window.iter().sum::<usize>() as f64 / window.len().max(1) as f64;
    let max = window.iter().copied().max().unwrap_or(0) as f64;
    Measured {
        polls,
        cpu: cpu1.saturating_sub(cpu0),
        rss_kib: rss,
        peak_kib: peak,
        peak_to_mean: if mean > 0.0 { max / mean } else { 0.0 },
    }
}

fn per_thousand(m: &Measured) -> f64 {
    m.cpu.as_secs_f64() * 1000.0 * 1000.0 / m.polls.max(1) as f64
}

fn print(label: &str, m: &Measured) {
    println!(
        "{label:<9} polls {:>7}  cpu {:>7.0} ms  cpu/1000 polls {:>7.1} ms  rss {:>6} KiB (peak {:>6})  busiest 100 ms / mean {:.2}",
        m.polls,
        m.cpu.as_secs_f64() * 1000.0,
        per_thousand(m),
        m.rss_kib,
        m.peak_kib,
        m.peak_to_mean
    );
}

/// The baseline poller: the same requests at the same pace, parsed, nothing kept.
async fn baseline(proxy: String, streams: usize, interval: u64) {
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(&proxy).unwrap())
        .build()
        .unwrap();
    // The daemon's own cadence, so both poll at the same pace.
    let (gap, per_tick) = cadence(Duration::from_secs(interval), streams);
    let mut tick = tokio::time::interval(gap);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut i = 0;
    loop {
        tick.tick().await;
        for _ in 0..per_tick {
            let url = format!("http://s{}.fleet.invalid/api/status", i % streams);
            let client = client.clone();
            tokio::spawn(async move {
                if let Ok(response) = client.get(url).send().await
                    && let Ok(bytes) = response.bytes().await
                {
                    let _ = serde_json::from_slice::<serde_json::Value>(&bytes);
                }
            });
            i += 1;
        }
    }
}

fn main() {
    if let Ok(spec) = std::env::var(BASELINE_ENV) {
        let mut parts = spec.split(' ');
        let proxy = parts.next().unwrap().to_owned();
        let streams = parts.next().unwrap().parse().unwrap();
        let interval = parts.next().unwrap().parse().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(baseline(proxy, streams, interval));
        return;
    }
    let args = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(args));
}

async fn run(args: Args) {
    let fleet = Arc::new(Fleet {
        polls: Mutex::new(Default::default()),
        served: AtomicUsize::new(0),
        started: Instant::now(),
        buckets: Mutex::new(Vec::new()),
    });
    // The journal of every request would grow without bound over a long run.
    let proxy = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(any())
        .respond_with(FleetResponder(fleet.clone()))
        .mount(&proxy)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("fleet.db").display());
    {
        let mut db = storage::connect(&db_url).unwrap();
        for i in 0..args.streams {
            subscriptions::add(
                &mut db,
                "!fleet:bench",
                &format!("http://s{i}.fleet.invalid"),
                "bench",
                Utc::now(),
                usize::MAX,
            )
            .unwrap();
        }
    }
    let config = dir.path().join("fleet.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{db_url}\"\n[owncast]\npoll_interval = \"{}s\"\nproxy = \"{}\"\nrequest_timeout = \"5s\"\n[notifications]\ncooldown = \"0s\"\ntemporary_offline_cooldown = \"0s\"\n",
            args.interval,
            proxy.uri()
        ),
    )
    .unwrap();

    println!(
        "fleet: {} streams, poll interval {} s, measured over {} intervals after one warm-up",
        args.streams, args.interval, args.rounds
    );
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_owncast-sentry"))
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let notifications = Arc::new(AtomicUsize::new(0));
    let counter = notifications.clone();
    let stdout = daemon.stdout.take().unwrap();
    std::thread::spawn(move || {
        for _ in BufReader::new(stdout).lines().map_while(Result::ok) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let ours = measure(&mut daemon, &fleet, &args).await;
    let _ = daemon.kill();
    let _ = daemon.wait();

    let mut base = Command::new(std::env::current_exe().unwrap())
        .env(
            BASELINE_ENV,
            format!("{} {} {}", proxy.uri(), args.streams, args.interval),
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let theirs = measure(&mut base, &fleet, &args).await;
    let _ = base.kill();
    let _ = base.wait();

    print("daemon", &ours);
    print("baseline", &theirs);
    println!(
        "daemon/baseline cpu per poll: {:.2}x   notifications printed: {}   expected polls per window: {}",
        per_thousand(&ours) / per_thousand(&theirs).max(f64::EPSILON),
        notifications.load(Ordering::Relaxed),
        args.streams as u64 * args.rounds
    );
}
