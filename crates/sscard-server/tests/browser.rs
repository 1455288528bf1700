//! Console tests in a real browser: headless Chromium driven through chromedriver (`WebDriver`)
//! with `fantoccini`. Without Chromium they skip with a reason; in CI (`CI=true`) they fail.

mod common;

use std::time::Duration;

use common::TestApp;
use common::browser::{browser, driver, login_at};
use fantoccini::{Client, Locator};

async fn login(c: &Client, app: &TestApp, user: &str) {
    login_at(c, &app.url(""), user, common::PASSWORD).await;
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
        app.store
            .card(&sscard_store::Ctx::system("system:test"), &app.card)
            .await
            .unwrap()
            .ss_status,
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
        app.store
            .card(&sscard_store::Ctx::system("system:test"), &app.other_card)
            .await
            .unwrap()
            .ss_status,
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

/// Waits (up to 10 s) until `check` holds.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The text of an element by id, read in one script (the desk replaces its result area, so an
/// element found a moment ago may be gone); empty when it is not there.
async fn read(c: &Client, id: &str) -> String {
    let v = c
        .execute(
            "const e = document.getElementById(arguments[0]); return e ? e.textContent.trim() : '';",
            vec![serde_json::json!(id)],
        )
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_owned()
}

async fn outcome(c: &Client) -> (String, String) {
    let v = c
        .execute(
            "const e = document.getElementById('outcome'); \
             return e ? [e.dataset.outcome, document.getElementById('outcome-message').textContent] : ['', ''];",
            vec![],
        )
        .await
        .unwrap();
    (
        v[0].as_str().unwrap_or_default().to_owned(),
        v[1].as_str().unwrap_or_default().to_owned(),
    )
}

/// Types into the desk's ID field as an ID card reader does: the number, then Enter.
async fn scan(c: &Client, keys: &str) {
    c.find(Locator::Id("scan"))
        .await
        .unwrap()
        .send_keys(&format!("{keys}\u{E007}"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one scripted session, step by step
async fn pickup_desk_hands_over_twenty_cards_by_scanning() {
    use sscard_ids::PersonName;
    use sscard_store::{Ctx, PersonInput};
    let Some(d) = driver() else { return };
    let app = TestApp::sqlite().await;
    let store = &app.store;
    let ctx = Ctx::system("operator:test");
    let names = [
        "丁一", "王明", "李强", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴敏",
        "徐涛", "孙悦", "马超", "朱琳", "胡军", "郭峰", "何平", "高远", "林红", "罗兰", "梁栋",
    ];
    let people: Vec<PersonInput> = names
        .iter()
        .enumerate()
        .map(|(i, n)| PersonInput {
            workshop: Some(
                if i % 2 == 0 {
                    "总装车间"
                } else {
                    "注塑车间"
                }
                .into(),
            ),
            department: Some("一班".into()),
            ..PersonInput::new(common::id(600 + i as u16), PersonName::parse(n).unwrap())
        })
        .collect();
    let batch = sscard_store::testing::received_batch(
        store,
        &ctx,
        &common::employer_code(),
        &people,
        "TZ-HL-01",
    )
    .await;
    let plan = store
        .plan_distribution(&ctx, batch, "TZ-HL-01", 10)
        .await
        .unwrap();
    // A card waiting at another outlet, and one of this point's cards missing from its box.
    store
        .upsert_outlet(
            &ctx,
            &sscard_store::Outlet {
                code: "TZ-GG-01".into(),
                name_zh: "高港区社保服务网点".into(),
                name_en: "Gaogang".into(),
                region: "321203".into(),
                kind: "outlet".into(),
                employer_id: None,
            },
        )
        .await
        .unwrap();
    let elsewhere = PersonInput::new(common::id(640), PersonName::parse("宋远").unwrap());
    sscard_store::testing::received_batch(
        store,
        &ctx,
        &common::employer_code(),
        &[elsewhere],
        "TZ-GG-01",
    )
    .await;
    let by_name = |name: &str| {
        let i = names.iter().position(|n| *n == name).unwrap();
        common::id(600 + i as u16)
    };
    let lost = &plan.entries[21];
    store
        .mark_card_missing(
            &ctx,
            "TZ-HL-01",
            &sscard_ids::CardNumber::parse(&lost.card_number).unwrap(),
            true,
        )
        .await
        .unwrap();

    let c = browser(&d).await;
    login(&c, &app, "clerk").await;
    c.find(Locator::Id("nav-pickup"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("scan")).await.unwrap();
    // The cursor is in the ID field from the start.
    let focused = c
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, serde_json::json!("scan"));

    // Twenty people in pickup order: scan, see the box and slot, Enter hands over.
    for e in plan.entries.iter().take(20) {
        scan(&c, by_name(&e.name).expose()).await;
        until("the card", || async {
            read(&c, "card-number").await == e.card_number
        })
        .await;
        assert_eq!(outcome(&c).await.0, "ready");
        assert_eq!(read(&c, "box").await, e.r#box.to_string(), "{}", e.name);
        assert_eq!(read(&c, "slot").await, e.slot.to_string(), "{}", e.name);
        let shown = read(&c, "name").await;
        assert!(shown.contains('*'), "the name is masked: {shown}");
        scan(&c, "").await;
        until("the hand-over", || async {
            outcome(&c).await.0 == "handed_over"
        })
        .await;
    }

    // Scanning someone again: already picked up, with when and where.
    scan(&c, by_name(&plan.entries[0].name).expose()).await;
    until("already picked up", || async {
        outcome(&c).await.0 == "already_picked_up"
    })
    .await;
    let (_, message) = outcome(&c).await;
    assert!(
        message.contains("此卡已领取") && message.contains("海陵区服务中心"),
        "{message}"
    );
    // The card missing from its box.
    scan(&c, by_name(&lost.name).expose()).await;
    until("lost", || async { outcome(&c).await.0 == "lost" }).await;
    assert!(outcome(&c).await.1.contains("丢失"));
    // The person whose card waits at another point.
    scan(&c, common::id(640).expose()).await;
    until("elsewhere", || async { outcome(&c).await.0 == "elsewhere" }).await;
    assert!(outcome(&c).await.1.contains("高港区社保服务网点"));
    // A mistyped number is named, not looked up.
    scan(&c, "32120219880808000X").await;
    until("bad id", || async { outcome(&c).await.0 == "error" }).await;

    // The live figures count the twenty; the chart is an image drawn by the server.
    until("the figures", || async {
        read(&c, "fig-today").await == "20"
    })
    .await;
    assert_eq!(read(&c, "fig-remaining").await, "1");
    assert_eq!(read(&c, "fig-missing").await, "1");
    let chart_ok = c
        .execute(
            "const i = document.getElementById('chart'); return i.complete && i.naturalWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(chart_ok, serde_json::json!(760));
    let db = store.distribution_plan(batch).await.unwrap();
    assert_eq!(db.entries.iter().filter(|e| e.handed_over).count(), 20);
    c.close().await.unwrap();
}

/// The next working day after `d`.
fn next_working_day(d: chrono::NaiveDate) -> chrono::NaiveDate {
    let mut d = d + chrono::Duration::days(1);
    while !sscard_core::migration::is_working_day(d) {
        d += chrono::Duration::days(1);
    }
    d
}

/// Types the holder's details on `/self` and looks up.
async fn self_lookup(c: &Client, app: &TestApp, id: &str, name: &str) {
    c.goto(&app.url("/self?lang=zh")).await.unwrap();
    for (field, value) in [("id_number", id), ("name", name), ("phone", "13905261234")] {
        c.find(Locator::Id(field))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    c.find(Locator::Id("self-check"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one holder's visit, step by step
async fn a_holder_books_and_cancels_on_the_self_service_page() {
    use sscard_store::appointments::{BookRequest, Channel, ExchangePointInput};
    use sscard_store::bank::{LegacyCardInput, LegacyStatus, RolloutPhase};
    let Some(d) = driver() else { return };
    let app = TestApp::sqlite().await;
    let store = &app.store;
    let ctx = sscard_store::Ctx::system("operator:test");
    let today = sscard_ids::china_today();
    // Legacy card holders: three in Hailing (open since last month), one in Xinghua (opens in
    // three months).
    let holder = |region: &str, seq: u16| {
        sscard_ids::ResidentId::from_parts(
            sscard_ids::RegionCode::parse(region).unwrap(),
            chrono::NaiveDate::from_ymd_opt(1970, 5, 1).unwrap(),
            seq,
        )
        .unwrap()
    };
    let cards: Vec<LegacyCardInput> = [
        ("321202", 11, "L0000101"),
        ("321202", 13, "L0000102"),
        ("321202", 15, "L0000103"),
        ("321281", 17, "L0000104"),
    ]
    .into_iter()
    .map(|(region, seq, card)| LegacyCardInput {
        id: holder(region, seq),
        name: sscard_ids::PersonName::parse("陈海东").unwrap(),
        card: sscard_ids::CardNumber::from_body(card).unwrap(),
        bank: "403".into(),
        account: format!("62170000000{seq:08}"),
        issue_date: chrono::NaiveDate::from_ymd_opt(2012, 3, 1).unwrap(),
        status: LegacyStatus::Normal,
        district: Some(region.into()),
        card_id_code: None,
    })
    .collect();
    store.import_legacy_cards(&ctx, &cards).await.unwrap();
    for (name, from, district) in [
        ("一期 海陵区", today - chrono::Duration::days(30), "321202"),
        ("二期 兴化市", today + chrono::Duration::days(90), "321281"),
    ] {
        store
            .add_rollout_phase(
                &ctx,
                &RolloutPhase {
                    name: name.into(),
                    from,
                    districts: vec![district.into()],
                    groups: vec![],
                },
            )
            .await
            .unwrap();
    }
    // One place in the morning, one in the afternoon.
    store
        .add_exchange_point(
            &ctx,
            &ExchangePointInput {
                code: "TZ-HL-09".into(),
                name_zh: "海陵区换卡点".into(),
                name_en: "Hailing exchange point".into(),
                district: "321202".into(),
                capacity: 2,
            },
        )
        .await
        .unwrap();
    // The first day offered is full: two neighbours booked it at the counter.
    let full_day = next_working_day(today);
    for (seq, half) in [(13, sscard_core::Half::Am), (15, sscard_core::Half::Pm)] {
        store
            .book_appointment(
                &ctx,
                &BookRequest {
                    id: holder("321202", seq),
                    name: None,
                    point: "TZ-HL-09".into(),
                    day: full_day,
                    half,
                    phone: None,
                    channel: Channel::Counter,
                },
            )
            .await
            .unwrap();
    }
    let c = browser(&d).await;

    // A wrong name reads exactly like an unknown ID number.
    let me = holder("321202", 11);
    self_lookup(&c, &app, me.expose(), "陈海").await;
    c.wait()
        .for_element(Locator::Id("self-error"))
        .await
        .unwrap();
    let wrong_name = text(&c, "self-error").await;
    self_lookup(&c, &app, "320102199003071116", "陈海东").await;
    c.wait()
        .for_element(Locator::Id("self-error"))
        .await
        .unwrap();
    assert_eq!(text(&c, "self-error").await, wrong_name);

    // The holder: eligible, told there is no need to rush; the full day shows no place left.
    self_lookup(&c, &app, me.expose(), "陈海东").await;
    c.wait()
        .for_element(Locator::Id("eligibility"))
        .await
        .unwrap();
    let e = c.find(Locator::Id("eligibility")).await.unwrap();
    assert_eq!(
        e.attr("data-eligible").await.unwrap().as_deref(),
        Some("true")
    );
    assert!(text(&c, "no-rush").await.contains("无需着急"));
    let full = c
        .find_all(Locator::Css(&format!(
            "#slots .slot[data-day='{full_day}'][data-left='0']"
        )))
        .await
        .unwrap();
    assert_eq!(full.len(), 2, "both half-days of {full_day} are full");
    let full_buttons = c
        .find_all(Locator::Css(&format!(
            "#slots .slot[data-day='{full_day}'] button"
        )))
        .await
        .unwrap();
    assert!(full_buttons.is_empty(), "a full half-day cannot be booked");
    // Book the first free half-day.
    let free = c
        .find(Locator::Css("#slots .slot:not([data-left='0'])"))
        .await
        .unwrap();
    let day = free.attr("data-day").await.unwrap().unwrap();
    let half = free.attr("data-half").await.unwrap().unwrap();
    free.find(Locator::Css("button.book"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("confirmation-code"))
        .await
        .unwrap();
    let code = text(&c, "confirmation-code").await;
    assert_eq!(code.len(), 8);
    let booked = store.appointment(&ctx, &code).await.unwrap();
    assert_eq!(
        (
            booked.day.to_string(),
            booked.half.as_str().to_owned(),
            booked.channel.as_str()
        ),
        (day, half, "self")
    );
    assert_eq!(text(&c, "booking-code").await, code);
    // Cancel it: the place is free again.
    c.find(Locator::Id("cancel"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("cancelled"))
        .await
        .unwrap();
    assert_eq!(
        store.appointment(&ctx, &code).await.unwrap().status,
        "cancelled"
    );
    c.wait().for_element(Locator::Id("slots")).await.unwrap();

    // Not yet eligible: told the date it opens and that the old card keeps working.
    self_lookup(&c, &app, holder("321281", 17).expose(), "陈海东").await;
    c.wait()
        .for_element(Locator::Id("eligibility"))
        .await
        .unwrap();
    let e = c.find(Locator::Id("eligibility")).await.unwrap();
    assert_eq!(
        e.attr("data-eligible").await.unwrap().as_deref(),
        Some("false")
    );
    let opens = (today + chrono::Duration::days(90)).to_string();
    assert!(text(&c, "eligibility").await.contains(&opens));
    c.find(Locator::Id("no-slots")).await.unwrap();

    // In English.
    c.goto(&app.url("/self?lang=en")).await.unwrap();
    c.wait()
        .for_element(Locator::Id("self-check"))
        .await
        .unwrap();
    assert_eq!(text(&c, "self-check").await, "Look up");
    c.close().await.unwrap();
}
