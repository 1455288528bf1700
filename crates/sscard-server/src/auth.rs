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

/// Counts failed logins per key (the console uses the user name); after `max` failures within
/// `window` further attempts are refused until the window has passed. Memory is bounded: at
/// most `capacity` keys are kept; when full, expired keys are swept and, if still full, the key
/// whose last failure is oldest is forgotten.
#[derive(Debug)]
pub struct LoginLimiter {
    max: usize,
    window: Duration,
    capacity: usize,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

/// The most keys a [`LoginLimiter`] keeps by default.
pub const LIMITER_CAPACITY: usize = 10_000;

impl LoginLimiter {
    /// A limiter allowing `max` failures per `window`, keeping at most [`LIMITER_CAPACITY`] keys.
    pub fn new(max: usize, window: Duration) -> Self {
        Self::with_capacity(max, window, LIMITER_CAPACITY)
    }

    /// A limiter keeping at most `capacity` keys (at least one).
    pub fn with_capacity(max: usize, window: Duration, capacity: usize) -> Self {
        Self {
            max,
            window,
            capacity: capacity.max(1),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` may try now. Asking records nothing.
    pub fn allowed(&self, key: &str) -> bool {
        let map = self.failures.lock().expect("not poisoned");
        let now = Instant::now();
        map.get(key).is_none_or(|times| {
            times
                .iter()
                .filter(|t| now.duration_since(**t) < self.window)
                .count()
                < self.max
        })
    }

    /// Records a failure for `key`.
    pub fn failed(&self, key: &str) {
        let mut map = self.failures.lock().expect("not poisoned");
        let now = Instant::now();
        if !map.contains_key(key) && map.len() >= self.capacity {
            map.retain(|_, times| {
                times.retain(|t| now.duration_since(*t) < self.window);
                !times.is_empty()
            });
            if map.len() >= self.capacity
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, times)| times.last().copied())
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let times = map.entry(key.to_owned()).or_default();
        times.retain(|t| now.duration_since(*t) < self.window);
        times.push(now);
    }

    /// Forgets the failures of `key` after a success.
    pub fn succeeded(&self, key: &str) {
        self.failures.lock().expect("not poisoned").remove(key);
    }

    /// How many keys are kept now.
    pub fn keys(&self) -> usize {
        self.failures.lock().expect("not poisoned").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_max_failures_and_forgets_on_success() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.allowed("user:a"));
            l.failed("user:a");
        }
        assert!(!l.allowed("user:a"));
        assert!(l.allowed("user:b"), "another key is not affected");
        l.succeeded("user:a");
        assert!(l.allowed("user:a"));
    }

    #[test]
    fn asking_does_not_grow_the_map() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        for i in 0..1000 {
            assert!(l.allowed(&format!("user:{i}")));
        }
        assert_eq!(l.keys(), 0);
    }

    #[test]
    fn memory_is_bounded_by_capacity() {
        let l = LoginLimiter::with_capacity(3, Duration::from_secs(60), 100);
        for _ in 0..3 {
            l.failed("user:target");
        }
        for i in 0..10_000 {
            l.failed(&format!("user:spray{i}"));
        }
        assert!(l.keys() <= 100, "{} keys kept", l.keys());
        // The key under attack is the oldest and may be forgotten, but never more than capacity
        // keys are held; a fresh burst against it is counted again.
        for _ in 0..3 {
            l.failed("user:target");
        }
        assert!(!l.allowed("user:target"));
    }

    #[test]
    fn expired_failures_are_swept_before_evicting() {
        let l = LoginLimiter::with_capacity(2, Duration::from_millis(20), 2);
        l.failed("user:old1");
        l.failed("user:old2");
        std::thread::sleep(Duration::from_millis(30));
        l.failed("user:new");
        assert_eq!(l.keys(), 1, "both expired keys swept");
        assert!(l.allowed("user:old1"));
    }
}
