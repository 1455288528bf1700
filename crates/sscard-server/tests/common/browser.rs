//! Headless Chromium through chromedriver (`WebDriver`, `fantoccini`) for console tests:
//! without Chromium they skip with a reason; in CI (`CI=true`) they fail. Shared by the
//! server's browser tests and the CLI's demo console test (`#[path]`).

#![allow(dead_code, unreachable_pub)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver, or explains why not.
pub fn driver() -> Option<Driver> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !std::path::Path::new(p).exists())
        .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {missing:?} are missing: the browser tests must run in CI (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "skipping browser test: {missing:?} not installed (apt-get install chromium chromium-driver)"
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    Some(Driver {
        child,
        port,
        profile: tempfile::tempdir().unwrap(),
    })
}

pub async fn browser(d: &Driver) -> Client {
    let profile = d.profile.path().display().to_string();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={profile}"),
            ]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!("an object literal")
    };
    let url = format!("http://127.0.0.1:{}", d.port);
    for attempt in 0..150 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return c,
            Err(e) if attempt < 149 => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot connect to chromedriver: {e}"),
        }
    }
    unreachable!()
}

/// Signs in to the console at `base` (`http://HOST:PORT`) as `user` with `password`.
pub async fn login_at(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/console/login")).await.unwrap();
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    c.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("whoami")).await.unwrap();
}
