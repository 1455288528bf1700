//! A scripted console and API session whose logs (JSON lines, everything down to TRACE) must
//! not contain any full ID number, name or account number.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::TestApp;
use reqwest::Method;
use serde_json::json;
use sscard_core::Role;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one scripted session, step by step
async fn no_full_id_number_in_the_logs() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .init();

    let app = TestApp::sqlite().await;
    let new_id = common::id(404);
    let full_ids = [
        app.person_id.expose().to_owned(),
        app.other_id.expose().to_owned(),
        new_id.expose().to_owned(),
    ];

    // The console: log in, search by ID number, open the person, reveal, report a loss.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    client
        .post(app.url("/console/login"))
        .form(&[("username", "clerk"), ("password", common::PASSWORD)])
        .send()
        .await
        .unwrap();
    let home = client
        .get(app.url("/console"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = home
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let person_page = client
        .post(app.url("/console/search"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("id_number", app.person_id.expose()),
        ])
        .send()
        .await
        .unwrap();
    assert!(person_page.url().path().starts_with("/console/persons/"));
    let revealed = client
        .post(app.url(&format!("/console/persons/{}/reveal", app.person_uuid)))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        revealed.contains(app.person_id.expose()),
        "the clerk sees it on screen"
    );
    client
        .post(app.url(&format!("/console/cards/{}/temporary-loss", app.card)))
        .form(&[("csrf", csrf.as_str()), ("reason", "电话挂失")])
        .send()
        .await
        .unwrap();
    // A search with a wrong number, typed into the URL by mistake too.
    client
        .get(app.url(&format!("/console/persons/{}", app.other_id.expose())))
        .send()
        .await
        .unwrap();

    // The API: lookup, apply, a refused apply, a bad ID number.
    let lookup = app
        .request(Some(Role::Clerk), Method::POST, "/api/v1/persons/lookup")
        .json(&json!({ "id_number": app.other_id.expose() }))
        .send()
        .await
        .unwrap();
    assert_eq!(lookup.status(), 200);
    for body in [
        json!({ "id_number": new_id.expose(), "name": "周八", "bank": "CCB", "instant": true }),
        json!({ "id_number": new_id.expose(), "name": "周八", "bank": "CCB", "instant": true }),
        json!({ "id_number": "32120219880808404X", "name": "周八", "bank": "CCB" }),
    ] {
        app.request(Some(Role::Clerk), Method::POST, "/api/v1/applications")
            .json(&body)
            .send()
            .await
            .unwrap();
    }
    app.request(Some(Role::Auditor), Method::GET, "/api/v1/audit/events")
        .send()
        .await
        .unwrap();

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/console/search") && logs.contains("/api/v1/applications"),
        "logs were captured"
    );
    assert!(
        logs.contains("full ID number revealed"),
        "the reveal is logged, without the number"
    );
    for id in &full_ids {
        assert!(
            !logs.contains(id.as_str()),
            "a full ID number appears in the logs"
        );
        assert!(
            !logs.contains(&id[..17]),
            "the first 17 characters of an ID number appear in the logs"
        );
    }
    assert!(!logs.contains("32120219880808404"));
    assert!(
        !logs.contains("张三丰") && !logs.contains("周八"),
        "names appear in the logs"
    );
}
