//! The readiness programme over HTTP: `GET /api/v1/readiness` and the console page with its
//! chart by district and the open problems, for the roles that may see them.

mod common;

use common::{TestApp, login};
use reqwest::Method;
use serde_json::Value;
use sscard_core::Role;
use sscard_ids::InstitutionCode;
use sscard_store::{Ctx, InstitutionInput};

async fn seed(app: &TestApp) {
    let ctx = Ctx::system("test:setup");
    let list: Vec<InstitutionInput> = [
        ("H32120200001", "泰州市人民医院", Some(3)),
        ("P32128100003", "百信大药房（兴化昭阳3号店）", None),
    ]
    .into_iter()
    .map(|(code, name, level)| {
        let code = InstitutionCode::parse(code).unwrap();
        InstitutionInput {
            region: code.region(),
            code,
            name: name.into(),
            level,
            networked: true,
        }
    })
    .collect();
    app.store.register_institutions(&ctx, &list).await.unwrap();
    let a = app
        .store
        .enrol_terminal(&ctx, "H32120200001", "sm4", "")
        .await
        .unwrap();
    app.store
        .enrol_terminal(&ctx, "P32128100003", "sm4", "")
        .await
        .unwrap();
    app.store
        .open_problem(&ctx, &a.number, "network", "专网未开通到省平台")
        .await
        .unwrap();
}

on_both!(readiness_report_and_page, |app| {
    seed(&app).await;
    let r = app
        .request(Some(Role::Auditor), Method::GET, "/api/v1/readiness")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["institutions"], 2);
    assert_eq!(v["terminals"], 2);
    assert_eq!(v["ready"], 0);
    assert_eq!(v["lines"].as_array().unwrap().len(), 2);
    assert_eq!(v["open_problems"][0]["category"], "network");
    let r = app
        .request(Some(Role::Clerk), Method::GET, "/api/v1/readiness")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let admin = login(&app, "admin").await;
    let page = admin
        .get(app.url("/console/readiness"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("readiness-chart") && page.contains("<svg"),
        "{page}"
    );
    assert!(page.contains("海陵区") && page.contains("兴化市"), "{page}");
    assert!(page.contains("专网未开通到省平台"), "{page}");
    assert!(
        page.contains("href=\"/console/readiness\""),
        "the menu links the page"
    );
    let clerk = login(&app, "clerk").await;
    let home = clerk
        .get(app.url("/console"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !home.contains("/console/readiness"),
        "a clerk sees no link it may not follow"
    );
    let r = clerk
        .get(app.url("/console/readiness"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
});
