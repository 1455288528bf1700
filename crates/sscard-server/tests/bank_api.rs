//! The bank side over HTTP on both backends, for banks that push instead of exchanging files:
//! status reports (a report on another bank's card refused, the rest applied, each once), the
//! centre's notices as exports, a payment file answered as JSON (once), and who may see what.

mod common;

use common::{TestApp, id};
use reqwest::Method;
use serde_json::{Value, json};
use sscard_core::Role;
use sscard_ids::{BankCardNumber, PersonName};
use sscard_store::{ApplyRequest, Ctx, PersonInput};

async fn call(
    app: &TestApp,
    role: Role,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = app.request(Some(role), method, path);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

on_both!(a_bank_pushes_and_pulls_its_own, |app| {
    let ctx = Ctx::system("system:test");
    let store = &app.store;
    // A card of another bank (the harness's `bank` account is CCB's, 105).
    let req = ApplyRequest {
        person: PersonInput::new(id(404), PersonName::parse("钱多多").unwrap()),
        bank: "TZRCB".into(),
        kind: sscard_core::BusinessType::New,
        source: sscard_core::ApplicationSource::Individual,
        instant: true,
        outlet: None,
    };
    let other = store.apply(&ctx, &req).await.unwrap().card_number.unwrap();
    let account = BankCardNumber::from_payload("621700000000012345")
        .unwrap()
        .expose()
        .to_owned();
    let body = json!({ "events": [
        { "ref": "r1", "card_number": app.card.as_str(), "event": "opened", "account": account, "at": "2026-12-01T09:00:00+08:00" },
        { "ref": "r2", "card_number": other.as_str(), "event": "frozen", "at": "2026-12-01T09:01:00+08:00" },
        { "ref": "r4", "card_number": app.card.as_str(), "event": "activated", "at": "2026-12-01T09:02:00+08:00" },
    ]});
    let (status, out) = call(
        &app,
        Role::Bank,
        Method::POST,
        "/api/v1/bank/events",
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["applied"], 2, "{out}");
    assert_eq!(out["refused"][0]["code"], "auth.out_of_scope", "{out}");
    let card = store.card(&ctx, &app.card).await.unwrap();
    assert_eq!(
        card.financial_status,
        sscard_core::FinancialStatus::Active,
        "activated at the bank"
    );
    let (_, again) = call(
        &app,
        Role::Bank,
        Method::POST,
        "/api/v1/bank/events",
        Some(body),
    )
    .await;
    assert_eq!(
        (again["applied"].as_u64(), again["already"].as_u64()),
        (Some(0), Some(3)),
        "{again}"
    );
    let (status, bad) = call(&app, Role::Bank, Method::POST, "/api/v1/bank/events", Some(json!({ "events": [
        { "ref": "r3", "card_number": app.card.as_str(), "event": "exploded", "at": "2026-12-01T09:00:00+08:00" }]}))).await;
    assert_eq!(
        (status, bad["field"].as_str()),
        (422, Some("events[0].event")),
        "{bad}"
    );

    // The centre reports the card formally lost: CCB's next export carries it, once.
    store.report_formal_loss(&ctx, &app.card).await.unwrap();
    let (status, export) = call(&app, Role::Bank, Method::POST, "/api/v1/bank/exports", None).await;
    assert_eq!(status, 200, "{export}");
    let events: Vec<&str> = export["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["formal_loss"], "{export}");
    assert_eq!(export["events"][0]["account"], account.as_str());
    let n = export["export_no"].as_i64().unwrap();
    let (_, next) = call(&app, Role::Bank, Method::POST, "/api/v1/bank/exports", None).await;
    assert_eq!(next["events"], json!([]), "{next}");
    let (_, same) = call(
        &app,
        Role::Bank,
        Method::GET,
        &format!("/api/v1/bank/exports/{n}"),
        None,
    )
    .await;
    assert_eq!(same["events"], export["events"]);
    // Another bank's exports are not CCB's to take.
    let (status, _) = call(
        &app,
        Role::Bank,
        Method::POST,
        "/api/v1/bank/exports?bank=314",
        None,
    )
    .await;
    assert_eq!(status, 403);

    // A subsidy to the card's account, answered by CCB as JSON.
    store.unfreeze(&ctx, &app.card).await.unwrap();
    let input = sscard_store::bank::PaymentBatchInput {
        kind: sscard_core::PaymentKind::Subsidy,
        period: "2026-11".into(),
        file_sha256: "api-test".into(),
        rows_read: 1,
        lines: vec![(
            2,
            app.person_id,
            sscard_core::money::Money::parse("520.00").unwrap(),
        )],
        rejected: Vec::new(),
    };
    let batch = store
        .create_payment_batch(&ctx, &input)
        .await
        .unwrap()
        .batch_id;
    let sent = store.send_payments(&ctx, batch).await.unwrap();
    assert_eq!(sent.files.len(), 1, "{sent:?}");
    let (status, list) = call(&app, Role::Bank, Method::GET, "/api/v1/payments", None).await;
    assert_eq!(
        (status, list[0]["batch_id"].as_i64()),
        (200, Some(batch)),
        "{list}"
    );
    let result = json!({ "send_no": sent.send_no, "rows": [
        { "row": 2, "attempt": 1, "account": account, "amount": "520.00", "outcome": "paid" }]});
    let path = format!("/api/v1/payments/{batch}/results");
    let (status, out) = call(&app, Role::Bank, Method::POST, &path, Some(result.clone())).await;
    assert_eq!(
        (status, out["already_applied"].as_bool()),
        (200, Some(false)),
        "{out}"
    );
    assert_eq!(out["file"]["paid"], "520.00");
    let (_, out) = call(&app, Role::Bank, Method::POST, &path, Some(result)).await;
    assert_eq!(out["already_applied"], true, "{out}");
    let (status, report) = call(
        &app,
        Role::Bank,
        Method::GET,
        &format!("/api/v1/payments/{batch}"),
        None,
    )
    .await;
    assert_eq!(
        (status, report["reconciled"].as_bool()),
        (200, Some(true)),
        "{report}"
    );
    assert_eq!(report["unpaid"], json!([]));
    // A counter clerk does not see payment batches; the auditor does.
    let (status, _) = call(&app, Role::Clerk, Method::GET, "/api/v1/payments", None).await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &app,
        Role::Auditor,
        Method::GET,
        &format!("/api/v1/payments/{batch}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
});
