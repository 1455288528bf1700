//! Console tests in a real browser: headless Chromium driven through chromedriver (`WebDriver`)
//! with `fantoccini`. Without Chromium they skip with a reason; in CI (`CI=true`) they fail.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::TestApp;
use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver {
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
fn driver() -> Option<Driver> {
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

async fn browser(d: &Driver) -> Client {
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

async fn login(c: &Client, app: &TestApp, user: &str) {
    c.goto(&app.url("/console/login")).await.unwrap();
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(common::PASSWORD)
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

async fn text(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one scripted session, step by step
async fn clerk_reports_a_temporary_loss_and_auditor_cannot() {
    let Some(d) = driver() else { return };
    let app = TestApp::sqlite().await;
    let c = browser(&d).await;

    // The clerk logs in, finds the person by ID number, opens the card and reports a loss.
    login(&c, &app, "clerk").await;
    c.find(Locator::Id("search-id"))
        .await
        .unwrap()
        .send_keys(app.person_id.expose())
        .await
        .unwrap();
    c.find(Locator::Id("search-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("person-id"))
        .await
        .unwrap();
    assert_eq!(
        text(&c, "person-id").await,
        app.person_id.masked(),
        "the ID number is shown masked"
    );
    c.find(Locator::Id("reveal"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("revealed")).await.unwrap();
    assert_eq!(
        text(&c, "revealed").await,
        app.person_id.expose(),
        "the audited reveal shows it in full"
    );
    c.find(Locator::Css("a.card-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("ss-status"))
        .await
        .unwrap();
    let status = text(&c, "ss-status").await;
    assert!(status.contains("正常"), "{status:?}");
    c.find(Locator::Id("action-temporary-loss"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("confirm")).await.unwrap();
    c.find(Locator::Id("reason"))
        .await
        .unwrap()
        .send_keys("持卡人电话挂失")
        .await
        .unwrap();
    c.find(Locator::Id("confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("flash")).await.unwrap();
    let status = text(&c, "ss-status").await;
    assert!(
        status.contains("临时挂失") && status.contains('4'),
        "{status}"
    );
    assert_eq!(
        app.store.card(&app.card).await.unwrap().ss_status,
        sscard_core::SsStatus::TemporaryLoss
    );

    // The language switch.
    c.find(Locator::Id("lang-en"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("lang-zh")).await.unwrap();
    let status = text(&c, "ss-status").await;
    assert!(status.contains("temporary_loss"), "{status}");
    assert!(
        c.find(Locator::Id("logout"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Log out")
    );
    c.find(Locator::Id("lang-zh"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("lang-en")).await.unwrap();
    assert!(text(&c, "ss-status").await.contains("临时挂失"));
    c.find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("login")).await.unwrap();

    // The auditor sees the card without any action button, and a direct POST gets 403.
    login(&c, &app, "auditor").await;
    c.goto(&app.url(&format!("/console/cards/{}", app.other_card)))
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("ss-status"))
        .await
        .unwrap();
    assert!(
        c.find(Locator::Id("action-temporary-loss")).await.is_err(),
        "no button for the auditor"
    );
    assert!(
        c.find(Locator::Css("#actions button")).await.is_err(),
        "no action buttons at all"
    );
    let status = c
        .execute_async(
            "const [url, done] = arguments; \
             fetch(url, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'csrf=x&reason='}) \
               .then(r => done(r.status));",
            vec![serde_json::json!(format!("/console/cards/{}/temporary-loss", app.other_card))],
        )
        .await
        .unwrap();
    assert_eq!(status, serde_json::json!(403));
    assert_eq!(
        app.store.card(&app.other_card).await.unwrap().ss_status,
        sscard_core::SsStatus::Normal
    );
    // The confirmation page itself is refused too.
    c.goto(&app.url(&format!("/console/cards/{}/temporary-loss", app.other_card)))
        .await
        .unwrap();
    assert_eq!(text(&c, "error-code").await, "auth.forbidden");
    // The audit view is the auditor's.
    c.goto(&app.url("/console/audit")).await.unwrap();
    assert!(text(&c, "audit-status").await.contains("完整"));
    c.close().await.unwrap();
}
