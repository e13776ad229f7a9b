use super::*;
use std::io::Write;

fn load(toml: &str, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(toml.as_bytes()).unwrap();
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Settings::load_with_env(Some(file.path()), env)
}

fn message(r: Result<Settings, SettingsError>) -> String {
    r.expect_err("should be refused").to_string()
}

#[test]
fn defaults_match_the_contract() {
    let s = load("", &[]).unwrap();
    assert_eq!(s.database.url, "sqlite://owncast-sentry.db");
    assert_eq!(s.owncast.poll_interval, Duration::from_secs(60));
    assert_eq!(s.owncast.request_timeout, Duration::from_secs(10));
    assert_eq!(s.notifications.cooldown, Duration::from_secs(1200));
    assert_eq!(
        s.notifications.temporary_offline_cooldown,
        Duration::from_secs(300)
    );
    assert_eq!(s.notifications.msgtype, MsgType::Text);
    assert_eq!(s.failures.stale_after, Duration::from_secs(600));
    assert_eq!(s.failures.warn_after, Duration::from_secs(86_400));
    assert_eq!(s.failures.remove_after, Duration::from_secs(7 * 86_400));
    assert_eq!(s.failures.max_backoff, Duration::from_secs(3600));
    assert!(s.matrix.is_none());
    assert!(!s.owncast.allow_private_addresses);
}

#[test]
fn durations_are_human_strings() {
    let s = load(
        "[owncast]\npoll_interval = \"90s\"\n[notifications]\ncooldown = \"20m\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(s.owncast.poll_interval, Duration::from_secs(90));
    assert_eq!(s.notifications.cooldown, Duration::from_secs(1200));
}

#[test]
fn environment_overrides_the_file() {
    let s = load(
        "[owncast]\npoll_interval = \"90s\"\n",
        &[
            ("OWNCAST_SENTRY__OWNCAST__POLL_INTERVAL", "2m"),
            ("OWNCAST_SENTRY__OWNCAST__ALLOW_PRIVATE_ADDRESSES", "true"),
            ("OWNCAST_SENTRY__DATABASE__URL", "postgres://x@127.0.0.1/db"),
            ("OWNCAST_SENTRY_UNRELATED", "ignored"),
        ],
    )
    .unwrap();
    assert_eq!(s.owncast.poll_interval, Duration::from_secs(120));
    assert!(s.owncast.allow_private_addresses);
    assert_eq!(s.database.url, "postgres://x@127.0.0.1/db");
}

#[test]
fn matrix_secrets_come_from_the_environment() {
    let s = load(
        "[matrix]\nhomeserver = \"https://m.example\"\nuser_id = \"@bot:example\"\n",
        &[
            ("OWNCAST_SENTRY__MATRIX__PASSWORD", "12345"),
            ("OWNCAST_SENTRY__MATRIX__ADMINS", "@a:x,@b:y"),
        ],
    )
    .unwrap();
    let m = s.matrix.unwrap();
    assert_eq!(m.password.as_deref(), Some("12345"));
    assert_eq!(m.admins, vec!["@a:x", "@b:y"]);
    assert_eq!(m.command_prefix, "!owncast");
    assert_eq!(m.min_power_level, 50);
}

#[test]
fn unknown_keys_are_refused_by_name() {
    assert!(message(load("[owncast]\npoll_intervall = \"1m\"\n", &[])).contains("poll_intervall"));
    assert!(message(load("[databse]\nurl = \"x\"\n", &[])).contains("databse"));
    assert!(message(load("", &[("OWNCAST_SENTRY__FAILURES__STALE", "1m")])).contains("stale"));
}

#[test]
fn bad_values_are_refused_with_the_key() {
    let m = message(load("[owncast]\npoll_interval = \"soon\"\n", &[]));
    assert!(m.contains("poll_interval"), "{m}");
    let m = message(load("[owncast]\npoll_interval = \"0s\"\n", &[]));
    assert!(m.contains("owncast.poll_interval"), "{m}");
    let m = message(load("[owncast]\nmax_concurrent_requests = \"many\"\n", &[]));
    assert!(m.contains("max_concurrent_requests"), "{m}");
    let m = message(load("[notifications]\nmsgtype = \"m.emote\"\n", &[]));
    assert!(m.contains("msgtype"), "{m}");
    let m = message(load("[database]\nurl = \"mysql://x\"\n", &[]));
    assert!(m.contains("database.url"), "{m}");
    let m = message(load("[owncast]\nproxy = \"not a url\"\n", &[]));
    assert!(m.contains("owncast.proxy"), "{m}");
}

#[test]
fn matrix_section_is_checked() {
    let m = message(load(
        "[matrix]\nhomeserver = \"https://m\"\nuser_id = \"@b:m\"\n",
        &[],
    ));
    assert!(m.contains("matrix.password"), "{m}");
    let m = message(load(
        "[matrix]\nhomeserver = \"m.example\"\nuser_id = \"@b:m\"\npassword = \"p\"\n",
        &[],
    ));
    assert!(m.contains("matrix.homeserver"), "{m}");
    let m = message(load(
        "[matrix]\nhomeserver = \"https://m\"\nuser_id = \"bot\"\npassword = \"p\"\n",
        &[],
    ));
    assert!(m.contains("matrix.user_id"), "{m}");
}

#[test]
fn a_missing_file_is_named() {
    let m = Settings::load_with_env(Some(Path::new("/nonexistent/x.toml")), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(m.contains("/nonexistent/x.toml"), "{m}");
}
