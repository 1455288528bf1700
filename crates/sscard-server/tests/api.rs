//! Black-box tests of the REST API: the RBAC matrix generated from the router, the OpenAPI
//! snapshot, the error shape, idempotency, health and metrics.

mod common;

use std::collections::BTreeSet;

use common::TestApp;
use reqwest::Method;
use serde_json::{Value, json};
use sscard_core::Role;
use sscard_server::api::{Access, RULES, allows, rule};

fn spec_routes() -> BTreeSet<(String, String)> {
    let spec = serde_json::to_value(sscard_server::openapi()).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[test]
fn every_route_has_a_rule_and_every_rule_a_route() {
    let routes = spec_routes();
    let missing: Vec<_> = routes
        .iter()
        .filter(|(m, p)| rule(m, p).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "routes without an access rule in api::RULES: {missing:?}"
    );
    let rules: BTreeSet<(String, String)> = RULES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let stale: Vec<_> = rules.difference(&routes).collect();
    assert!(
        stale.is_empty(),
        "rules for routes that do not exist: {stale:?}"
    );
}

/// The card-action catalogue drives the API: every action has its route, with its permission.
#[test]
fn every_card_action_has_its_route_and_rule() {
    let routes = spec_routes();
    for action in sscard_core::CardAction::ALL {
        let path = format!("/api/v1/cards/{{card_number}}/{}", action.slug());
        assert!(
            routes.contains(&("POST".to_owned(), path.clone())),
            "no route {path}"
        );
        assert_eq!(
            rule("POST", &path),
            Some(Access::Needs(action.permission())),
            "{path}"
        );
    }
}

#[test]
fn openapi_snapshot() {
    let spec = serde_json::to_value(sscard_server::openapi()).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let text = serde_json::to_string_pretty(&spec).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/openapi.json");
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        std::fs::write(&path, &text).unwrap();
    }
    let golden =
        std::fs::read_to_string(&path).expect("golden file; run with UPDATE_GOLDEN=1 to create it");
    assert!(
        golden == text,
        "the OpenAPI document changed; review and re-run with UPDATE_GOLDEN=1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_matrix_every_role_on_every_route() {
    let app = TestApp::sqlite().await;
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut terminal_routes = 0;
    for (method, path) in spec_routes() {
        let access = rule(&method, &path).expect("checked above");
        if access == Access::Terminal {
            // No staff credentials: the terminal's MAC authenticates (tests in sscard-store
            // and sscard's terminal tests). Staff sessions gain nothing here either.
            let r = app
                .request(
                    Some(Role::Admin),
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    &path,
                )
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            if ![401, 422, 503].contains(&r.status().as_u16()) {
                failures.push(format!("terminal route {method} {path}: {}", r.status()));
            }
            terminal_routes += 1;
            continue;
        }
        let concrete = path
            .replace("{card_number}", app.other_card.as_str())
            .replace("{person_id}", &app.person_uuid);
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        // Anonymous.
        let anon = app
            .request(None, m.clone(), &concrete)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        if anon.status() != 401 {
            failures.push(format!(
                "anonymous {method} {path}: {} (want 401)",
                anon.status()
            ));
        }
        for role in Role::ALL {
            let r = app
                .request(Some(role), m.clone(), &concrete)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            let code = body["code"].as_str().unwrap_or("");
            checked += 1;
            if allows(access, role) {
                // Allowed: past authentication and authorisation, and never a server failure.
                if status == 401 || code == "auth.forbidden" || status >= 500 {
                    failures.push(format!(
                        "{} {method} {path}: {status} {code} (want allowed, not 5xx)",
                        role.as_str()
                    ));
                }
            } else if status != 403 || code != "auth.forbidden" {
                failures.push(format!(
                    "{} {method} {path}: {status} {code} (want 403)",
                    role.as_str()
                ));
            }
        }
    }
    assert_eq!(
        checked,
        (spec_routes().len() - terminal_routes) * Role::ALL.len()
    );
    assert_eq!(terminal_routes, 6);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The auditor changes nothing: every rule it passes is a GET or a lookup.
    for (m, p, a) in RULES {
        if allows(*a, Role::Auditor) && *m != "GET" {
            assert!(
                ["/api/v1/persons/lookup", "/api/v1/insurance/lookup"].contains(p),
                "auditor may {m} {p}"
            );
        }
    }
    assert!(matches!(rule("GET", "/api/v1/me"), Some(Access::AnyStaff)));
}

on_both!(errors_have_one_shape_in_both_languages, |app| {
    let bad = json!({ "id_number": "110105194912310021", "name": "张三", "bank": "CCB" });
    let r = app
        .request(Some(Role::Clerk), Method::POST, "/api/v1/applications")
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "resident_id.check_character");
    assert_eq!(body["field"], "id_number");
    assert!(
        body["message"].as_str().unwrap().contains("校验码"),
        "{body}"
    );
    let r = app
        .request(Some(Role::Clerk), Method::POST, "/api/v1/applications")
        .header("accept-language", "en-GB,en;q=0.9")
        .json(&bad)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("check character"),
        "{body}"
    );
    // A rule refusal: one person, one card — naming the card, masked.
    let again = json!({ "id_number": app.person_id.expose(), "name": "张三丰", "bank": "CCB", "instant": true });
    let r = app
        .request(Some(Role::Clerk), Method::POST, "/api/v1/applications")
        .json(&again)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "holder.already_holds_card");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&app.card.masked())
    );
    // Unknown card.
    let r = app
        .request(Some(Role::Clerk), Method::GET, "/api/v1/cards/X00000019")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "not_found.card");
});

on_both!(idempotency_key_replays_the_first_result, |app| {
    let body = json!({ "id_number": common::id(303).expose(), "name": "李四", "bank": "ABC", "instant": true });
    let send = |b: &Value| {
        app.request(Some(Role::Clerk), Method::POST, "/api/v1/applications")
            .header("idempotency-key", "k-123")
            .json(b)
            .send()
    };
    let first = send(&body).await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let second = send(&body).await.unwrap();
    assert_eq!(second.status(), 200);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.json::<Value>().await.unwrap(), first);
    let person = app
        .store
        .person(&sscard_store::Ctx::system("system:test"), &common::id(303))
        .await
        .unwrap();
    assert_eq!(person.applications.len(), 1, "applied once");
    // The same key for a different request is refused.
    let other = json!({ "id_number": common::id(304).expose(), "name": "王五", "bank": "ABC" });
    let r = send(&other).await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "request.idempotency_key_reused"
    );
    // Concurrent retries with one key still apply once.
    let body = json!({ "id_number": common::id(305).expose(), "name": "赵六", "bank": "ABC", "instant": true });
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            app.request(Some(Role::Clerk), Method::POST, "/api/v1/applications")
                .header("idempotency-key", "k-concurrent")
                .json(&body)
                .send()
        })
        .collect();
    let results = futures::future::join_all(tasks).await;
    assert!(results.iter().all(|r| r.as_ref().unwrap().status() == 200));
    assert_eq!(
        app.store
            .person(&sscard_store::Ctx::system("system:test"), &common::id(305))
            .await
            .unwrap()
            .applications
            .len(),
        1
    );
});

on_both!(
    an_idempotency_key_claimed_elsewhere_does_not_run_twice,
    |app| {
        // Another server instance (or one that stopped after the operation and before recording
        // its response) claimed the key in the database: this instance must not run it again.
        use sm3::Digest;
        let body = json!({ "id_number": common::id(306).expose(), "name": "钱七", "bank": "ABC" });
        let bytes = serde_json::to_vec(&body).unwrap();
        let mut h = sm3::Sm3::new();
        h.update(b"POST");
        h.update(b"/api/v1/applications");
        h.update(&bytes);
        let hash = hex::encode(h.finalize());
        let (clerk, _) = app.store.staff_for_login("clerk").await.unwrap().unwrap();
        let ctx = sscard_store::Ctx::system("system:test");
        let claim = app
            .store
            .claim_idempotency_key(
                &ctx,
                clerk.id,
                "k-elsewhere",
                "POST",
                "/api/v1/applications",
                &hash,
            )
            .await
            .unwrap();
        assert_eq!(claim, sscard_store::IdempotencyClaim::Claimed);
        let r = app
            .request(Some(Role::Clerk), Method::POST, "/api/v1/applications")
            .header("idempotency-key", "k-elsewhere")
            .header("content-type", "application/json")
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        assert_eq!(
            r.json::<Value>().await.unwrap()["code"],
            "request.idempotency_in_flight"
        );
        assert!(
            app.store.person(&ctx, &common::id(306)).await.is_err(),
            "nothing applied"
        );
        // Once the first attempt records its response, the retry replays it.
        let done = sscard_store::IdempotentResponse {
            request_hash: hash.clone(),
            status: 200,
            body: r#"{"replayed":true}"#.into(),
        };
        app.store
            .finish_idempotency_key(&ctx, clerk.id, "k-elsewhere", Some(&done))
            .await
            .unwrap();
        let r = app
            .request(Some(Role::Clerk), Method::POST, "/api/v1/applications")
            .header("idempotency-key", "k-elsewhere")
            .header("content-type", "application/json")
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["idempotent-replayed"], "true");
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"replayed": true}));
        // A released claim (a server-side failure) lets the request run again.
        let again = app
            .store
            .claim_idempotency_key(&ctx, clerk.id, "k-released", "POST", "/x", "h")
            .await
            .unwrap();
        assert_eq!(again, sscard_store::IdempotencyClaim::Claimed);
        app.store
            .finish_idempotency_key(&ctx, clerk.id, "k-released", None)
            .await
            .unwrap();
        let again = app
            .store
            .claim_idempotency_key(&ctx, clerk.id, "k-released", "POST", "/x", "h")
            .await
            .unwrap();
        assert_eq!(again, sscard_store::IdempotencyClaim::Claimed);
    }
);

on_both!(employer_agents_see_only_their_employees, |app| {
    let own = app
        .request(
            Some(Role::EmployerAgent),
            Method::POST,
            "/api/v1/persons/lookup",
        )
        .json(&json!({ "id_number": app.person_id.expose() }))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let own: Value = own.json().await.unwrap();
    assert_eq!(own["id_number"], app.person_id.masked());
    let other = app
        .request(
            Some(Role::EmployerAgent),
            Method::POST,
            "/api/v1/persons/lookup",
        )
        .json(&json!({ "id_number": app.other_id.expose() }))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403);
    assert_eq!(
        other.json::<Value>().await.unwrap()["code"],
        "auth.out_of_scope"
    );
});

on_both!(reveal_is_audited_and_lifecycle_works_over_http, |app| {
    let path = format!("/api/v1/persons/{}/reveal", app.person_uuid);
    let r = app
        .request(Some(Role::Clerk), Method::POST, &path)
        .json(&json!({"reason": "核对"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["id_number"],
        app.person_id.expose()
    );
    let tail = app.store.audit_tail(5).await.unwrap();
    assert!(
        tail.iter().any(|e| e.action == "person.reveal_id"
            && e.actor == "clerk:clerk"
            && e.reason == "核对")
    );
    let loss = format!("/api/v1/cards/{}/temporary-loss", app.card);
    let r = app
        .request(Some(Role::Clerk), Method::POST, &loss)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["ss_status"],
        "temporary_loss"
    );
    let r = app
        .request(Some(Role::Clerk), Method::POST, &loss)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "card.reported_lost"
    );
    let verify = app
        .request(Some(Role::Auditor), Method::GET, "/api/v1/audit/verify")
        .send()
        .await
        .unwrap();
    assert_eq!(verify.json::<Value>().await.unwrap()["ok"], true);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_docs_and_login_limit() {
    let app = TestApp::sqlite().await;
    let client = TestApp::client();
    let h: Value = client
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "ok");
    let docs = client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    let spec: Value = client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let metrics = client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "sscard_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"
        ),
        "{metrics}"
    );
    // Five wrong passwords, then the sixth attempt is refused even with the right one.
    for _ in 0..5 {
        let r = client
            .post(app.url("/console/login"))
            .form(&[("username", "clerk"), ("password", "wrong")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = client
        .post(app.url("/console/login"))
        .form(&[("username", "clerk"), ("password", common::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let r = client
        .post(app.url("/console/login"))
        .form(&[("username", "auditor"), ("password", common::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditor_console_post_is_forbidden() {
    let app = TestApp::sqlite().await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(app.url("/console/login"))
        .form(&[("username", "auditor"), ("password", common::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = client
        .get(app.url(&format!("/console/cards/{}", app.card)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("action-temporary-loss"),
        "the auditor sees no action buttons"
    );
    let r = client
        .post(app.url(&format!("/console/cards/{}/temporary-loss", app.card)))
        .form(&[("csrf", "whatever"), ("reason", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("auth.forbidden"));
    assert_eq!(
        app.store
            .card(&sscard_store::Ctx::system("system:test"), &app.card)
            .await
            .unwrap()
            .ss_status,
        sscard_core::SsStatus::Normal
    );
}

/// One malformed request and what it must get back.
struct Malformed {
    what: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: String,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

fn malformed(
    what: &'static str,
    path: &str,
    content_type: Option<&'static str>,
    body: String,
) -> Malformed {
    Malformed {
        what,
        method: Method::POST,
        path: path.to_owned(),
        content_type,
        body,
        status: 400,
        code: "request.json_syntax",
        field: None,
    }
}

impl Malformed {
    fn want(mut self, status: u16, code: &'static str, field: Option<&'static str>) -> Self {
        self.status = status;
        self.code = code;
        self.field = field;
        self
    }
}

/// Every malformed request gets the API's JSON error shape and a 4xx, never axum's plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_the_json_error_shape() {
    let app = TestApp::sqlite().await;
    let json = Some("application/json");
    let lookup = "/api/v1/persons/lookup";
    let card = format!("/api/v1/cards/{}/temporary-loss", app.card);
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let get = |what, path: &str| Malformed {
        method: Method::GET,
        ..malformed(what, path, None, String::new())
    };
    let cases = [
        malformed("bad JSON", lookup, json, "{id_number: 1}".into()),
        malformed(
            "truncated JSON",
            lookup,
            json,
            "{\"id_number\": \"3212".into(),
        ),
        malformed(
            "wrong type",
            "/api/v1/applications",
            json,
            json!({"id_number": "x", "name": "李四", "bank": "CCB", "instant": "yes"}).to_string(),
        )
        .want(422, "request.json_data", Some("instant")),
        malformed(
            "unknown field",
            lookup,
            json,
            json!({"id_number": "x", "nmae": 1}).to_string(),
        )
        .want(422, "request.json_data", Some("nmae")),
        malformed("missing field", lookup, json, "{}".into()).want(
            422,
            "request.json_data",
            Some("id_number"),
        ),
        malformed(
            "wrong content type",
            lookup,
            Some("text/plain"),
            json!({"id_number": "x"}).to_string(),
        )
        .want(415, "request.content_type", None),
        malformed(
            "no content type",
            lookup,
            None,
            json!({"id_number": "x"}).to_string(),
        )
        .want(415, "request.content_type", None),
        malformed("oversize body", "/api/v1/persons", json, big).want(
            413,
            "request.too_large",
            None,
        ),
        malformed("bad optional body", &card, json, "{\"reason\": ".into()),
        get(
            "bad path parameter: card number",
            "/api/v1/cards/NOT-A-CARD",
        )
        .want(422, "card_number.length", Some("card_number")),
        get(
            "bad path parameter: person id",
            "/api/v1/persons/not-a-uuid",
        )
        .want(404, "not_found.person", None),
    ];
    let mut failures = Vec::new();
    for c in cases {
        let mut r = app.request(Some(sscard_core::Role::Admin), c.method.clone(), &c.path);
        if let Some(ct) = c.content_type {
            r = r.header("content-type", ct);
        }
        let r = r.body(c.body.clone()).send().await.unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = r.text().await.unwrap();
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            failures.push(format!("{}: {status} not JSON ({ct}): {text}", c.what));
            continue;
        };
        let ok = status == c.status
            && v["code"] == c.code
            && v["message"].as_str().is_some_and(|m| !m.is_empty())
            && c.field.is_none_or(|f| v["field"] == f)
            && ct.starts_with("application/json");
        if !ok {
            failures.push(format!(
                "{}: {status} {v} (want {} {} {:?})",
                c.what, c.status, c.code, c.field
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
