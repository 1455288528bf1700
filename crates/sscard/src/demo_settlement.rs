//! The demo's medical insurance and settlement: example policies for all 13 cities of Jiangsu
//! (the numbers are examples, not any city's published figures), a catalogue of a few hundred
//! plausible items in each city, the demo's people insured (most in Taizhou, some elsewhere,
//! a few residents), a hospital in each other city, filings, and a month of visits settled
//! through the store's interface writer exactly as a HIS's calls would be (1101 → 2201 →
//! 2204 → 2207, stays 2401 → 2301 → 2402 → 2304, a few 2208), local and cross-region, so the
//! month's clearing has something to show.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sscard_core::money::{Fixed4, Money};
use sscard_core::settlement::{CatalogueItem, ItemClass, Policy};
use sscard_ids::{InstitutionCode, JIANGSU_CITIES, RegionCode, ResidentId};
use sscard_store::fsi::{Certificate, FeeInput, Input, Message, Registration, SettleInput};
use sscard_store::insurance::{CatalogueRow, EnrolInput, FilingInput, PolicyRow};
use sscard_store::{Ctx, InstitutionInput, PersonInput, Store};

/// The month of visits.
pub(crate) const MONTH: &str = "2026-11";

/// What the settlement part of the demo seeded.
#[derive(Debug, Default)]
pub(crate) struct SettlementSeeded {
    pub(crate) policies: usize,
    pub(crate) catalogue: usize,
    pub(crate) insured: usize,
    pub(crate) visits: usize,
    pub(crate) settlements: usize,
    pub(crate) cross_region: usize,
    pub(crate) cancelled: usize,
}

impl SettlementSeeded {
    /// The demo summary's line.
    pub(crate) fn summary(&self) -> String {
        format!(
            "\n  医保（medical insurance）: 13 市结算政策（policies, examples） {} 张 · 目录（catalogue items） {} · 参保（insured） {}\n  {MONTH} 就诊（visits） {} · 结算（settlements） {}（异地 cross-region {}，撤销 cancelled {}）— sscard clearing run --month {MONTH}",
            self.policies,
            self.catalogue,
            self.insured,
            self.visits,
            self.settlements,
            self.cross_region,
            self.cancelled
        )
    }
}

fn m(cents: i64) -> Money {
    Money::from_cents(cents)
}

fn r(units: i64) -> Fixed4 {
    Fixed4::from_units(units)
}

/// Example policies of a city for a year (they differ a little from city to city).
fn policies(city: &str, i: i64, year: i32) -> Vec<PolicyRow> {
    let row = |insutype: &str, med_type: &str, policy: Policy| PolicyRow {
        region: city.to_owned(),
        year,
        insutype: insutype.to_owned(),
        med_type: med_type.to_owned(),
        policy,
    };
    let employees = |deductible: i64, ratios: [i64; 3], pharmacy: i64| Policy {
        deductible: m(deductible),
        ratio_by_level: [r(ratios[0] - 100 * (i % 3)), r(ratios[1]), r(ratios[2])],
        ratio_pharmacy: r(pharmacy),
        pool_cap: m(40_000_000 + 2_000_000 * (i % 4)),
        second_tier_ratio: r(8_000),
        second_tier_cap: m(30_000_000),
        unfiled_reduction: r(1_000),
        account: true,
    };
    let residents = |deductible: i64, ratios: [i64; 3], pharmacy: i64| Policy {
        deductible: m(deductible),
        ratio_by_level: [r(ratios[0]), r(ratios[1]), r(ratios[2])],
        ratio_pharmacy: r(pharmacy),
        pool_cap: m(25_000_000),
        second_tier_ratio: r(6_000),
        second_tier_cap: m(40_000_000),
        unfiled_reduction: r(1_500),
        account: false,
    };
    vec![
        row(
            "310",
            "11",
            employees(60_000 + 5_000 * (i % 5), [9_000, 8_500, 8_000], 8_500),
        ),
        row(
            "310",
            "21",
            employees(90_000 + 10_000 * (i % 4), [9_500, 9_000, 8_500], 8_500),
        ),
        row("310", "41", employees(0, [8_500, 8_500, 8_500], 8_000)),
        row("390", "11", residents(20_000, [7_000, 6_000, 5_000], 5_000)),
        row("390", "21", residents(60_000, [8_500, 7_500, 6_500], 5_000)),
        row("390", "41", residents(0, [5_000, 5_000, 5_000], 5_000)),
    ]
}

/// (code, name, class, pay-first share in ten-thousandths, price cap in cents, usual price).
type Item = (&'static str, &'static str, ItemClass, i64, Option<i64>, i64);

const DRUGS: &[(&str, &str, ItemClass, i64, i64)] = &[
    ("XJ01CA", "阿莫西林", ItemClass::A, 0, 1_250),
    ("XJ01DD", "头孢克肟", ItemClass::B, 1_000, 3_500),
    ("XJ01FA", "阿奇霉素", ItemClass::A, 0, 2_200),
    ("XJ01MA", "左氧氟沙星", ItemClass::B, 1_000, 2_800),
    ("XN02BE", "对乙酰氨基酚", ItemClass::A, 0, 650),
    ("XM01AE", "布洛芬", ItemClass::A, 0, 980),
    ("XC09AA", "卡托普利", ItemClass::A, 0, 420),
    ("XC08CA", "硝苯地平", ItemClass::A, 0, 1_860),
    ("XC09CA", "缬沙坦", ItemClass::B, 500, 3_200),
    ("XC10AA", "阿托伐他汀", ItemClass::B, 500, 4_100),
    ("XA10BA", "二甲双胍", ItemClass::A, 0, 760),
    ("XA10BB", "格列美脲", ItemClass::B, 1_000, 2_950),
    ("XA10AB", "门冬胰岛素", ItemClass::B, 1_500, 8_900),
    ("XA02BC", "奥美拉唑", ItemClass::A, 0, 1_350),
    ("XR06AE", "西替利嗪", ItemClass::B, 1_000, 1_980),
    ("XR03AC", "沙丁胺醇气雾剂", ItemClass::A, 0, 2_600),
    ("XB01AC", "阿司匹林肠溶片", ItemClass::A, 0, 1_580),
    ("XB01AF", "利伐沙班", ItemClass::B, 2_000, 12_800),
    ("XL01XE", "伊马替尼", ItemClass::B, 2_000, 98_000),
    ("XN06AB", "舍曲林", ItemClass::B, 1_000, 4_560),
    ("XZ00LW", "连花清瘟胶囊", ItemClass::B, 1_000, 2_380),
    ("XZ00HX", "复方丹参滴丸", ItemClass::A, 0, 2_680),
    ("XZ00GM", "感冒清热颗粒", ItemClass::A, 0, 1_520),
    ("XZ00YN", "云南白药气雾剂", ItemClass::B, 1_000, 3_680),
    ("XS01AA", "左氧氟沙星滴眼液", ItemClass::B, 1_000, 1_890),
    ("XD07AC", "糠酸莫米松乳膏", ItemClass::B, 1_000, 2_160),
    ("XH02AB", "泼尼松", ItemClass::A, 0, 560),
    ("XV00BJ", "维生素C泡腾片", ItemClass::C, 0, 2_990),
    ("XV00YY", "复合维生素片", ItemClass::C, 0, 8_800),
    ("XV00DS", "阿胶", ItemClass::C, 0, 29_800),
];

const SPECS: &[(&str, i64)] = &[
    ("片", 100),
    ("胶囊", 110),
    ("颗粒", 95),
    ("注射液", 180),
    ("缓释片", 160),
    ("口服液", 120),
    ("分散片", 105),
];

const SERVICES: &[Item] = &[
    (
        "F110100001",
        "普通门诊诊查费",
        ItemClass::A,
        0,
        Some(1_000),
        1_000,
    ),
    (
        "F110200001",
        "副主任医师诊查费",
        ItemClass::A,
        0,
        Some(2_500),
        2_500,
    ),
    (
        "F110300001",
        "急诊诊查费",
        ItemClass::A,
        0,
        Some(1_500),
        1_500,
    ),
    (
        "F120100001",
        "静脉输液",
        ItemClass::A,
        0,
        Some(1_200),
        1_200,
    ),
    ("F120400001", "肌肉注射", ItemClass::A, 0, Some(400), 400),
    ("F210100001", "血常规", ItemClass::A, 0, Some(2_000), 2_000),
    ("F210200001", "尿常规", ItemClass::A, 0, Some(1_200), 1_200),
    (
        "F250300001",
        "肝功能检查",
        ItemClass::A,
        0,
        Some(6_000),
        6_000,
    ),
    ("F250400001", "血糖测定", ItemClass::A, 0, Some(800), 800),
    (
        "F220100001",
        "胸部 X 线摄影",
        ItemClass::A,
        0,
        Some(7_000),
        7_000,
    ),
    (
        "F220300001",
        "腹部彩色多普勒超声",
        ItemClass::B,
        1_000,
        Some(16_000),
        16_000,
    ),
    (
        "F220500001",
        "头颅 CT 平扫",
        ItemClass::B,
        1_000,
        Some(24_000),
        24_000,
    ),
    (
        "F220600001",
        "膝关节 MRI",
        ItemClass::B,
        1_500,
        Some(48_000),
        52_000,
    ),
    (
        "F310100001",
        "普通病房床位费",
        ItemClass::A,
        0,
        Some(4_000),
        5_000,
    ),
    (
        "F310200001",
        "特需病房床位费",
        ItemClass::C,
        0,
        None,
        38_000,
    ),
    (
        "F310300001",
        "一级护理",
        ItemClass::A,
        0,
        Some(3_000),
        3_000,
    ),
    (
        "F330100001",
        "阑尾切除术",
        ItemClass::A,
        0,
        Some(180_000),
        180_000,
    ),
    (
        "F330200001",
        "腹腔镜胆囊切除术",
        ItemClass::B,
        1_000,
        Some(320_000),
        320_000,
    ),
    (
        "F340100001",
        "针灸",
        ItemClass::B,
        1_000,
        Some(3_500),
        3_500,
    ),
    (
        "F340200001",
        "推拿",
        ItemClass::B,
        1_000,
        Some(5_000),
        6_000,
    ),
    (
        "F400100001",
        "一次性输液器",
        ItemClass::A,
        0,
        Some(500),
        500,
    ),
    ("F400200001", "医用外科口罩", ItemClass::C, 0, None, 150),
];

/// The catalogue's items (the same national codes in every city).
fn items() -> Vec<Item> {
    let mut out: Vec<Item> = SERVICES.to_vec();
    for (code, name, class, prop, price) in DRUGS {
        for (n, (spec, factor)) in SPECS.iter().enumerate() {
            let price = price * factor / 100;
            let code: &'static str = Box::leak(format!("{code}{n:03}").into_boxed_str());
            let name: &'static str = Box::leak(format!("{name}{spec}").into_boxed_str());
            out.push((code, name, *class, *prop, Some(price + price / 5), price));
        }
    }
    out
}

/// A person's insurance in the demo.
#[derive(Clone)]
struct Insured {
    id: ResidentId,
    insutype: &'static str,
    region: String,
}

/// One HIS: an institution's credentials and its sign-in of each day.
struct Desk {
    code: String,
    city: String,
    paasid: String,
    sign_ins: HashMap<NaiveDate, String>,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

fn message(desk: &Desk, sign_no: &str, infno: &str, at: DateTime<Utc>, input: Input) -> Message {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    Message {
        institution: desk.code.clone(),
        paasid: desk.paasid.clone(),
        nonce: format!("demo-{n}"),
        msgid: sscard_server::fsi::client::msgid(&desk.code, at, n),
        infno: infno.into(),
        sign_no: sign_no.into(),
        opter: "demo".into(),
        at,
        input,
    }
}

async fn call(store: &Store, msg: Message) -> anyhow::Result<Value> {
    let infno = msg.infno.clone();
    let answer = store.interface_call(msg).await?;
    answer
        .outcome
        .map_err(|r| anyhow::anyhow!("demo {infno}: {} ({})", r.en, r.code))
}

async fn sign_no(store: &Store, desk: &mut Desk, day: NaiveDate) -> anyhow::Result<String> {
    if let Some(s) = desk.sign_ins.get(&day) {
        return Ok(s.clone());
    }
    let at = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("valid"));
    let out = call(
        store,
        message(
            desk,
            "",
            "9001",
            at,
            Input::SignIn {
                opter_no: "demo".into(),
                mac: String::new(),
                ip: "10.32.12.8".into(),
            },
        ),
    )
    .await?;
    let s = out["signinoutb"]["sign_no"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    desk.sign_ins.insert(day, s.clone());
    Ok(s)
}

/// Policies of the 13 cities for 2026 and for this year, and the catalogues; answers the items.
async fn configure(
    store: &Store,
    ctx: &Ctx,
    out: &mut SettlementSeeded,
) -> anyhow::Result<Vec<Item>> {
    // Policies of the 13 cities for 2026 and for this year, catalogues.
    let this_year = crate::insurance_cmds::this_year();
    let mut rows = Vec::new();
    for (i, (city, _, _)) in JIANGSU_CITIES.iter().enumerate() {
        for year in std::collections::BTreeSet::from([2026, this_year]) {
            rows.extend(policies(&city.to_string(), i as i64, year));
        }
    }
    store.load_policies(ctx, &rows).await?;
    out.policies = rows.len();
    let catalogue = items();
    let mut lines = Vec::new();
    for (i, (city, _, _)) in JIANGSU_CITIES.iter().enumerate() {
        for (code, name, class, prop, cap, _) in &catalogue {
            lines.push(CatalogueRow {
                region: city.to_string(),
                code: (*code).into(),
                name: (*name).into(),
                item: CatalogueItem {
                    class: *class,
                    selfpay_prop: r(*prop),
                    price_cap: cap.map(|c| m(c + (i as i64 % 3) * c / 50)),
                },
            });
        }
    }
    store.load_catalogue(ctx, &lines).await?;
    out.catalogue = catalogue.len();

    Ok(catalogue)
}

/// The people: most insured in Taizhou as employees, some elsewhere, a few residents.
async fn insure(
    store: &Store,
    ctx: &Ctx,
    rng: &mut StdRng,
    people: &[PersonInput],
) -> anyhow::Result<Vec<Insured>> {
    let mut insured = Vec::with_capacity(people.len());
    let mut enrol = Vec::with_capacity(people.len());
    for (i, p) in people.iter().enumerate() {
        let (insutype, region) = match i % 50 {
            0..=1 => ("310", JIANGSU_CITIES[rng.random_range(0..11)].0.to_string()),
            2 => ("390", "321200".to_owned()),
            _ => ("310", "321200".to_owned()),
        };
        enrol.push(EnrolInput {
            id: p.id,
            insutype: insutype.into(),
            psn_type: if insutype == "390" { "1501" } else { "1101" }.into(),
            region: region.clone(),
            from: NaiveDate::from_ymd_opt(2019, 1, 1).expect("valid"),
            balance: (insutype == "310").then(|| m(rng.random_range(20_000..300_000))),
            employer: None,
        });
        insured.push(Insured {
            id: p.id,
            insutype,
            region,
        });
    }
    store.enrol_insurance_many(ctx, &enrol).await?;
    Ok(insured)
}

/// Filings: some Taizhou employees live in Nanjing or Suzhou for the month.
async fn file(store: &Store, ctx: &Ctx, insured: &[Insured]) -> anyhow::Result<()> {
    for p in insured
        .iter()
        .filter(|p| p.region == "321200")
        .step_by(97)
        .take(30)
    {
        let region = if p.id.expose().ends_with(['1', '3', '5', '7', '9']) {
            "320100"
        } else {
            "320500"
        };
        store
            .add_filing(
                ctx,
                &FilingInput {
                    id: p.id,
                    insutype: p.insutype.into(),
                    region: region.into(),
                    from: NaiveDate::from_ymd_opt(2026, 10, 1).expect("valid"),
                    to: NaiveDate::from_ymd_opt(2027, 3, 31).expect("valid"),
                    kind: "temporary".into(),
                },
            )
            .await?;
    }

    Ok(())
}

/// Seeds the settlement part of the demo.
pub(crate) async fn seed(
    store: &Store,
    ctx: &Ctx,
    seed: u64,
    people: &[PersonInput],
) -> anyhow::Result<SettlementSeeded> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5E77);
    let mut out = SettlementSeeded::default();
    let catalogue = configure(store, ctx, &mut out).await?;
    // A hospital in each other city.
    let others: Vec<InstitutionInput> = JIANGSU_CITIES
        .iter()
        .filter(|(c, _, _)| *c != 321_200)
        .map(|(c, zh, _)| {
            let district = c + 2;
            let code = InstitutionCode::parse(&format!("H{district}00001")).expect("valid");
            InstitutionInput {
                region: RegionCode::from_u32(district).unwrap_or_else(|| code.region()),
                level: Some(3),
                code,
                name: format!("{}第一人民医院（演示）", zh.trim_end_matches('市')),
                networked: true,
            }
        })
        .collect();
    store.register_institutions(ctx, &others).await?;

    let insured = insure(store, ctx, &mut rng, people).await?;
    out.insured = insured.len();
    // Desks: Taizhou's hospitals and pharmacies of the demo, and the other cities' hospitals.
    let all = store.institutions(ctx).await?;
    let mut taizhou: Vec<&sscard_store::Institution> = all
        .iter()
        .filter(|i| i.region.starts_with("3212") && i.status == "active")
        .collect();
    taizhou.sort_by_key(|i| {
        (
            i.kind != "hospital",
            std::cmp::Reverse(i.level),
            i.code.clone(),
        )
    });
    let mut desks: Vec<Desk> = Vec::new();
    let chosen: Vec<String> = taizhou
        .iter()
        .filter(|i| i.kind == "hospital")
        .take(10)
        .chain(taizhou.iter().filter(|i| i.kind == "pharmacy").take(6))
        .map(|i| i.code.clone())
        .chain(others.iter().map(|i| i.code.as_str().to_owned()))
        .collect();
    for code in chosen {
        let c = store.issue_credentials(ctx, &code).await?;
        desks.push(Desk {
            city: format!("{}00", &code[1..5]),
            code,
            paasid: c.paasid,
            sign_ins: HashMap::new(),
        });
    }
    let local: Vec<usize> = (0..desks.len())
        .filter(|d| desks[*d].city == "321200")
        .collect();
    let away: Vec<usize> = (0..desks.len())
        .filter(|d| desks[*d].city != "321200")
        .collect();

    file(store, ctx, &insured).await?;
    // November's visits.
    let taizhou_people: Vec<&Insured> = insured.iter().filter(|p| p.region == "321200").collect();
    let elsewhere: Vec<&Insured> = insured.iter().filter(|p| p.region != "321200").collect();
    let mut psn_nos: HashMap<ResidentId, String> = HashMap::new();
    let visits = 420;
    for v in 0..visits {
        let day = NaiveDate::from_ymd_opt(2026, 11, 1 + rng.random_range(0..30)).expect("valid");
        let at = Utc.from_utc_datetime(&day.and_hms_opt(0, 30, 0).expect("valid"))
            + chrono::Duration::minutes(rng.random_range(0..540));
        let (person, desk) = match rng.random_range(0..100) {
            0..=69 => (
                taizhou_people[rng.random_range(0..taizhou_people.len())],
                local[rng.random_range(0..local.len())],
            ),
            70..=84 => (
                taizhou_people[rng.random_range(0..taizhou_people.len())],
                away[rng.random_range(0..away.len())],
            ),
            _ => (
                elsewhere[rng.random_range(0..elsewhere.len())],
                local[rng.random_range(0..local.len())],
            ),
        };
        let inpatient = v % 21 == 0 && !desks[desk].code.starts_with('P');
        let settled = visit(
            store,
            &mut desks[desk],
            &mut psn_nos,
            person,
            at,
            inpatient,
            &catalogue,
            &mut rng,
        )
        .await?;
        out.visits += 1;
        out.settlements += 1;
        out.cross_region += usize::from(settled.cross);
        out.cancelled += usize::from(settled.cancelled);
    }
    Ok(out)
}

/// A visit's lines: drugs only at a pharmacy; services and drugs at a hospital; more for a
/// stay.
fn fee_lines(
    mdtrt_id: &str,
    psn_no: &str,
    at: DateTime<Utc>,
    inpatient: bool,
    pharmacy: bool,
    catalogue: &[Item],
    rng: &mut StdRng,
) -> Vec<FeeInput> {
    let n = if inpatient {
        rng.random_range(6..10)
    } else {
        rng.random_range(2..5)
    };
    let mut fees = Vec::with_capacity(n);
    for i in 0..n {
        let item = loop {
            let it = &catalogue[rng.random_range(0..catalogue.len())];
            let service = it.0.starts_with('F');
            if !(pharmacy && service) {
                break it;
            }
        };
        let cnt = if inpatient && item.0.starts_with("F31") {
            rng.random_range(3..12)
        } else {
            rng.random_range(1..4)
        };
        let pric = Fixed4::from_units(item.5 * 100);
        let cnt = Fixed4::from_units(cnt * 10_000);
        fees.push(FeeInput {
            feedetl_sn: format!("{}", i + 1),
            mdtrt_id: mdtrt_id.to_owned(),
            psn_no: psn_no.to_owned(),
            chrg_bchno: "1".into(),
            med_list_codg: item.0.into(),
            medins_list_codg: format!("L{}", item.0),
            fee_ocur_time: (at + chrono::Duration::hours(8)).naive_utc(),
            pric,
            cnt,
            amount: Fixed4::price_times_count(pric, cnt),
        });
    }
    fees
}

/// The person's `psn_no`, by 1101 the first time.
async fn psn_no(
    store: &Store,
    desk: &Desk,
    sign: &str,
    psn_nos: &mut HashMap<ResidentId, String>,
    person: &Insured,
    at: DateTime<Utc>,
) -> anyhow::Result<String> {
    if let Some(p) = psn_nos.get(&person.id) {
        return Ok(p.clone());
    }
    let input = Input::PersonInfo(Certificate::IdNumber(person.id));
    let out = call(store, message(desk, sign, "1101", at, input)).await?;
    let p = out["baseinfo"]["psn_no"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    psn_nos.insert(person.id, p.clone());
    Ok(p)
}

fn med_type(inpatient: bool, pharmacy: bool) -> &'static str {
    if inpatient {
        "21"
    } else if pharmacy {
        "41"
    } else {
        "11"
    }
}

/// What became of a visit.
struct Settled {
    cross: bool,
    cancelled: bool,
}

/// One visit through the interface; one in forty outpatient settlements is cancelled at the
/// desk (2208) and settled again.
#[allow(clippy::too_many_arguments)]
async fn visit(
    store: &Store,
    desk: &mut Desk,
    psn_nos: &mut HashMap<ResidentId, String>,
    person: &Insured,
    at: DateTime<Utc>,
    inpatient: bool,
    catalogue: &[Item],
    rng: &mut StdRng,
) -> anyhow::Result<Settled> {
    let day = (at + chrono::Duration::hours(8)).date_naive();
    let sign = sign_no(store, desk, day).await?;
    let psn_no = psn_no(store, desk, &sign, psn_nos, person, at).await?;
    let pharmacy = desk.code.starts_with('P');
    let reg = Registration {
        psn_no: psn_no.clone(),
        insutype: person.insutype.into(),
        med_type: Some(med_type(inpatient, pharmacy).into()),
        begntime: (at + chrono::Duration::hours(8)).naive_utc(),
        cert_type: "02".into(),
        cert_no: person.id.expose().into(),
        ipt_otp_no: format!(
            "{}{:06}",
            if inpatient { "ZY" } else { "MZ" },
            SEQ.load(Ordering::Relaxed)
        ),
        dise_codg: None,
        dise_name: None,
        emergency: false,
    };
    let infno = if inpatient { "2401" } else { "2201" };
    let out = call(store, message(desk, &sign, infno, at, Input::Register(reg))).await?;
    let node = if inpatient { "result" } else { "data" };
    let mdtrt_id = out[node]["mdtrt_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let fees = fee_lines(&mdtrt_id, &psn_no, at, inpatient, pharmacy, catalogue, rng);
    let total: Money = fees.iter().map(|f| f.amount).sum();
    let infno = if inpatient { "2301" } else { "2204" };
    call(store, message(desk, &sign, infno, at, Input::Fees(fees))).await?;
    let later = at + chrono::Duration::minutes(if inpatient { 60 * 24 * 4 } else { 20 });
    let later = later.min(
        Utc.with_ymd_and_hms(2026, 11, 30, 15, 0, 0)
            .single()
            .unwrap_or(later),
    );
    let sign_later = sign_no(
        store,
        desk,
        (later + chrono::Duration::hours(8)).date_naive(),
    )
    .await?;
    if inpatient {
        call(
            store,
            message(
                desk,
                &sign_later,
                "2402",
                later,
                Input::Discharge {
                    mdtrt_id: mdtrt_id.clone(),
                    psn_no: psn_no.clone(),
                    endtime: (later + chrono::Duration::hours(8)).naive_utc(),
                },
            ),
        )
        .await?;
    }
    let settle = Input::Settle {
        input: SettleInput {
            mdtrt_id: mdtrt_id.clone(),
            psn_no: psn_no.clone(),
            insutype: person.insutype.into(),
            med_type: None,
            medfee_sumamt: total,
            use_account: person.insutype == "310",
            interim: false,
        },
        commit: true,
    };
    let infno = if inpatient { "2304" } else { "2207" };
    let out = call(
        store,
        message(desk, &sign_later, infno, later, settle.clone()),
    )
    .await?;
    let s = &out["setlinfo"];
    let cross = s["insuplc_admdvs"] != s["mdtrtarea_admvs"];
    let cancelled = !inpatient && rng.random_ratio(1, 40);
    if cancelled {
        let cancel = Input::CancelSettlement {
            setl_id: s["setl_id"].as_str().unwrap_or_default().to_owned(),
            mdtrt_id,
            psn_no,
        };
        call(store, message(desk, &sign_later, "2208", later, cancel)).await?;
        call(store, message(desk, &sign_later, "2207", later, settle)).await?;
    }
    Ok(Settled { cross, cancelled })
}
