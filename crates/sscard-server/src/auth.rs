//! Authentication: argon2 password hashes, session cookies (`HttpOnly`, `SameSite=Strict`) for the
//! console, bearer API tokens for scripts, and a login rate limiter. Tokens are random 32-byte
//! values; the database keeps only their SM3 hashes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::HeaderMap;
use sm3::Digest;
use sscard_store::{StaffAccount, Store};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sscard_session";

/// Hashes a password as an argon2id PHC string.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes encode");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

/// Checks a password against a stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A fresh random token (64 hex characters).
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(sm3::Sm3::digest(token.as_bytes()))
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// How a caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A console session, with its CSRF token.
    Session { csrf: String, token_hash: String },
    /// A bearer API token.
    Token,
}

/// An authenticated staff member.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account.
    pub staff: StaffAccount,
    /// How it authenticated.
    pub via: Via,
}

impl Caller {
    /// The actor: the account's role and scope, the name the audit trail records. Built here
    /// once for the API and the console alike; the store checks its scope.
    pub fn actor(&self) -> sscard_core::Actor {
        self.staff.actor()
    }
}

/// Finds the caller of a request: a bearer token first, then the session cookie.
pub async fn authenticate(
    store: &Store,
    headers: &HeaderMap,
) -> Result<Option<Caller>, sscard_store::StoreError> {
    if let Some(auth) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return Ok(None);
        };
        return Ok(store
            .token_staff(&token_hash(token.trim()))
            .await?
            .map(|staff| Caller {
                staff,
                via: Via::Token,
            }));
    }
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        let hash = token_hash(&token);
        return Ok(store
            .session(&hash, chrono::Utc::now())
            .await?
            .map(|(staff, csrf)| Caller {
                staff,
                via: Via::Session {
                    csrf,
                    token_hash: hash,
                },
            }));
    }
    Ok(None)
}

/// Counts failed logins per user name and per client address; after `max` failures within
/// `window` further attempts are refused until the window has passed.
#[derive(Debug)]
pub struct LoginLimiter {
    max: usize,
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// A limiter allowing `max` failures per `window`.
    pub fn new(max: usize, window: Duration) -> Self {
        Self {
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` may try now.
    pub fn allowed(&self, key: &str) -> bool {
        let mut map = self.failures.lock().expect("not poisoned");
        let now = Instant::now();
        let entry = map.entry(key.to_owned()).or_default();
        entry.retain(|t| now.duration_since(*t) < self.window);
        entry.len() < self.max
    }

    /// Records a failure for `key`.
    pub fn failed(&self, key: &str) {
        self.failures
            .lock()
            .expect("not poisoned")
            .entry(key.to_owned())
            .or_default()
            .push(Instant::now());
    }

    /// Forgets the failures of `key` after a success.
    pub fn succeeded(&self, key: &str) {
        self.failures.lock().expect("not poisoned").remove(key);
    }
}
