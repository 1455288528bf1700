//! The scope matrix, through the API and the console, on SQLite and PostgreSQL: for each scoped
//! role — clerk ↔ outlet, employer agent ↔ employer, bank ↔ bank — every operation on an object
//! of its own scope works, and every one on another scope is refused with `auth.out_of_scope`,
//! changes nothing, and is audited.

mod common;

use common::{TestApp, id};
use reqwest::Method;
use serde_json::{Value, json};
use sscard_core::{ApplicationSource, BusinessType, Role};
use sscard_ids::{CardNumber, PersonName};
use sscard_store::{ApplyRequest, Ctx, PersonInput};

const OWN_POINT: &str = "TZ-HL-01";
const OTHER_POINT: &str = "TZ-KS-ONSITE";

/// What the scope tests need beyond the harness: a card of another bank, a card waiting at each
/// of two points, and a person of another employer.
struct World {
    /// A card of bank 314 (the harness's cards are bank 105's, the `bank` account's own).
    other_bank_card: CardNumber,
    /// People whose cards wait at the clerk's own point, and at another point.
    at_own_point: [sscard_ids::ResidentId; 2],
    at_other_point: [sscard_ids::ResidentId; 2],
}

async fn world(app: &TestApp) -> World {
    let ctx = Ctx::system("system:test");
    let store = &app.store;
    let req = ApplyRequest {
        person: PersonInput::new(id(404), PersonName::parse("钱多多").unwrap()),
        bank: "TZRCB".into(),
        kind: BusinessType::New,
        source: ApplicationSource::Individual,
        instant: true,
        outlet: None,
    };
    let other_bank_card = store.apply(&ctx, &req).await.unwrap().card_number.unwrap();
    store.hand_over(&ctx, &other_bank_card).await.unwrap();
    store.activate_ss(&ctx, &other_bank_card).await.unwrap();
    store
        .upsert_outlet(
            &ctx,
            &sscard_store::Outlet {
                code: OTHER_POINT.into(),
                name_zh: "可胜科技厂内发放点".into(),
                name_en: "On-site point".into(),
                region: "321204".into(),
                kind: "outlet".into(),
                employer_id: None,
            },
        )
        .await
        .unwrap();
    let people = |base: u16| -> Vec<PersonInput> {
        (0..2)
            .map(|i| PersonInput::new(id(base + i), PersonName::parse("孙小美").unwrap()))
            .collect()
    };
    let employer = common::employer_code();
    sscard_store::testing::received_batch(store, &ctx, &employer, &people(700), OWN_POINT).await;
    sscard_store::testing::received_batch(store, &ctx, &employer, &people(710), OTHER_POINT).await;
    World {
        other_bank_card,
        at_own_point: [id(700), id(701)],
        at_other_point: [id(710), id(711)],
    }
}

async fn call(app: &TestApp, role: Role, method: Method, path: &str, body: Value) -> (u16, Value) {
    let r = app
        .request(Some(role), method, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert!(status < 500, "{path}: {status}");
    (status, r.json().await.unwrap_or(Value::Null))
}

fn assert_out_of_scope(what: &str, (status, body): &(u16, Value)) {
    assert_eq!(*status, 403, "{what}: {body}");
    assert_eq!(body["code"], "auth.out_of_scope", "{what}: {body}");
}

fn assert_works(what: &str, (status, body): &(u16, Value)) {
    assert_eq!(*status, 200, "{what}: {body}");
}

/// Everything an auditor can see of the state, to show a refusal changed nothing.
async fn snapshot(
    app: &TestApp,
    cards: &[&CardNumber],
    people: &[&sscard_ids::ResidentId],
) -> String {
    let ctx = Ctx::system("system:test");
    let mut out = Vec::new();
    for c in cards {
        out.push(format!("{:?}", app.store.card(&ctx, c).await.unwrap()));
    }
    for p in people {
        out.push(format!("{:?}", app.store.person(&ctx, p).await.unwrap()));
    }
    out.join("\n")
}

async fn refusals(app: &TestApp) -> usize {
    app.store
        .audit_tail(10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "auth.out_of_scope")
        .count()
}

on_both!(bank_acts_on_its_own_cards_only, |app| {
    let w = world(&app).await;
    let own = app.card.to_string();
    let other = w.other_bank_card.to_string();
    let before = snapshot(&app, &[&w.other_bank_card], &[]).await;
    let audited = refusals(&app).await;
    let ops = [
        (Method::GET, ""),
        (Method::POST, "/temporary-loss"),
        (Method::POST, "/unfreeze"),
        (Method::POST, "/formal-loss"),
        (Method::POST, "/unfreeze"),
    ];
    for (method, op) in &ops {
        let path = format!("/api/v1/cards/{own}{op}");
        assert_works(
            &path,
            &call(&app, Role::Bank, method.clone(), &path, json!({})).await,
        );
    }
    for (method, op) in ops.iter().chain(&[
        (Method::POST, "/bank-account"),
        (Method::POST, "/bank-activation"),
    ]) {
        let path = format!("/api/v1/cards/{other}{op}");
        assert_out_of_scope(
            &path,
            &call(&app, Role::Bank, method.clone(), &path, json!({})).await,
        );
    }
    assert_eq!(
        snapshot(&app, &[&w.other_bank_card], &[]).await,
        before,
        "nothing changed"
    );
    assert_eq!(refusals(&app).await, audited + 7, "every refusal audited");
    // An administrator is not bound to a bank.
    let path = format!("/api/v1/cards/{other}/temporary-loss");
    assert_works(
        &path,
        &call(&app, Role::Admin, Method::POST, &path, json!({})).await,
    );
});

on_both!(clerk_hands_out_at_its_own_outlet_only, |app| {
    let w = world(&app).await;
    let [own_a, own_b] = &w.at_own_point;
    let [other_a, other_b] = &w.at_other_point;
    let before = snapshot(&app, &[], &[other_a, other_b]).await;
    let audited = refusals(&app).await;
    let body = |id: &sscard_ids::ResidentId| json!({ "id_number": id.expose() });

    // API.
    let own = format!("/api/v1/points/{OWN_POINT}");
    let other = format!("/api/v1/points/{OTHER_POINT}");
    let r = call(
        &app,
        Role::Clerk,
        Method::POST,
        &format!("{own}/lookup"),
        body(own_a),
    )
    .await;
    assert_works("own lookup", &r);
    assert_eq!(r.1["outcome"], "ready", "{}", r.1);
    let r = call(
        &app,
        Role::Clerk,
        Method::POST,
        &format!("{own}/hand-over"),
        body(own_a),
    )
    .await;
    assert_works("own hand-over", &r);
    assert_eq!(r.1["outcome"], "handed_over", "{}", r.1);
    assert_works(
        "own figures",
        &call(
            &app,
            Role::Clerk,
            Method::GET,
            &format!("{own}/figures"),
            Value::Null,
        )
        .await,
    );
    for (method, op, b) in [
        (Method::POST, "lookup", body(other_a)),
        (Method::POST, "hand-over", body(other_a)),
        (Method::GET, "figures", Value::Null),
    ] {
        let path = format!("{other}/{op}");
        assert_out_of_scope(&path, &call(&app, Role::Clerk, method, &path, b).await);
    }

    // Console: the desk posts the point it works at; another outlet's point is refused by the
    // store just the same.
    let client = common::login(&app, "clerk").await;
    let page = client
        .get(app.url("/console/pickup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::csrf_of(&page);
    let desk = |point: &'static str, id: &sscard_ids::ResidentId, what: &'static str| {
        let form = vec![
            ("csrf", csrf.clone()),
            ("point", point.to_owned()),
            ("id", id.expose().to_owned()),
        ];
        let client = client.clone();
        let url = app.url(&format!("/console/pickup/{what}"));
        async move {
            let r = client.post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) = desk(OWN_POINT, own_b, "hand-over").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("handed_over"), "{html}");
    for what in ["lookup", "hand-over"] {
        let (status, html) = desk(OTHER_POINT, other_b, what).await;
        assert_eq!(status, 403, "{html}");
        assert!(html.contains("auth.out_of_scope"), "{html}");
    }

    assert_eq!(
        snapshot(&app, &[], &[other_a, other_b]).await,
        before,
        "nothing changed"
    );
    assert_eq!(refusals(&app).await, audited + 5, "every refusal audited");
});

on_both!(employer_agent_acts_for_its_own_employees_only, |app| {
    let _ = world(&app).await;
    let audited = refusals(&app).await;
    let own = app.person_id;
    let stranger = app.other_id; // a person of no employer
    let before = snapshot(&app, &[], &[&stranger]).await;
    let stranger_uuid = app
        .store
        .person(&Ctx::system("system:test"), &stranger)
        .await
        .unwrap()
        .id
        .to_string();

    // API: own employees.
    assert_works(
        "own lookup",
        &call(
            &app,
            Role::EmployerAgent,
            Method::POST,
            "/api/v1/persons/lookup",
            json!({ "id_number": own.expose() }),
        )
        .await,
    );
    assert_works(
        "own person",
        &call(
            &app,
            Role::EmployerAgent,
            Method::GET,
            &format!("/api/v1/persons/{}", app.person_uuid),
            Value::Null,
        )
        .await,
    );
    assert_works(
        "own registration",
        &call(
            &app,
            Role::EmployerAgent,
            Method::POST,
            "/api/v1/persons",
            json!({ "id_number": own.expose(), "name": "张三丰", "workshop": "SMT二车间" }),
        )
        .await,
    );
    // A new employee is registered for the agent's own employer.
    let newcomer = id(801);
    assert_works(
        "new employee",
        &call(
            &app,
            Role::EmployerAgent,
            Method::POST,
            "/api/v1/applications",
            json!({ "id_number": newcomer.expose(), "name": "李新", "bank": "CCB" }),
        )
        .await,
    );
    let registered = app
        .store
        .person(&Ctx::system("system:test"), &newcomer)
        .await
        .unwrap();
    assert_eq!(
        registered.employer.as_deref(),
        Some(common::employer_code().as_str())
    );

    // API: someone else's.
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/persons/lookup".to_owned(),
            json!({ "id_number": stranger.expose() }),
        ),
        (
            Method::GET,
            format!("/api/v1/persons/{stranger_uuid}"),
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/persons".to_owned(),
            json!({ "id_number": stranger.expose(), "name": "张三丰", "workshop": "别的车间" }),
        ),
        (
            Method::POST,
            "/api/v1/applications".to_owned(),
            json!({ "id_number": stranger.expose(), "name": "张三丰", "bank": "CCB", "business_type": "exchange" }),
        ),
    ] {
        assert_out_of_scope(
            &path,
            &call(&app, Role::EmployerAgent, method, &path, body).await,
        );
    }

    // Console: the person page of someone else's employee.
    let client = common::login(&app, "employer_agent").await;
    let r = client
        .get(app.url(&format!("/console/persons/{}", app.person_uuid)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(app.url(&format!("/console/persons/{stranger_uuid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("auth.out_of_scope"));

    assert_eq!(
        snapshot(&app, &[], &[&stranger]).await,
        before,
        "nothing changed"
    );
    assert_eq!(refusals(&app).await, audited + 5, "every refusal audited");
});

/// The `data-total` of a console list page (after asserting it opened).
async fn list_total(client: &reqwest::Client, app: &TestApp, path: &str) -> u64 {
    let r = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let html = r.text().await.unwrap();
    let at = html.find("data-total=\"").expect("a list total") + 12;
    html[at..html[at..].find('"').unwrap() + at]
        .parse()
        .unwrap()
}

on_both!(console_lists_hold_the_callers_scope_only, |app| {
    let w = world(&app).await;
    let admin = common::login(&app, "admin").await;
    let agent = common::login(&app, "employer_agent").await;
    let bank = common::login(&app, "bank").await;
    let clerk = common::login(&app, "clerk").await;
    // Persons: the centre sees everyone; an employer agent its own employer's people only.
    assert_eq!(list_total(&admin, &app, "/console/persons").await, 7);
    assert_eq!(list_total(&agent, &app, "/console/persons").await, 5);
    assert_eq!(list_total(&admin, &app, "/console/persons?q=钱").await, 1);
    assert_eq!(list_total(&agent, &app, "/console/persons?q=钱").await, 0);
    // A whole ID number stays out of addresses: the list refuses it and says where to go.
    let whole = app.other_id.expose();
    let r = admin
        .get(app.url(&format!("/console/persons?q={whole}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("list.whole_id_in_address"));
    let last4 = &app.person_id.expose()[14..];
    assert!(list_total(&agent, &app, &format!("/console/persons?q={last4}")).await >= 1);
    // Cards: a bank sees its own only, whatever filter it sends.
    let own = list_total(&admin, &app, "/console/cards?bank=105").await;
    assert!(own >= 2);
    assert_eq!(list_total(&bank, &app, "/console/cards").await, own);
    assert_eq!(list_total(&bank, &app, "/console/cards?bank=314").await, 0);
    assert_eq!(list_total(&admin, &app, "/console/cards?bank=314").await, 1);
    let number = w.other_bank_card.as_str();
    assert_eq!(
        list_total(&admin, &app, &format!("/console/cards?q={number}")).await,
        1
    );
    assert_eq!(
        list_total(&bank, &app, &format!("/console/cards?q={number}")).await,
        0
    );
    // Cards waiting for pickup at a point: two at each.
    assert_eq!(
        list_total(&clerk, &app, &format!("/console/cards?point={OWN_POINT}")).await,
        2
    );
    assert_eq!(
        list_total(&admin, &app, &format!("/console/cards?point={OTHER_POINT}")).await,
        2
    );
    let _ = (&w.at_own_point, &w.at_other_point);
    // Bookings: a counter's list is its own point's, even when it asks for another.
    assert_eq!(
        list_total(
            &clerk,
            &app,
            &format!("/console/bookings?point={OTHER_POINT}")
        )
        .await,
        0
    );
    // Pages: the second page of one row per page is reachable by its link; a bad page is a
    // clear error.
    let r = admin
        .get(app.url("/console/cards?page=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("页码“0”无效") && html.contains("list.page"),
        "{html}"
    );
    let r = admin
        .get(app.url("/console/settlements?day=2026-13-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Every list and every role's home opens on this backend (their SQL runs on both).
    for path in [
        "/console/institutions?kind=hospital&district=321202&q=医",
        "/console/terminals?status=20&institution=H1",
        "/console/settlements?kind=cross&month=2026-11&day=2026-11-03&status=settled",
        "/console/batches?status=60&q=测试",
        "/console/payments?kind=pension",
        "/console/bookings?day=2026-12-03&status=booked",
        "/console/cards?status=1&kind=third&district=321202",
        "/console/persons?district=321202&q=孙",
    ] {
        list_total(&admin, &app, path).await;
    }
    for role in Role::ALL {
        let c = common::login(&app, role.as_str()).await;
        let r = c.get(app.url("/console")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{role:?}'s home");
        for chart in ["cards", "batches", "production", "readiness", "settlements"] {
            let r = c
                .get(app.url(&format!("/console/home/{chart}.png")))
                .send()
                .await
                .unwrap();
            assert!(
                [200, 403].contains(&r.status().as_u16()),
                "{role:?} {chart}: {}",
                r.status()
            );
        }
    }
    // A role without the list gets 403, and no link to it on its home.
    let r = agent.get(app.url("/console/cards")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let home = agent
        .get(app.url("/console"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("href=\"/console/cards"), "{home}");
});
