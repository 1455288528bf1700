//! Sorted distribution and the pickup desk on both backends: a received batch is planned into
//! boxes; desks look people up and hand cards over; every outcome the desk can meet; two desks
//! scanning the same person at once hand the card over once; the live figures count it all.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sscard_ids::{Bilingual, CardNumber, CreditCode, PersonName, RegionCode, ResidentId};
use sscard_store::testing::{TestDb, received_batch};
use sscard_store::{Ctx, Outlet, PersonInput, PickupOutcome, ProxyInput, Store};

fn id(n: u16) -> ResidentId {
    let birth =
        NaiveDate::from_ymd_opt(1985, 3, 1).unwrap() + chrono::Duration::days(i64::from(n) * 131);
    ResidentId::from_parts(RegionCode::parse("321203").unwrap(), birth, n).unwrap()
}

fn person(n: u16, name: &str, workshop: &str, department: &str) -> PersonInput {
    PersonInput {
        workshop: (!workshop.is_empty()).then(|| workshop.to_owned()),
        department: (!department.is_empty()).then(|| department.to_owned()),
        ..PersonInput::new(id(n), PersonName::parse(name).unwrap())
    }
}

async fn outlet(store: &Store, ctx: &Ctx, code: &str, name: &str, employer: Option<uuid::Uuid>) {
    store
        .upsert_outlet(
            ctx,
            &Outlet {
                code: code.into(),
                name_zh: name.into(),
                name_en: code.into(),
                region: "321203".into(),
                kind: if employer.is_some() {
                    "employer_site"
                } else {
                    "outlet"
                }
                .into(),
                employer_id: employer,
            },
        )
        .await
        .unwrap();
}

/// The pickup order of the twelve: 注塑车间 (注, 8 strokes) before 总装车间 (总, 9); within a
/// workshop departments in stroke order (一班 before 二班) and no department last; surnames in
/// stroke order (王 4, 刘 6, 张 7; 丁 2, 王 4, 欧阳 8 as one compound surname; 孙 6, then 李 and
/// 陈 at 7 strokes each, 李 first by its first stroke 一); no workshop at all last.
const GOLDEN: [&str; 12] = [
    "王大",
    "刘七",
    "张三",
    "赵九",
    "丁一",
    "丁二",
    "王小明",
    "欧阳娜娜",
    "孙十",
    "李四",
    "陈八",
    "马六",
];

fn ready_place(o: &PickupOutcome) -> (u32, u32) {
    match o {
        PickupOutcome::Ready { card } => (card.r#box.unwrap(), card.slot.unwrap()),
        other => panic!("expected ready, got {other:?}"),
    }
}

#[allow(clippy::too_many_lines)] // one story, told in order
async fn story(db: TestDb) {
    let store = &db.store;
    let t0 = Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap(); // 09:00 in Taizhou
    let ctx = Ctx::at(sscard_core::Actor::system("operator:test"), t0);
    let region = RegionCode::parse("321200").unwrap();
    let factory = CreditCode::from_body("91321200MA1MXK8P0").unwrap();
    let other = CreditCode::from_body("91321200MA1NNN001").unwrap();
    store
        .register_employer(&ctx, &factory, "泰州示例电子有限公司", region)
        .await
        .unwrap();
    store
        .register_employer(&ctx, &other, "泰州另一家公司", region)
        .await
        .unwrap();
    let site_employer = store.employer(&factory).await.unwrap().id;
    outlet(
        store,
        &ctx,
        "SITE",
        "示例电子厂区现场发卡点",
        Some(site_employer),
    )
    .await;
    outlet(store, &ctx, "OUT", "海陵区社保卡服务中心", None).await;
    let days: Vec<NaiveDate> = (0..5)
        .map(|d| NaiveDate::from_ymd_opt(2026, 11, 30).unwrap() + Duration::days(d))
        .collect();
    store.set_opening_days(&ctx, "SITE", &days).await.unwrap();
    let points = store.distribution_points().await.unwrap();
    let site = points.iter().find(|p| p.id == "SITE").unwrap();
    assert_eq!(site.kind, "employer_site");
    assert_eq!(site.employer.as_deref(), Some("泰州示例电子有限公司"));
    assert_eq!(site.opening_days.len(), 5);
    assert!(site.open_on(days[0]) && !site.open_on(days[0] - Duration::days(1)));

    let people = [
        person(1, "王小明", "总装车间", "一班"),
        person(2, "丁一", "总装车间", "一班"),
        person(3, "李四", "总装车间", "二班"),
        person(4, "欧阳娜娜", "总装车间", "一班"),
        person(5, "张三", "注塑车间", "质检部"),
        person(6, "王大", "注塑车间", "质检部"),
        person(7, "马六", "", ""),
        person(8, "丁二", "总装车间", "一班"),
        person(9, "刘七", "注塑车间", "质检部"),
        person(10, "陈八", "总装车间", "二班"),
        person(11, "赵九", "注塑车间", ""),
        person(12, "孙十", "总装车间", "二班"),
    ];
    let batch = received_batch(store, &ctx, &factory, &people, "SITE").await;
    // A batch not yet planned has no plan; one cannot be planned at a point that did not
    // receive it, nor with a box size of 0.
    assert_eq!(
        store.distribution_plan(batch).await.unwrap_err().code(),
        "not_found"
    );
    let wrong = store
        .plan_distribution(&ctx, batch, "OUT", 5)
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "distribution.other_point");
    assert!(wrong.zh().contains("SITE"), "{}", wrong.zh());
    assert_eq!(
        store
            .plan_distribution(&ctx, batch, "SITE", 0)
            .await
            .unwrap_err()
            .code(),
        "distribution.box_size"
    );

    let plan = store
        .plan_distribution(&ctx, batch, "SITE", 5)
        .await
        .unwrap();
    assert_eq!(plan.entries.len(), 12);
    assert_eq!(
        plan.boxes.iter().map(|b| b.cards).collect::<Vec<_>>(),
        [5, 5, 2]
    );
    let order: Vec<&str> = plan.entries.iter().map(|e| e.name.as_str()).collect();
    // Workshops and departments in stroke order (注 8 strokes before 总 9; 一 before 二),
    // surnames in stroke order within them (丁 2, 王 4, 欧阳 8), blanks last.
    assert_eq!(order, GOLDEN, "{order:?}");
    for (i, e) in plan.entries.iter().enumerate() {
        assert_eq!(e.position as usize, i + 1);
        assert_eq!((e.r#box, e.slot), ((i / 5) as u32 + 1, (i % 5) as u32 + 1));
        assert!(!e.handed_over);
        assert!(e.id_masked.contains('*'));
    }
    assert!(
        plan.boxes[0].label.starts_with("第 1 箱"),
        "{}",
        plan.boxes[0].label
    );
    // Planning again (same box size) is allowed before pickup starts and gives the same order.
    let again = store
        .plan_distribution(&ctx, batch, "SITE", 5)
        .await
        .unwrap();
    assert_eq!(again.entries, plan.entries);

    // Every planned person is found at the desk in their box and slot.
    for e in &plan.entries {
        let n = people
            .iter()
            .position(|p| p.name.expose() == e.name)
            .unwrap() as u16
            + 1;
        let found = store
            .pickup_lookup(&sscard_store::Ctx::system("system:test"), "SITE", &id(n))
            .await
            .unwrap();
        assert_eq!(ready_place(&found), (e.r#box, e.slot), "{}", e.name);
    }

    // Hand-over; a second scan says when and where it was picked up.
    let desk = Ctx::at(
        sscard_core::Actor::system("clerk:desk1"),
        t0 + Duration::minutes(10),
    );
    let done = store
        .pickup_hand_over(&desk, "SITE", &id(1), None, Some(42_000))
        .await
        .unwrap();
    let PickupOutcome::HandedOver { card, proxy, .. } = &done else {
        panic!("{done:?}")
    };
    assert_eq!(card.name_masked, "王*明");
    assert!(proxy.is_none());
    let card_1 = CardNumber::parse(&card.card_number).unwrap();
    assert!(
        store
            .card(&sscard_store::Ctx::system("system:test"), &card_1)
            .await
            .unwrap()
            .handed_over
    );
    for outcome in [
        store
            .pickup_hand_over(&desk, "SITE", &id(1), None, None)
            .await
            .unwrap(),
        store
            .pickup_lookup(&sscard_store::Ctx::system("system:test"), "SITE", &id(1))
            .await
            .unwrap(),
    ] {
        let PickupOutcome::AlreadyPickedUp { at, point, .. } = &outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(*at, Some(t0 + Duration::minutes(10)));
        assert_eq!(point.as_deref(), Some("示例电子厂区现场发卡点"));
        assert!(
            outcome.zh().contains("2026-11-30 09:10"),
            "{}",
            outcome.zh()
        );
    }
    let person_1 = store
        .person(&sscard_store::Ctx::system("system:test"), &id(1))
        .await
        .unwrap();
    assert_eq!(person_1.applications[0].status.code(), "03");

    // Proxy pickup records the agent (masked wherever it is shown).
    let agent = ProxyInput {
        id: id(500),
        name: "王代领".into(),
    };
    let done = store
        .pickup_hand_over(&desk, "SITE", &id(2), Some(&agent), Some(30_000))
        .await
        .unwrap();
    let PickupOutcome::HandedOver { proxy, .. } = &done else {
        panic!("{done:?}")
    };
    assert_eq!(proxy.as_deref(), Some(id(500).masked().as_str()));
    let tail = store.audit_tail(5).await.unwrap();
    let event = tail
        .iter()
        .find(|e| e.action == "pickup.hand_over")
        .unwrap();
    assert!(
        !event.payload.contains(id(500).expose()),
        "{}",
        event.payload
    );
    assert!(
        event.payload.contains(&id(500).masked()),
        "{}",
        event.payload
    );

    // A card the point cannot find is marked missing: the desk says lost, hands nothing over.
    let lost_card = {
        let PickupOutcome::Ready { card } = store
            .pickup_lookup(&sscard_store::Ctx::system("system:test"), "SITE", &id(3))
            .await
            .unwrap()
        else {
            panic!()
        };
        CardNumber::parse(&card.card_number).unwrap()
    };
    store
        .mark_card_missing(&desk, "SITE", &lost_card, true)
        .await
        .unwrap();
    for outcome in [
        store
            .pickup_lookup(&sscard_store::Ctx::system("system:test"), "SITE", &id(3))
            .await
            .unwrap(),
        store
            .pickup_hand_over(&desk, "SITE", &id(3), None, None)
            .await
            .unwrap(),
    ] {
        assert_eq!(outcome.code(), "lost", "{outcome:?}");
        assert!(outcome.zh().contains("丢失"));
    }
    assert!(
        !store
            .card(&sscard_store::Ctx::system("system:test"), &lost_card)
            .await
            .unwrap()
            .handed_over
    );

    // Someone of another employer, whose card waits at the outlet.
    let b = received_batch(store, &ctx, &other, &[person(20, "周外", "", "")], "OUT").await;
    let outcome = store
        .pickup_lookup(&sscard_store::Ctx::system("system:test"), "SITE", &id(20))
        .await
        .unwrap();
    assert_eq!(outcome.code(), "other_employer");
    assert!(
        outcome.zh().contains("海陵区社保卡服务中心"),
        "{}",
        outcome.zh()
    );
    // The same person at the outlet: ready (not planned: no box), then handed over.
    let found = store
        .pickup_lookup(&sscard_store::Ctx::system("system:test"), "OUT", &id(20))
        .await
        .unwrap();
    let PickupOutcome::Ready { card } = &found else {
        panic!("{found:?}")
    };
    assert_eq!(card.r#box, None);
    assert_eq!(b, batch + 1);
    // The factory's own employee whose card went to the outlet: at another point.
    received_batch(
        store,
        &ctx,
        &factory,
        &[person(21, "吴外点", "总装车间", "一班")],
        "OUT",
    )
    .await;
    let outcome = store
        .pickup_lookup(&sscard_store::Ctx::system("system:test"), "SITE", &id(21))
        .await
        .unwrap();
    let PickupOutcome::Elsewhere { point_id, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(point_id, "OUT");
    // Nobody registered.
    assert_eq!(
        store
            .pickup_lookup(&sscard_store::Ctx::system("system:test"), "SITE", &id(999))
            .await
            .unwrap()
            .code(),
        "no_card"
    );

    // Two desks scan the same person at the same moment: one hand-over, one "already".
    let d1 = Ctx::at(
        sscard_core::Actor::system("clerk:desk1"),
        t0 + Duration::minutes(20),
    );
    let d2 = Ctx::at(
        sscard_core::Actor::system("clerk:desk2"),
        t0 + Duration::minutes(20),
    );
    let four = id(4);
    let (a, b) = tokio::join!(
        store.pickup_hand_over(&d1, "SITE", &four, None, Some(20_000)),
        store.pickup_hand_over(&d2, "SITE", &four, None, Some(20_000)),
    );
    let mut codes = [a.unwrap().code(), b.unwrap().code()];
    codes.sort_unstable();
    assert_eq!(codes, ["already_picked_up", "handed_over"]);

    // Pickup has started: the boxes can no longer be re-planned.
    assert_eq!(
        store
            .plan_distribution(&ctx, batch, "SITE", 200)
            .await
            .unwrap_err()
            .code(),
        "distribution.started"
    );
    let plan = store.distribution_plan(batch).await.unwrap();
    assert_eq!(plan.entries.iter().filter(|e| e.handed_over).count(), 3);

    // Live figures: 3 handed over today, 8 remaining, 1 missing, the queue's estimated wait.
    store.report_queue(&desk, "SITE", 12).await.unwrap();
    let now = t0 + Duration::minutes(30);
    let f = store
        .pickup_figures(&sscard_store::Ctx::system("system:test"), "SITE", now)
        .await
        .unwrap();
    assert_eq!(f.handed_over_today, 3);
    assert_eq!(f.per_hour[9], (9, 3));
    assert_eq!(f.last_hour, 3);
    assert_eq!((f.remaining, f.missing), (8, 1));
    assert!(f.open);
    // Active desks: those that handed a card over in the last 15 minutes — only the winner of
    // the race (desk 1's first hand-over is 20 minutes old).
    assert_eq!(f.active_desks, 1);
    let avg = f.avg_handling_seconds.unwrap();
    assert!((avg - (42.0 + 30.0 + 20.0) / 3.0).abs() < 1e-9, "{avg}");
    let wait = f.estimated_wait_minutes.unwrap();
    let desks = f64::from(f.active_desks);
    assert!((wait - 12.0 * avg / desks / 60.0).abs() < 1e-9, "{wait}");
    // The next day nothing has been handed over yet.
    let tomorrow = store
        .pickup_figures(
            &sscard_store::Ctx::system("system:test"),
            "SITE",
            now + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(tomorrow.handed_over_today, 0);

    assert!(store.verify_audit().await.unwrap().ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_sqlite() {
    story(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_postgres() {
    if let Some(db) = TestDb::postgres().await {
        story(db).await;
    }
}
