//! `owncast-sentry check <target>`: one poll, printed.

use std::process::ExitCode;

use owncast_sentry::daemon::client_settings;
use owncast_sentry::logic::target::StreamTarget;
use owncast_sentry::owncast::OwncastClient;
use owncast_sentry::settings::Settings;
use serde_json::json;

pub fn check(settings: &Settings, input: &str, as_json: bool) -> anyhow::Result<ExitCode> {
    let target = StreamTarget::parse(input)?;
    let client = client_settings(settings);
    let outcome = super::block_on(async {
        let client = OwncastClient::new(&client)?;
        let status = client.status(&target).await?;
        // The name is a nicety: a server whose config is broken still answered the poll.
        let config = client.config(&target).await.ok();
        Ok::<_, owncast_sentry::owncast::OwncastError>((status, config))
    });
    let (status, config) = match outcome {
        Ok(found) => found,
        Err(error) => {
            if as_json {
                println!(
                    "{}",
                    json!({"domain": target.key(), "reachable": false, "error": error.to_string()})
                );
            }
            eprintln!("owncast-sentry: {target}: {error}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let name = config.as_ref().map(|c| c.name.as_str()).unwrap_or("");
    let tags = config.as_ref().map(|c| c.tags.clone()).unwrap_or_default();
    let version = status.version.as_deref().unwrap_or("unknown");
    if as_json {
        let line = json!({
            "domain": target.key(),
            "url": target.base_url().as_str(),
            "reachable": true,
            "name": name,
            "title": status.title,
            "tags": tags,
            "live": status.is_live(),
            "online": status.online,
            "last_connect_time": status.last_connect_time.map(|t| t.to_rfc3339()),
            "last_disconnect_time": status.last_disconnect_time.map(|t| t.to_rfc3339()),
            "viewer_count": status.viewer_count,
            "version": status.version,
        });
        println!("{line}");
    } else {
        let live = match status.last_connect_time {
            Some(since) => format!("live since {}", since.to_rfc3339()),
            None => "offline".to_owned(),
        };
        println!("domain:  {}", target.key());
        println!("url:     {}", target.base_url());
        println!("name:    {name}");
        println!("title:   {}", status.title);
        println!("live:    {live}");
        println!("version: {version}");
    }
    Ok(ExitCode::SUCCESS)
}
