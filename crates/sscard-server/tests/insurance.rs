//! The insurance record over HTTP: enrolment, lookup, a filing and its cancellation, for the
//! roles that may; ID numbers only in bodies; money as exact decimal strings.

mod common;

use reqwest::Method;
use serde_json::{Value, json};
use sscard_core::Role;
use sscard_ids::{PersonName, ResidentId};
use sscard_store::{Ctx, PersonInput};

const ID: &str = "321202198808081014";

on_both!(insurance_record_over_http, |app| {
    let id = ResidentId::parse(ID).unwrap();
    app.store
        .register_people(
            &Ctx::system("test:setup"),
            &[PersonInput::new(id, PersonName::parse("张三").unwrap())],
        )
        .await
        .unwrap();
    let post = |role: Role, path: &'static str, body: Value| {
        app.request(Some(role), Method::POST, path)
            .json(&body)
            .send()
    };
    let enrol = json!({"id_number": ID, "insutype": "310", "psn_type": "1101",
        "region": "321200", "from": "2026-01-01", "balance": "1000.50"});
    let r = post(Role::Clerk, "/api/v1/insurance/enrolments", enrol.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(Role::Clerk, "/api/v1/insurance/enrolments", enrol)
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "insurance.already_enrolled");
    let bad = json!({"id_number": ID, "insutype": "390", "psn_type": "1501",
        "region": "321200", "from": "2026-01-01", "balance": "1.001"});
    let r = post(Role::Clerk, "/api/v1/insurance/enrolments", bad)
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // An auditor reads and may not enrol.
    let r = post(
        Role::Auditor,
        "/api/v1/insurance/lookup",
        json!({"id_number": ID}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["accounts"][0]["balance"], "1000.50");
    assert!(!v.to_string().contains(ID));
    let r = post(Role::Auditor, "/api/v1/insurance/filings", json!({}))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let filing = json!({"id_number": ID, "insutype": "310", "region": "320100",
        "from": "2026-03-01", "to": "2026-08-31", "kind": "temporary"});
    let r = post(Role::Clerk, "/api/v1/insurance/filings", filing)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let f: Value = r.json().await.unwrap();
    let serial = f["serial"].as_str().unwrap().to_owned();
    let r = app
        .request(
            Some(Role::Clerk),
            Method::POST,
            &format!("/api/v1/insurance/filings/{serial}/cancel"),
        )
        .json(&json!({"note": "已返回泰州"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "cancelled");
});
