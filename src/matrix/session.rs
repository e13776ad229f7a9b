//! Logging in, and keeping the session: the device, its access token and the encryption store
//! live under `matrix.store_path`, so a restart reuses the same device and encrypted rooms keep
//! working.

use std::path::{Path, PathBuf};

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::ruma::{OwnedUserId, UserId};
use matrix_sdk::{Client, SessionMeta, SessionTokens};

use super::MatrixError;
use crate::settings::MatrixSettings;

const SESSION_FILE: &str = "session.json";
const STORE_DIR: &str = "store";

fn session_path(settings: &MatrixSettings) -> PathBuf {
    settings.store_path.join(SESSION_FILE)
}

fn session_error(path: &Path, reason: impl ToString) -> MatrixError {
    MatrixError::Session {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// A logged-in client: the stored session if there is one, else a new login.
pub async fn connect(settings: &MatrixSettings) -> Result<Client, MatrixError> {
    let user_id =
        UserId::parse(&settings.user_id).map_err(|_| MatrixError::Id(settings.user_id.clone()))?;
    std::fs::create_dir_all(&settings.store_path)
        .map_err(|e| session_error(&settings.store_path, e))?;
    let client = Client::builder()
        .homeserver_url(&settings.homeserver)
        .sqlite_store(settings.store_path.join(STORE_DIR), None)
        .build()
        .await?;

    let path = session_path(settings);
    if let Some(session) = load(&path)? {
        if session.meta.user_id != user_id {
            return Err(MatrixError::WrongUser {
                path: settings.store_path.display().to_string(),
                stored: session.meta.user_id.to_string(),
                configured: user_id.to_string(),
            });
        }
        tracing::info!(device = %session.meta.device_id, "restoring the Matrix session");
        client.restore_session(session).await?;
        return Ok(client);
    }

    let session = match (&settings.password, &settings.access_token) {
        (Some(password), _) => {
            let auth = client.matrix_auth();
            auth.login_username(&user_id, password)
                .initial_device_display_name(&settings.device_name)
                .send()
                .await?;
            auth.session()
                .ok_or_else(|| session_error(&path, "login gave no session"))?
        }
        (None, Some(token)) => token_session(&client, &user_id, token).await?,
        (None, None) => return Err(session_error(&path, "no password or access token")),
    };
    save(&path, &session)?;
    if client.matrix_auth().session().is_none() {
        client.restore_session(session.clone()).await?;
    }
    tracing::info!(device = %session.meta.device_id, "logged in to Matrix");
    Ok(client)
}

/// A session for a given access token: the homeserver tells which device it belongs to.
async fn token_session(
    client: &Client,
    user_id: &OwnedUserId,
    token: &str,
) -> Result<MatrixSession, MatrixError> {
    let probe = Client::builder()
        .homeserver_url(client.homeserver())
        .build()
        .await?;
    let provisional = MatrixSession {
        meta: SessionMeta {
            user_id: user_id.clone(),
            device_id: "UNKNOWN".into(),
        },
        tokens: SessionTokens {
            access_token: token.to_owned(),
            refresh_token: None,
        },
    };
    probe.restore_session(provisional.clone()).await?;
    let who = probe.whoami().await?;
    let device_id = who
        .device_id
        .ok_or_else(|| MatrixError::Id("the access token has no device".into()))?;
    Ok(MatrixSession {
        meta: SessionMeta {
            user_id: who.user_id,
            device_id,
        },
        tokens: provisional.tokens,
    })
}

fn load(path: &Path) -> Result<Option<MatrixSession>, MatrixError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| session_error(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(session_error(path, e)),
    }
}

fn save(path: &Path, session: &MatrixSession) -> Result<(), MatrixError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;

    let json = serde_json::to_vec_pretty(session).map_err(|e| session_error(path, e))?;
    // The access token is a password: readable by this user only.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| session_error(path, e))?;
    file.write_all(&json).map_err(|e| session_error(path, e))
}
