//! Server settings: defaults, then a TOML file, then `SSCARD_*` environment variables, then
//! command-line flags (applied by the binary).

use serde::Deserialize;

/// Server settings. `Debug` hides the database password.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// Database URL.
    pub db: String,
    /// Log as JSON lines instead of text.
    pub log_json: bool,
    /// Console session lifetime.
    pub session_hours: i64,
    /// Largest request body.
    pub body_limit_bytes: usize,
    /// Longest request.
    pub request_timeout_secs: u64,
    /// Failed logins allowed per user name / address within the window.
    pub login_max_failures: usize,
    /// The window of the login limiter.
    pub login_window_secs: u64,
    /// Requests the self-service page (`/self`) takes per address within its window.
    pub self_max_requests: usize,
    /// The window of the self-service limiter.
    pub self_window_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            db: sscard_store::DEFAULT_URL.into(),
            log_json: false,
            session_hours: 12,
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            login_max_failures: 5,
            login_window_secs: 300,
            self_max_requests: 30,
            self_window_secs: 600,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("db", &redact_url(&self.db))
            .field("log_json", &self.log_json)
            .field("session_hours", &self.session_hours)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("login_max_failures", &self.login_max_failures)
            .field("login_window_secs", &self.login_window_secs)
            .field("self_max_requests", &self.self_max_requests)
            .field("self_window_secs", &self.self_window_secs)
            .finish()
    }
}

/// A database URL with its password hidden (`postgres://user:***@host/db`).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..s], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Why settings could not be read.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ServerConfig {
    /// Reads the TOML file (if given) over the defaults, then the environment over that.
    pub fn load(file: Option<&std::path::Path>) -> Result<ServerConfig, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!(
                        "无法读取配置文件 {}（cannot read config file）: {e}",
                        path.display()
                    ))
                })?;
                toml::from_str(&text).map_err(|e| {
                    ConfigError(format!(
                        "配置文件 {} 有误（invalid config file）: {e}",
                        path.display()
                    ))
                })?
            }
            None => ServerConfig::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    /// Applies `SSCARD_LISTEN`, `SSCARD_DB`, `SSCARD_LOG_JSON`, `SSCARD_SESSION_HOURS`,
    /// `SSCARD_BODY_LIMIT_BYTES`, `SSCARD_REQUEST_TIMEOUT_SECS`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ConfigError> {
            v.parse().map_err(|_| {
                ConfigError(format!("环境变量 {name} 应为数字（must be a number）: {v}"))
            })
        }
        if let Some(v) = get("SSCARD_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("SSCARD_DB") {
            self.db = v;
        }
        if let Some(v) = get("SSCARD_LOG_JSON") {
            self.log_json = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = get("SSCARD_SESSION_HOURS") {
            self.session_hours = num("SSCARD_SESSION_HOURS", &v)?;
        }
        if let Some(v) = get("SSCARD_BODY_LIMIT_BYTES") {
            self.body_limit_bytes = num("SSCARD_BODY_LIMIT_BYTES", &v)?;
        }
        if let Some(v) = get("SSCARD_REQUEST_TIMEOUT_SECS") {
            self.request_timeout_secs = num("SSCARD_REQUEST_TIMEOUT_SECS", &v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_database_password() {
        let config = ServerConfig {
            db: "postgres://sscard:s3cret-pw@db.internal:5432/sscard".into(),
            ..ServerConfig::default()
        };
        let text = format!("{config:?}");
        assert!(!text.contains("s3cret-pw"), "{text}");
        assert!(
            text.contains("postgres://sscard:***@db.internal:5432/sscard"),
            "{text}"
        );
    }
}
