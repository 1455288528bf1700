//! The demo's terminal programme: 1,600+ designated hospitals, clinics and pharmacies across
//! Taizhou's districts, their terminals in varied states (most passed the self-test, some not
//! yet, a few suspended) and the readiness problems still open or solved.

use rand::Rng;
use rand::rngs::StdRng;
use sscard_chip::card::SoftCard;
use sscard_chip::crypto::Algorithm;
use sscard_chip::online::{KeyService, read_for_check, sign_check};
use sscard_chip::terminal::in_process;
use sscard_ids::{InstitutionCode, RegionCode};
use sscard_store::terminals::CheckKind;
use sscard_store::{Ctx, InstitutionInput, Store};

/// Taizhou's districts with their share of institutions (per mille) and a few street or town
/// names each.
const DISTRICTS: [(u32, &str, u32, [&str; 6]); 6] = [
    (
        321_202,
        "海陵",
        160,
        [
            "青年南路",
            "鼓楼路",
            "海陵北路",
            "东风路",
            "五一路",
            "迎春路",
        ],
    ),
    (
        321_203,
        "高港",
        95,
        ["口岸", "刁铺", "许庄", "永安洲", "大泗", "白马"],
    ),
    (
        321_204,
        "姜堰",
        150,
        ["罗塘", "三水", "梁徐", "溱潼", "俞垛", "白米"],
    ),
    (
        321_281,
        "兴化",
        245,
        ["昭阳", "戴南", "安丰", "沙沟", "千垛", "陈堡"],
    ),
    (
        321_282,
        "靖江",
        145,
        ["靖城", "新桥", "斜桥", "东兴", "孤山", "西来"],
    ),
    (
        321_283,
        "泰兴",
        205,
        ["济川", "黄桥", "分界", "虹桥", "宣堡", "元竹"],
    ),
];

const PHARMACY_BRANDS: [&str; 8] = [
    "百信大药房",
    "国药控股国大药房",
    "益丰大药房",
    "老百姓大药房",
    "华润苏州礼安医药",
    "同仁堂",
    "泰州医药连锁",
    "苏新药房",
];

const PROBLEMS: [(&str, &str); 6] = [
    ("reader", "读卡器驱动不支持第三代卡 SM4 算法，需升级固件"),
    ("psam", "PSAM 卡未到位，等待中心发放"),
    ("network", "机构专网未开通到省平台的地址"),
    ("his", "HIS 未按新接口上传 card_sn，厂商排期修改"),
    ("his", "HIS 调用 1101 时未带 dev_safe_info 中的 check_token"),
    ("other", "收费窗口电脑操作系统过旧，需更换"),
];

/// What was seeded.
#[derive(Debug, Default)]
pub(crate) struct TerminalsSeeded {
    pub(crate) institutions: usize,
    pub(crate) terminals: usize,
    pub(crate) ready: usize,
    pub(crate) open_problems: usize,
    /// Ready terminals (number, institution), for the cards' uses.
    pub(crate) ready_terminals: Vec<(String, String)>,
    /// Online checks of the demo's cards, and how many were accepted.
    pub(crate) checks: usize,
    pub(crate) checks_ok: usize,
    /// Uses decided offline and uploaded, and how many of them were flagged.
    pub(crate) offline: usize,
    pub(crate) offline_flagged: usize,
}

impl TerminalsSeeded {
    /// The demo summary's line.
    pub(crate) fn summary(&self) -> String {
        format!(
            "\n  定点医药机构（designated institutions）: {} · 终端（terminals） {} · 已就绪（ready） {} · 未解决问题（open problems） {} — sscard readiness, /console/readiness\n  联网验卡（online checks） {}（通过 ok {}）· 离线受理后上传（offline uses uploaded） {}（待核查 flagged {}）— sscard terminal offline-report --flagged",
            self.institutions,
            self.terminals,
            self.ready,
            self.open_problems,
            self.checks,
            self.checks_ok,
            self.offline,
            self.offline_flagged
        )
    }
}

fn institutions(rng: &mut StdRng, total: u32) -> Vec<InstitutionInput> {
    let mut list = Vec::new();
    for (region, name, share, streets) in DISTRICTS {
        let region_code = RegionCode::from_u32(region).expect("valid");
        let n = total * share / 1000;
        let (mut hospitals, mut pharmacies) = (0u32, 0u32);
        for i in 0..n {
            let street = streets[i as usize % streets.len()];
            let hospital = i % 5 < 2;
            let (letter, serial) = if hospital {
                hospitals += 1;
                ('H', hospitals)
            } else {
                pharmacies += 1;
                ('P', pharmacies)
            };
            let code =
                InstitutionCode::parse(&format!("{letter}{region}{serial:05}")).expect("valid");
            let (label, level) = if hospital {
                match serial {
                    1 => (
                        format!("{name}区人民医院")
                            .replace("兴化区", "兴化市")
                            .replace("靖江区", "靖江市")
                            .replace("泰兴区", "泰兴市"),
                        Some(3),
                    ),
                    2 => (format!("{name}中医院"), Some(2)),
                    3..=8 => (format!("{street}镇卫生院"), Some(1)),
                    9..=20 => (format!("{name}{street}社区卫生服务中心"), Some(1)),
                    _ => (format!("{name}{street}第{serial}诊所"), None),
                }
            } else {
                let brand = PHARMACY_BRANDS[rng.random_range(0..PHARMACY_BRANDS.len())];
                (format!("{brand}（{name}{street}{serial}号店）"), None)
            };
            list.push(InstitutionInput {
                code,
                name: label,
                level,
                region: region_code,
                networked: hospital || rng.random_bool(0.6),
            });
        }
    }
    list
}

/// Seeds the registry, enrols terminals, runs the self-test of most of them with the
/// platform's test card, suspends a few and records problems.
pub(crate) async fn seed(
    store: &Store,
    ctx: &Ctx,
    rng: &mut StdRng,
) -> anyhow::Result<TerminalsSeeded> {
    let keys = KeyService::test();
    let list = institutions(rng, 1_640);
    store.register_institutions(ctx, &list).await?;
    let mut done = TerminalsSeeded {
        institutions: list.len(),
        ..TerminalsSeeded::default()
    };
    let test_card = keys.test_card();
    let mut wanted = Vec::new();
    for input in &list {
        let count = match input.level {
            Some(3) => 4,
            Some(2) => 2,
            _ => 1,
        };
        for _ in 0..count {
            wanted.push((
                input.code.as_str().to_owned(),
                "sm4".to_owned(),
                String::new(),
            ));
        }
    }
    let enrolled = store.enrol_terminals(ctx, &wanted).await?;
    done.terminals = enrolled.len();
    for t in &enrolled {
        {
            let roll: f64 = rng.random();
            if roll < 0.86 {
                selftest(store, &keys, &test_card, t, ctx.at).await?;
                if roll > 0.83 {
                    store.set_terminal_suspended(ctx, &t.number, true).await?;
                } else {
                    done.ready += 1;
                    done.ready_terminals
                        .push((t.number.clone(), t.institution.clone()));
                }
            } else {
                let (category, note) = PROBLEMS[rng.random_range(0..PROBLEMS.len())];
                let p = store.open_problem(ctx, &t.number, category, note).await?;
                if rng.random_bool(0.3) {
                    store
                        .resolve_problem(ctx, p.number, "已处理，待复测")
                        .await?;
                } else {
                    done.open_problems += 1;
                }
            }
        }
    }
    Ok(done)
}

/// The self-test, as `sscard terminal selftest` runs it, in-process with the platform's test
/// card: read, internal authentication bound to counter 1, the PSAM's own answer, recorded.
pub(crate) async fn selftest(
    store: &Store,
    keys: &KeyService,
    test_card: &sscard_chip::card::CardImage,
    t: &sscard_store::terminals::TerminalEnrolment,
    at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<sscard_core::CheckResult> {
    let psam = keys.psam(Algorithm::Sm4, &t.number, &t.device);
    let mut term = in_process(SoftCard::new(test_card.clone()), psam);
    let read = read_for_check(&mut term, &t.number, 1, at.timestamp())?;
    let mut body = sign_check(
        &keys.terminal_key(&t.number),
        &t.number,
        &t.institution,
        1,
        at.timestamp(),
        &read,
    );
    body.psam_answer = read.psam_answer.map(hex::encode_upper);
    let as_terminal = Ctx::at(sscard_core::Actor::terminal(&t.number, &t.institution), at);
    Ok(store
        .terminal_check(&as_terminal, &body, keys, CheckKind::Selftest)
        .await?
        .result)
}

/// A demo card a terminal reads: its chip as issued.
pub(crate) struct DemoCard {
    pub(crate) image: sscard_chip::card::CardImage,
}

impl DemoCard {
    /// The chip of a database card, personalised on the key service's province keys.
    pub(crate) async fn of(
        store: &Store,
        ctx: &Ctx,
        number: sscard_ids::CardNumber,
    ) -> anyhow::Result<Self> {
        let card = store.card(ctx, &number).await?;
        let (id, name) = store.card_holder(&number).await?;
        let data = crate::chip_cmds::issue_data(number, &card, &id, &name)?;
        let keys = KeyService::test();
        Ok(Self {
            image: sscard_chip::card::CardImage::issue(&data, keys.province_keys(Algorithm::Sm4)),
        })
    }
}

/// The cards in use at the terminals: each card checked online at a ready terminal (all at
/// once, as the counters of a morning would send them), then one pharmacy's terminal that was
/// offline uploads its journal — the platform accepts the uses and flags the one of a card
/// reported lost.
pub(crate) async fn seed_uses(
    store: &Store,
    done: &mut TerminalsSeeded,
    online: &[DemoCard],
    offline: &[DemoCard],
) -> anyhow::Result<()> {
    let keys = &KeyService::test();
    let now = chrono::Utc::now();
    let terminals = &done.ready_terminals.clone();
    if terminals.len() < 2 {
        return Ok(());
    }
    let sign = |(number, institution): &(String, String), counter: u64, card: &DemoCard| {
        let psam = keys.psam(Algorithm::Sm4, number, "");
        let mut t = in_process(SoftCard::new(card.image.clone()), psam);
        let read = read_for_check(&mut t, number, counter, now.timestamp())?;
        anyhow::Ok(sign_check(
            &keys.terminal_key(number),
            number,
            institution,
            counter,
            now.timestamp(),
            &read,
        ))
    };
    // Counter 1 was the self-test.
    let mut checks = Vec::with_capacity(online.len());
    for (i, card) in online.iter().enumerate() {
        let t = &terminals[1 + i % (terminals.len() - 1)];
        let counter = 2 + (i / (terminals.len() - 1)) as u64;
        checks.push((t, sign(t, counter, card)?));
    }
    let sent = checks.iter().map(|(t, body)| {
        let ctx = Ctx::at(sscard_core::Actor::terminal(&t.0, &t.1), now);
        async move {
            store
                .terminal_check(&ctx, body, keys, CheckKind::Online)
                .await
        }
    });
    for r in futures::future::join_all(sent).await {
        done.checks += 1;
        done.checks_ok += usize::from(r?.result == sscard_core::CheckResult::Ok);
    }
    let offline_terminal = &terminals[0];
    let mut journal = Vec::with_capacity(offline.len());
    for (i, card) in offline.iter().enumerate() {
        journal.push(sign(offline_terminal, 2 + i as u64, card)?);
    }
    let ctx = Ctx::at(
        sscard_core::Actor::terminal(&offline_terminal.0, &offline_terminal.1),
        now,
    );
    for o in store.upload_offline_uses(&ctx, &journal, keys).await? {
        done.offline += 1;
        done.offline_flagged += usize::from(o.outcome == "flagged");
    }
    Ok(())
}
