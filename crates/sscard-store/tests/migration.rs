//! The city's migration in the store, on both backends: who may exchange when (a table of
//! phases, districts, groups and days), 1,000 people booking the last 10 places at once (exactly
//! 10 bookings), the self-service scope (a holder sees and changes their own booking only, and a
//! wrong name reads exactly like an unknown ID number), check-in at the point, no-shows freeing
//! their places, and the notices outbox.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sscard_core::{Actor, Half, Role, Scope};
use sscard_ids::{CardNumber, PersonName, RegionCode, ResidentId};
use sscard_store::appointments::{BookRequest, Channel, ExchangePointInput};
use sscard_store::bank::{LegacyCardInput, LegacyStatus, RolloutPhase};
use sscard_store::insurance::{EnrolInput, FilingInput};
use sscard_store::testing::TestDb;
use sscard_store::{Ctx, Store, StoreError};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// China time `hh:mm` on `d`.
fn at(d: &str, hh: u32, mm: u32) -> DateTime<Utc> {
    let local = day(d).and_hms_opt(hh, mm, 0).unwrap();
    Utc.from_utc_datetime(&local) - chrono::Duration::hours(8)
}

fn ctx_at(actor: Actor, when: DateTime<Utc>) -> Ctx {
    Ctx {
        actor,
        at: when,
        reason: String::new(),
    }
}

fn centre(when: DateTime<Utc>) -> Ctx {
    ctx_at(Actor::system("operator:test"), when)
}

fn code(e: &StoreError) -> String {
    match e {
        StoreError::Refused { code, .. } => (*code).to_owned(),
        StoreError::NotFound { what, .. } => format!("not_found:{what}"),
        StoreError::OutOfScope(_) => "auth.out_of_scope".into(),
        other => format!("{other:?}"),
    }
}

/// The `n`-th synthetic holder of a district: ID number, name, legacy card.
fn holder(district: u32, n: u16) -> (ResidentId, PersonName, CardNumber) {
    let birth =
        NaiveDate::from_ymd_opt(1960 + i32::from(n % 40), 1 + u32::from(n % 12), 1).unwrap();
    let id = ResidentId::from_parts(RegionCode::from_u32(district).unwrap(), birth, n).unwrap();
    let card = CardNumber::from_body(&format!("M{:03}{n:04}", district % 1000)).unwrap();
    (id, PersonName::parse("周海燕").unwrap(), card)
}

async fn import(store: &Store, ctx: &Ctx, district: u32, count: u16, status: LegacyStatus) {
    let cards: Vec<LegacyCardInput> = (0..count)
        .map(|n| {
            let (id, name, card) = holder(district, n);
            LegacyCardInput {
                id,
                name,
                card,
                bank: "403".into(),
                account: format!("6217{district:06}{n:09}"),
                issue_date: day("2012-03-01"),
                status,
                district: Some(district.to_string()),
                card_id_code: None,
            }
        })
        .collect();
    let out = store.import_legacy_cards(ctx, &cards).await.unwrap();
    assert_eq!(out.accepted, usize::from(count));
}

fn phase(name: &str, from: &str, districts: &[&str]) -> RolloutPhase {
    RolloutPhase {
        name: name.into(),
        from: day(from),
        districts: districts.iter().map(|d| (*d).to_owned()).collect(),
        groups: vec!["new".into(), "reissue".into(), "cross_region".into()],
    }
}

#[allow(clippy::too_many_lines)] // one table of cases, set up and read in order
async fn eligibility_table(db: TestDb) {
    let store = &db.store;
    let setup = centre(at("2026-07-01", 10, 0));
    import(store, &setup, 321_202, 1, LegacyStatus::Normal).await; // Hailing
    import(store, &setup, 321_281, 2, LegacyStatus::Normal).await; // Xinghua
    import(store, &setup, 321_204, 1, LegacyStatus::Lost).await; // Jiangyan, lost
    import(store, &setup, 321_282, 1, LegacyStatus::Normal).await; // Jingjiang
    let (filer, _, _) = holder(321_281, 1);
    store
        .enrol_insurance(
            &setup,
            &EnrolInput {
                id: filer,
                insutype: "310".into(),
                psn_type: "1101".into(),
                region: "321200".into(),
                from: day("2020-01-01"),
                balance: None,
                employer: None,
            },
        )
        .await
        .unwrap();
    store
        .add_filing(
            &setup,
            &FilingInput {
                id: filer,
                insutype: "310".into(),
                region: "320100".into(),
                from: day("2026-07-01"),
                to: day("2027-06-30"),
                kind: "long_term".into(),
            },
        )
        .await
        .unwrap();
    let newcomer = ResidentId::parse("320102199003071116").unwrap();
    // Without phases the exchange is open to everyone.
    let open = store
        .rollout_eligible(&setup, &holder(321_282, 0).0)
        .await
        .unwrap();
    assert!(open.eligible && open.phase.is_none());
    store
        .add_rollout_phase(&setup, &phase("一期", "2026-08-25", &["321202", "321203"]))
        .await
        .unwrap();
    store
        .add_rollout_phase(&setup, &phase("二期", "2027-03-01", &["321281", "321204"]))
        .await
        .unwrap();
    // (who, day, eligible, the phase named, the words that must be in the reason)
    let table: Vec<(ResidentId, &str, bool, Option<&str>, &str)> = vec![
        (
            holder(321_202, 0).0,
            "2026-08-24",
            false,
            Some("一期"),
            "2026-08-25",
        ),
        (
            holder(321_202, 0).0,
            "2026-08-25",
            true,
            Some("一期"),
            "2026-08-25",
        ),
        (
            holder(321_281, 0).0,
            "2026-09-01",
            false,
            Some("二期"),
            "2027-03-01",
        ),
        (
            holder(321_281, 0).0,
            "2027-03-01",
            true,
            Some("二期"),
            "2027-03-01",
        ),
        (filer, "2026-09-01", true, None, "another city"),
        (holder(321_204, 0).0, "2026-09-01", true, None, "reissue"),
        (newcomer, "2026-09-01", true, None, "new application"),
        (holder(321_282, 0).0, "2027-06-01", false, None, "no phase"),
    ];
    for (id, when, eligible, phase, words) in table {
        let e = store
            .rollout_eligible(&centre(at(when, 10, 0)), &id)
            .await
            .unwrap();
        assert_eq!(
            e.eligible,
            eligible,
            "{} on {when}: {}",
            id.masked(),
            e.reason_en
        );
        assert_eq!(e.phase.as_deref(), phase, "{} on {when}", id.masked());
        assert!(
            e.reason_en.contains(words),
            "{}: {}",
            id.masked(),
            e.reason_en
        );
        if !eligible && phase.is_some() {
            assert!(e.reason_en.contains("no need to rush"), "{}", e.reason_en);
        }
    }
    // A booking is for a day the phase is open on: before, refused with the date.
    point(store, &setup, "TZ-XH-01", "321281", 200).await;
    let early = store
        .book_appointment(
            &centre(at("2026-09-01", 10, 0)),
            &booking(holder(321_281, 0).0, "TZ-XH-01", "2026-09-02", Half::Am),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&early), "rollout.not_open");
    db.store.close().await;
}

async fn point(store: &Store, ctx: &Ctx, code: &str, district: &str, capacity: u32) {
    store
        .add_exchange_point(
            ctx,
            &ExchangePointInput {
                code: code.into(),
                name_zh: format!("{code} 换卡点"),
                name_en: format!("{code} exchange point"),
                district: district.into(),
                capacity,
            },
        )
        .await
        .unwrap();
}

fn booking(id: ResidentId, point: &str, d: &str, half: Half) -> BookRequest {
    BookRequest {
        id,
        name: None,
        point: point.into(),
        day: day(d),
        half,
        phone: Some("13905261234".into()),
        channel: Channel::Counter,
    }
}

#[allow(clippy::too_many_lines)] // one exchange point's bookings, told in order
async fn booking_race(db: TestDb) {
    let store = &db.store;
    let setup = centre(at("2026-08-20", 10, 0));
    import(store, &setup, 321_202, 1_010, LegacyStatus::Normal).await;
    store
        .add_rollout_phase(&setup, &phase("一期", "2026-08-25", &["321202"]))
        .await
        .unwrap();
    // 20 places a day: 10 in the morning.
    point(store, &setup, "TZ-HL-02", "321202", 20).await;
    let slot_day = "2026-08-26";
    let slot_left = |slots: &[sscard_store::appointments::SlotView], half: Half| {
        slots
            .iter()
            .find(|s| s.day == day(slot_day) && s.half == half)
            .map(|s| s.left)
    };
    let free = store.free_slots(day(slot_day), 1, None).await.unwrap();
    assert_eq!(slot_left(&free, Half::Am), Some(10));
    // 1,000 people at once for the 10 morning places.
    let when = at("2026-08-25", 9, 30);
    let mut tasks = Vec::new();
    for n in 0..1_000u16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let clerk = Actor::new("clerk:race", Role::Clerk, Scope::Outlet("TZ-HL-02".into()));
            store
                .book_appointment(
                    &ctx_at(clerk, when),
                    &booking(holder(321_202, n).0, "TZ-HL-02", slot_day, Half::Am),
                )
                .await
        }));
    }
    let mut booked = Vec::new();
    let mut full = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(a) => booked.push(a),
            Err(e) => {
                assert_eq!(code(&e), "appointment.slot_full");
                full += 1;
            }
        }
    }
    assert_eq!((booked.len(), full), (10, 990));
    let free = store.free_slots(day(slot_day), 1, None).await.unwrap();
    assert_eq!(slot_left(&free, Half::Am), Some(0));
    assert_eq!(slot_left(&free, Half::Pm), Some(10));
    let listed = store
        .appointments(
            &setup,
            Some("TZ-HL-02"),
            Some(day(slot_day)),
            Some("booked"),
            100,
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 10);
    assert!(listed.iter().all(|a| a.id_masked.contains("****")));

    // One open booking per person.
    let first = &booked[0];
    let who = (0..1_000u16)
        .map(|n| holder(321_202, n))
        .find(|h| h.0.masked() == first.id_masked || mask(&h.0) == first.id_masked)
        .expect("the booker");
    let again = store
        .book_appointment(
            &centre(when),
            &booking(who.0, "TZ-HL-02", slot_day, Half::Pm),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&again), "appointment.already_booked");

    // The holder on the self-service page: a wrong name reads like an unknown number.
    let (id, name, _) = holder(321_202, 1_005);
    let mut own = booking(id, "TZ-HL-02", slot_day, Half::Pm);
    own.channel = Channel::SelfService;
    own.name = Some(PersonName::parse("周海").unwrap());
    let wrong = store
        .book_appointment(&ctx_at(Actor::holder(id.expose()), when), &own)
        .await
        .unwrap_err();
    let unknown_id = ResidentId::parse("321204197506152022").unwrap();
    let mut stranger = own.clone();
    stranger.id = unknown_id;
    let unknown = store
        .book_appointment(&ctx_at(Actor::holder(unknown_id.expose()), when), &stranger)
        .await
        .unwrap_err();
    assert_eq!(format!("{wrong:?}"), format!("{unknown:?}"));
    assert_eq!(code(&wrong), "self.no_match");
    // Someone else's ID number under a holder's scope is refused.
    let mut other = own.clone();
    other.name = Some(name.clone());
    let foreign = store
        .book_appointment(&ctx_at(Actor::holder(unknown_id.expose()), when), &other)
        .await
        .unwrap_err();
    assert_eq!(code(&foreign), "auth.out_of_scope");
    own.name = Some(name);
    let mine = store
        .book_appointment(&ctx_at(Actor::holder(id.expose()), when), &own)
        .await
        .unwrap();
    // Another holder cannot see or cancel it: the same answer as for a code that is not there.
    let nosy = ctx_at(Actor::holder(unknown_id.expose()), when);
    assert_eq!(
        code(
            &store
                .cancel_appointment(&nosy, &mine.code)
                .await
                .unwrap_err()
        ),
        "not_found:appointment"
    );
    assert_eq!(
        code(&store.appointment(&nosy, "ZZZZZZZZ").await.unwrap_err()),
        "not_found:appointment"
    );
    let holder_ctx = ctx_at(Actor::holder(id.expose()), when);
    assert_eq!(
        store
            .appointment(&holder_ctx, &mine.code)
            .await
            .unwrap()
            .status,
        "booked"
    );

    // A cancellation frees the place, which the next person takes; its reminder is withdrawn.
    store
        .cancel_appointment(&centre(when), &first.code)
        .await
        .unwrap();
    let late = holder(321_202, 1_001).0;
    store
        .book_appointment(
            &centre(when),
            &booking(late, "TZ-HL-02", slot_day, Half::Am),
        )
        .await
        .unwrap();
    let full_again = store
        .book_appointment(
            &centre(when),
            &booking(holder(321_202, 1_002).0, "TZ-HL-02", slot_day, Half::Am),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&full_again), "appointment.slot_full");

    // Check-in: on the day, at the point, by its clerk.
    let on_day = at(slot_day, 9, 10);
    let second = &booked[1];
    let elsewhere = Actor::new("clerk:gg", Role::Clerk, Scope::Outlet("TZ-GG-01".into()));
    assert_eq!(
        code(
            &store
                .check_in_appointment(&ctx_at(elsewhere, on_day), &second.code)
                .await
                .unwrap_err()
        ),
        "auth.out_of_scope"
    );
    let clerk = || Actor::new("clerk:hl", Role::Clerk, Scope::Outlet("TZ-HL-02".into()));
    assert_eq!(
        code(
            &store
                .check_in_appointment(&ctx_at(clerk(), when), &second.code)
                .await
                .unwrap_err()
        ),
        "appointment.not_today"
    );
    let checked = store
        .check_in_appointment(&ctx_at(clerk(), on_day), &second.code)
        .await
        .unwrap();
    assert_eq!(checked.status, "checked_in");
    // At 09:40 the morning's bookings not checked in are no-shows: 9 places come free.
    let released = store
        .release_no_shows(&ctx_at(clerk(), at(slot_day, 9, 40)), Some("TZ-HL-02"))
        .await
        .unwrap();
    assert_eq!(released, 9);
    let free = store.free_slots(day(slot_day), 1, None).await.unwrap();
    assert_eq!(slot_left(&free, Half::Am), Some(9));
    assert_eq!(slot_left(&free, Half::Pm), Some(9));

    // The outbox: a confirmation and a reminder per booking, the cancelled one's reminder
    // withdrawn; an export takes what is due, once.
    let all = store.notices(&setup, None, None, 1_000).await.unwrap();
    let confirmed = all.iter().filter(|n| n.kind == "booking_confirmed").count();
    assert_eq!(confirmed, 12);
    let withdrawn: Vec<_> = all.iter().filter(|n| n.status == "withdrawn").collect();
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(withdrawn[0].subject, first.code);
    assert!(all.iter().all(|n| n.phone_masked == "139****1234"));
    let out = store
        .export_notices(&centre(at("2026-08-25", 18, 30)))
        .await
        .unwrap();
    assert_eq!(out.notices.len(), 12 + 11);
    assert!(out.notices.iter().all(|(_, phone)| phone == "13905261234"));
    let twice = store
        .export_notices(&centre(at("2026-08-25", 18, 31)))
        .await
        .unwrap();
    assert!(twice.notices.is_empty());

    // The dashboard's figures: every legacy card in exactly one column.
    let f = store.migration_figures(&setup).await.unwrap();
    let hailing = f.districts.iter().find(|d| d.district == "321202").unwrap();
    assert_eq!(hailing.legacy, 1_010);
    assert_eq!(
        hailing.superseded + hailing.exchanged + hailing.booked + hailing.pending,
        1_010
    );
    assert_eq!(hailing.booked, 2); // one checked in, one booked in the afternoon
    assert_eq!(f.unexchanged, 1_010);
    db.store.close().await;
}

fn mask(id: &ResidentId) -> String {
    sscard_ids::mask_middle(id.expose(), 4, 4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eligibility_by_phase_district_group_and_day_sqlite() {
    eligibility_table(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eligibility_by_phase_district_group_and_day_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    eligibility_table(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_people_for_ten_places_get_ten_bookings_sqlite() {
    booking_race(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_people_for_ten_places_get_ten_bookings_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    booking_race(db).await;
}
