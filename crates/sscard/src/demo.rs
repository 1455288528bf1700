//! `sscard demo`: a believable Taizhou in seconds — outlets, partner banks, a 13,000-staff
//! electronics factory with 5,000 synthetic employees (realistic surnames, valid ID numbers
//! from many provinces, workshops and departments), staff accounts for every role, a few
//! hundred cards in varied states — then the server. Deterministic: the same seed gives the
//! same people.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sscard_core::{ApplicationSource, BusinessType, Role};
use sscard_ids::{CreditCode, PersonName, RegionCode, ResidentId};
use sscard_store::{ApplyRequest, Ctx, NewStaff, Outlet, PersonInput, Store};

/// Surnames with their approximate share (per mille) in China; compound ones included.
const SURNAMES: &[(&str, u32)] = &[
    ("王", 71),
    ("李", 70),
    ("张", 67),
    ("刘", 54),
    ("陈", 45),
    ("杨", 31),
    ("黄", 22),
    ("赵", 20),
    ("吴", 19),
    ("周", 19),
    ("徐", 15),
    ("孙", 14),
    ("马", 13),
    ("朱", 13),
    ("胡", 12),
    ("郭", 11),
    ("何", 10),
    ("林", 10),
    ("高", 10),
    ("罗", 9),
    ("郑", 8),
    ("梁", 8),
    ("谢", 7),
    ("宋", 7),
    ("唐", 7),
    ("许", 7),
    ("韩", 6),
    ("邓", 6),
    ("冯", 6),
    ("曹", 6),
    ("彭", 6),
    ("曾", 6),
    ("肖", 6),
    ("田", 5),
    ("董", 5),
    ("潘", 5),
    ("袁", 5),
    ("蔡", 5),
    ("蒋", 5),
    ("余", 5),
    ("于", 5),
    ("杜", 5),
    ("叶", 4),
    ("程", 4),
    ("魏", 4),
    ("苏", 4),
    ("吕", 4),
    ("丁", 4),
    ("任", 4),
    ("卢", 4),
    ("姚", 4),
    ("沈", 4),
    ("钟", 3),
    ("姜", 3),
    ("崔", 3),
    ("谭", 3),
    ("陆", 3),
    ("范", 3),
    ("汪", 3),
    ("廖", 3),
    ("石", 3),
    ("金", 3),
    ("韦", 3),
    ("贾", 3),
    ("夏", 3),
    ("付", 3),
    ("方", 3),
    ("邹", 2),
    ("熊", 2),
    ("白", 2),
    ("孟", 2),
    ("秦", 2),
    ("邱", 2),
    ("侯", 2),
    ("江", 2),
    ("尹", 2),
    ("薛", 2),
    ("段", 2),
    ("雷", 2),
    ("龙", 2),
    ("史", 2),
    ("陶", 2),
    ("贺", 2),
    ("毛", 2),
    ("顾", 2),
    ("龚", 2),
    ("邵", 2),
    ("万", 2),
    ("钱", 2),
    ("戴", 2),
    ("严", 2),
    ("孔", 1),
    ("欧阳", 1),
    ("司马", 1),
    ("诸葛", 1),
    ("上官", 1),
];

const MALE: &[&str] = &[
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华", "飞",
    "鑫", "波", "斌", "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "龙", "林", "峰",
];
const FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "玲", "桂", "燕", "红", "婷", "雪", "琳",
    "晶", "颖", "倩", "慧", "洁", "萍", "佳", "欣", "悦", "璐", "瑶", "怡", "梦", "丹",
];

/// Household counties of the factory's staff, with weights: most come from other provinces.
const ORIGINS: &[(u32, u32)] = &[
    (321_202, 6),
    (321_203, 5),
    (321_204, 4),
    (321_281, 6),
    (321_282, 3),
    (321_283, 5),
    (320_830, 2),
    (341_221, 8),
    (341_222, 7),
    (340_822, 4),
    (341_523, 3),
    (341_322, 4),
    (411_526, 6),
    (412_726, 5),
    (411_722, 4),
    (410_522, 3),
    (511_621, 4),
    (511_923, 3),
    (520_221, 3),
    (522_422, 3),
    (430_524, 3),
    (431_021, 2),
    (360_726, 2),
    (361_121, 2),
    (420_922, 2),
    (421_123, 2),
    (371_522, 2),
    (371_324, 2),
    (620_421, 1),
    (530_321, 1),
    (450_881, 1),
    (500_236, 2),
    (610_526, 1),
    (230_621, 1),
    (130_528, 1),
];

const WORKSHOPS: &[(&str, &[&str])] = &[
    ("SMT一车间", &["贴片一组", "贴片二组", "品质保证组"]),
    ("SMT二车间", &["贴片三组", "贴片四组", "设备维护组"]),
    ("组装一车间", &["总装线A", "总装线B", "物料组"]),
    ("组装二车间", &["总装线C", "总装线D", "返修组"]),
    ("测试车间", &["功能测试组", "老化测试组"]),
    ("注塑车间", &["注塑一组", "模具组"]),
    ("包装车间", &["包装一组", "包装二组", "出货组"]),
];

/// The demo's logins: (user, password, role, display name).
pub(crate) const LOGINS: &[(&str, &str, Role, &str)] = &[
    ("admin", "admin-demo", Role::Admin, "管理员 陈主任"),
    ("clerk", "clerk-demo", Role::Clerk, "柜员 王敏"),
    ("desk", "desk-demo", Role::Clerk, "厂区发卡员 赵雪"),
    (
        "agent",
        "agent-demo",
        Role::EmployerAgent,
        "单位经办人 李娜",
    ),
    (
        "operator",
        "operator-demo",
        Role::ProductionOperator,
        "制卡操作员 周强",
    ),
    (
        "terminal",
        "terminal-demo",
        Role::Terminal,
        "泰州市人民医院 收费终端01",
    ),
    ("bank", "bank-demo", Role::Bank, "建设银行 海陵支行"),
    ("auditor", "auditor-demo", Role::Auditor, "审计员 徐静"),
];

/// The factory's credit code (fictional; valid check character).
pub(crate) fn factory_code() -> CreditCode {
    CreditCode::from_body("91321200MA1MXK8P0").expect("valid body")
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[0].0
}

/// One synthetic employee.
/// A believable name for the holder of `id`: a surname by its share, one or two given-name
/// characters for the sex.
pub(crate) fn name_for(rng: &mut StdRng, id: &ResidentId) -> PersonName {
    let surname = pick(rng, SURNAMES);
    let pool = if id.sex() == sscard_ids::Sex::Male {
        MALE
    } else {
        FEMALE
    };
    let mut name = (*surname).to_owned();
    for _ in 0..rng.random_range(1..=2) {
        name.push_str(pool[rng.random_range(0..pool.len())]);
    }
    PersonName::parse(&name).expect("valid name")
}

pub(crate) fn employee(rng: &mut StdRng, employer: &CreditCode) -> PersonInput {
    let origin = *pick(rng, ORIGINS);
    let region = RegionCode::from_u32(origin).expect("valid region");
    let age_days = rng.random_range(18 * 365..58 * 365);
    let birth = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date")
        - chrono::Duration::days(age_days);
    let sequence: u16 = rng.random_range(0..1000);
    let id = ResidentId::from_parts(region, birth, sequence).expect("valid parts");
    let name = name_for(rng, &id);
    let (workshop, departments) = WORKSHOPS[rng.random_range(0..WORKSHOPS.len())];
    let department = departments[rng.random_range(0..departments.len())];
    let mut p = PersonInput::new(id, name);
    p.employer = Some(*employer);
    p.workshop = Some(workshop.to_owned());
    p.department = Some(department.to_owned());
    p.insured_city = RegionCode::from_u32(321_200);
    p
}

/// What was seeded.
#[derive(Debug)]
pub(crate) struct Seeded {
    pub(crate) people: usize,
    pub(crate) cards: usize,
    pub(crate) sample_ids: Vec<ResidentId>,
    /// The factory's batch, when one was seeded.
    pub(crate) batch: Option<Batch>,
    /// Institutions and terminals.
    pub(crate) terminals: crate::demo_terminals::TerminalsSeeded,
    /// Medical insurance, policies, catalogues and a month of settlements.
    pub(crate) settlement: crate::demo_settlement::SettlementSeeded,
    /// Retirees on old cards, a pension batch, the status exchange.
    pub(crate) payments: Option<crate::demo_payments::PaymentsSeeded>,
    /// The city's migration: legacy cards, exchange points, exchanges, bookings.
    pub(crate) migration: Option<crate::demo_migration::MigrationSeeded>,
}

impl Seeded {
    /// The summary lines of the terminals, the settlement and the bank side.
    pub(crate) fn programme_summary(&self) -> String {
        let payments = self
            .payments
            .as_ref()
            .map(crate::demo_payments::PaymentsSeeded::summary);
        let migration = self
            .migration
            .as_ref()
            .map(crate::demo_migration::MigrationSeeded::summary);
        self.terminals.summary()
            + &self.settlement.summary()
            + payments.as_deref().unwrap_or_default()
            + migration.as_deref().unwrap_or_default()
    }
}

/// Logs how long the seeding has taken when a phase ends (`RUST_LOG=sscard=debug`).
fn phase(name: &str, since: std::time::Instant) {
    tracing::debug!(
        phase = name,
        elapsed_ms = since.elapsed().as_millis(),
        "demo seeding"
    );
}

/// Seeds the demo data into a fresh store.
pub(crate) async fn seed(
    store: &Store,
    people: usize,
    cards: usize,
    seed: u64,
    batch: Option<(&std::path::Path, usize)>,
) -> anyhow::Result<Seeded> {
    let ctx = Ctx::system("system:demo").because("演示数据 / demo data");
    let mut rng = StdRng::seed_from_u64(seed);
    let factory = factory_code();
    let employer = store
        .register_employer(
            &ctx,
            &factory,
            "泰州可胜电子科技有限公司（演示）",
            RegionCode::from_u32(321_203).expect("valid"),
        )
        .await?;
    let t = std::time::Instant::now();
    seed_reference(store, &ctx, employer.id, factory).await?;
    phase("reference", t);
    // The terminal programme is independent of the people and cards: it is seeded alongside
    // (its writes interleave with the photo work of the batch).
    let terminals = {
        let (store, ctx) = (store.clone(), ctx.clone());
        let mut rng = StdRng::seed_from_u64(seed ^ 0x7E57);
        tokio::spawn(async move { crate::demo_terminals::seed(&store, &ctx, &mut rng).await })
    };
    // Employees: generated until `people` distinct ID numbers exist.
    let mut distinct = std::collections::HashSet::new();
    let mut employees = Vec::with_capacity(people);
    while employees.len() < people {
        let e = employee(&mut rng, &factory);
        if distinct.insert(e.id) {
            employees.push(e);
        }
    }
    let (counter, factory_staff) = employees.split_at(cards);
    let (uploaded, others) =
        factory_staff.split_at(batch.map_or(0, |b| b.1).min(factory_staff.len()));
    for chunk in counter.chunks(1000).chain(others.chunks(1000)) {
        store.register_people(&ctx, chunk).await?;
    }
    phase("people", t);
    let (made, used) = seed_cards(store, &ctx, &mut rng, counter).await?;
    phase("cards", t);
    let files_dir = batch.map(|b| b.0);
    let batch = match batch {
        Some((dir, _)) if !uploaded.is_empty() => Some(seed_batch(store, uploaded, dir).await?),
        _ => None,
    };
    phase("batch", t);
    let mut terminals = terminals.await??;
    phase("terminals", t);
    let (mut online, mut offline) = (Vec::new(), Vec::new());
    for (number, at_terminal) in used {
        let card = crate::demo_terminals::DemoCard::of(store, &ctx, number).await?;
        if at_terminal {
            online.push(card);
        } else {
            offline.push(card);
        }
    }
    crate::demo_terminals::seed_uses(store, &mut terminals, &online, &offline).await?;
    // The people registered directly (the batch's rows that the photo checks refused were
    // never registered).
    let registered: Vec<PersonInput> = counter.iter().chain(others).cloned().collect();
    phase("uses", t);
    let settlement = crate::demo_settlement::seed(store, &ctx, seed, &registered).await?;
    phase("settlement", t);
    let payments = match files_dir {
        Some(dir) => Some(crate::demo_payments::seed(store, &ctx, seed, dir).await?),
        None => None,
    };
    phase("payments", t);
    let migration = match files_dir {
        Some(_) => Some(crate::demo_migration::seed(store, &ctx, seed).await?),
        None => None,
    };
    phase("migration", t);
    Ok(Seeded {
        settlement,
        payments,
        migration,
        people: employees.len(),
        cards: made + batch.as_ref().map_or(0, |b| b.received),
        sample_ids: vec![employees[2].id, employees[6].id, employees[cards + 1].id],
        batch,
        terminals,
    })
}

/// The banks answer twice: the rural commercial bank fails one row, which goes again and
/// succeeds.
async fn bank_rounds(
    store: &Store,
    ctx: &Ctx,
    batch: i64,
    keys: &sscard_import::production::ExchangeKeys,
    files: &std::path::Path,
    now: &str,
) -> anyhow::Result<()> {
    use sscard_import::production;
    let err = |e: production::ProductionError| anyhow::anyhow!("{e}");
    for round in 0..2 {
        let sent = production::send_to_banks(
            store,
            ctx,
            batch,
            keys,
            &files.join(format!("bank-{round}")),
        )
        .await
        .map_err(err)?;
        for file in sent {
            let text = std::fs::read(&file)?;
            let bank = sscard_exchange::partner_of(&text)?;
            let fails = round == 0 && bank == "314";
            let plan = sscard_exchange::FailPlan {
                seqs: if fails { vec!["3".into()] } else { vec![] },
                rate: 0.0,
            };
            let k = keys.partner(&bank);
            let answer = sscard_exchange::sim_bank(&text, &k, &k, &plan, now)?;
            production::record_bank_file(store, ctx, batch, keys, &answer)
                .await
                .map_err(err)?;
        }
    }
    Ok(())
}

/// The rest of the factory's employees go through the employer pipeline, as in the field: the
/// HR list and the badge photos are uploaded (a few rows are wrong, as they always are: the
/// error workbook names them), the batch goes to the banks and the factory (each failing a row
/// or two, retried), the cards are personalised and arrive at the factory's on-site point.
/// Exchange files, card images and the error workbook are written under `files`.
/// The factory HR's upload: the employee list (CSV) and the photo ZIP, with four mistakes —
/// a typo in an ID number, a person listed twice, a photo on a blue background, a badge crop
/// that cuts the hair. Every fifth photo is a tight badge crop (1-inch or 2-inch) that passes.
fn factory_upload(employees: &[PersonInput]) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    use std::fmt::Write as _;
    use std::io::Write as _;
    let photos = sscard_photo::synth::corpus(60);
    let blue = sscard_photo::synth::Variation {
        background: sscard_photo::synth::BLUE,
        ..sscard_photo::synth::Variation::badge(sscard_photo::synth::Source::Astronaut)
    }
    .jpeg();
    let mut csv = String::from("姓名,身份证号码,合作银行,车间,部门,手机号码\n");
    let mut zip_bytes = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut zip_bytes);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let banks = ["CCB", "CCB", "ABC", "BOCOM", "TZRCB"];
        for (i, e) in employees.iter().enumerate() {
            let mut idn = e.id.expose().to_owned();
            if i == 17 {
                // A typo in the check character.
                let last = if idn.ends_with('0') { '1' } else { '0' };
                idn.pop();
                idn.push(last);
            }
            writeln!(
                csv,
                "{},{idn},{},{},{},1381234{:04}",
                e.name.expose(),
                banks[i % banks.len()],
                e.workshop.as_deref().unwrap_or_default(),
                e.department.as_deref().unwrap_or_default(),
                i % 10_000
            )?;
            if i == 40 {
                // The same person twice.
                writeln!(csv, "{},{idn},CCB,,,", e.name.expose())?;
            }
            zip.start_file(format!("{idn}.jpg"), opts)?;
            let source = sscard_photo::synth::Source::ALL[i % 2];
            let photo = match i {
                63 => blue.clone(),
                71 => {
                    sscard_photo::synth::Variation::tight_crop(source, 413, 579, -40.0, 0.66).jpeg()
                }
                _ if i % 5 == 0 && i % 10 == 0 => {
                    sscard_photo::synth::Variation::tight_crop(source, 295, 413, 3.0, 0.64).jpeg()
                }
                _ if i % 5 == 0 => {
                    sscard_photo::synth::Variation::tight_crop(source, 413, 579, 7.0, 0.66).jpeg()
                }
                _ => photos[i % photos.len()].clone(),
            };
            zip.write_all(&photo)?;
        }
        zip.finish()?;
    }
    Ok((csv.into_bytes(), zip_bytes.into_inner()))
}

/// The operator looks at the contact sheet and gets a better photo for the row on blue; the
/// row whose crop cuts the hair stays held for HR to send a new one. The sheet is written as PDF
/// when a CJK font is there.
async fn review_photos(
    store: &Store,
    ctx: &Ctx,
    batch: i64,
    files: &std::path::Path,
) -> anyhow::Result<(Option<usize>, Option<std::path::PathBuf>)> {
    let sheet = store.batch_sheet(ctx, batch).await?;
    let mut replaced = None;
    if let Some(blue_row) = sheet.entries.iter().find(|e| {
        matches!(&e.photo, sscard_store::SheetPhoto::Refused { code, .. } if code == "photo.background_not_white")
    }) {
        let better = sscard_photo::synth::Variation::tight_crop(
            sscard_photo::synth::Source::Astronaut,
            413,
            579,
            5.0,
            0.66,
        )
        .jpeg();
        sscard_import::pipeline::replace_photo(
            store,
            ctx,
            (batch, blue_row.row),
            better,
            &sscard_photo::Profile::jiangsu(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        replaced = Some(blue_row.row);
    }
    let sheet_pdf = match sscard_print::PrintFont::find() {
        Ok(font) => {
            let sheet = store.batch_sheet(ctx, batch).await?;
            let header = sscard_print::SheetHeader::at(batch, &sheet.summary.employer_name, ctx.at);
            let path = files.join("contact-sheet.pdf");
            std::fs::write(
                &path,
                sscard_print::contact_sheet_pdf(&header, &sheet.entries, &font)?,
            )?;
            Some(path)
        }
        Err(e) => {
            eprintln!("note: contact-sheet.pdf not written: {e}");
            None
        }
    };
    Ok((replaced, sheet_pdf))
}

pub(crate) async fn seed_batch(
    store: &Store,
    employees: &[PersonInput],
    files: &std::path::Path,
) -> anyhow::Result<Batch> {
    use sscard_import::production::{self, ExchangeKeys};
    let ctx = Ctx::system("agent:demo").because("演示：单位批量申领 / demo employer upload");
    let factory = factory_code();
    std::fs::create_dir_all(files)?;
    let (csv, zip) = factory_upload(employees)?;
    let report = sscard_import::pipeline::import_upload(
        store,
        &ctx,
        &factory,
        "可胜电子-员工名单.csv",
        csv,
        Some(zip),
        &sscard_photo::Profile::jiangsu(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let batch = report.outcome.batch_id;
    std::fs::write(
        files.join("errors.xlsx"),
        sscard_import::workbook::error_workbook(batch, &report.outcome.rejected)?,
    )?;
    let t = std::time::Instant::now();
    phase("batch.upload", t);
    let (replaced, sheet_pdf) = review_photos(store, &ctx, batch, files).await?;
    phase("batch.review", t);
    let ctx = Ctx::system("operator:demo").because("演示：制卡 / demo production");
    let keys = ExchangeKeys::demo();
    let now = ctx.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let err = |e: production::ProductionError| anyhow::anyhow!("{e}");
    bank_rounds(store, &ctx, batch, &keys, files, &now).await?;
    // Factory: one card fails inspection and is made again.
    let fk = keys.partner(production::DEFAULT_FACTORY);
    for round in 0..2 {
        let order = production::send_to_factory(
            store,
            &ctx,
            batch,
            &keys,
            production::DEFAULT_FACTORY,
            &files.join(format!("factory-{round}")),
        )
        .await
        .map_err(err)?;
        let plan = sscard_exchange::FailPlan {
            seqs: if round == 0 { vec!["5".into()] } else { vec![] },
            rate: 0.0,
        };
        let answer = sscard_exchange::sim_factory(&std::fs::read(&order)?, &fk, &fk, &plan, &now)?;
        production::record_factory_file(store, &ctx, batch, &keys, &answer)
            .await
            .map_err(err)?;
    }
    phase("batch.bank+factory", t);
    let province = sscard_chip::keys::test_province_keys(sscard_chip::crypto::Algorithm::Sm4);
    production::personalise(
        store,
        &ctx,
        batch,
        &province,
        true,
        &files.join("card-images"),
    )
    .await
    .map_err(err)?;
    phase("batch.personalise", t);
    let received = store.receive_batch(&ctx, batch, "TZ-KS-ONSITE").await?;
    let (boxes, distribution_pdf) = plan_pickup(store, batch, files).await?;
    phase("batch.pickup", t);
    Ok(Batch {
        number: batch,
        accepted: report.outcome.accepted + usize::from(replaced.is_some()),
        rejected: report.outcome.rejected.len() - usize::from(replaced.is_some()),
        received: received.done,
        boxes,
        replaced,
        sheet_pdf,
        distribution_pdf,
    })
}

/// The factory's batch at its on-site point: open for the coming week, sorted into boxes of
/// 200, the list and labels printed (PDF when a CJK font is installed, .xlsx always).
async fn plan_pickup(
    store: &Store,
    batch: i64,
    files: &std::path::Path,
) -> anyhow::Result<(usize, Option<std::path::PathBuf>)> {
    let ctx = Ctx::system("operator:demo").because("演示：分拣发放 / demo sorted distribution");
    let today = (ctx.at + chrono::Duration::hours(8)).date_naive();
    let week: Vec<chrono::NaiveDate> = today.iter_days().take(7).collect();
    store.set_opening_days(&ctx, "TZ-KS-ONSITE", &week).await?;
    let plan = store
        .plan_distribution(&ctx, batch, "TZ-KS-ONSITE", 200)
        .await?;
    std::fs::write(
        files.join("distribution.xlsx"),
        sscard_print::plan_xlsx(&plan)?,
    )?;
    let pdf = match sscard_print::PrintFont::find() {
        Ok(font) => {
            let path = files.join("distribution.pdf");
            std::fs::write(&path, sscard_print::plan_pdf(&plan, &font)?)?;
            Some(path)
        }
        Err(e) => {
            eprintln!("note: distribution.pdf not written: {e}");
            None
        }
    };
    Ok((plan.boxes.len(), pdf))
}

/// What the demo's employer batch came to.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    /// Batch number.
    pub(crate) number: i64,
    /// Rows accepted.
    pub(crate) accepted: usize,
    /// Rows refused.
    pub(crate) rejected: usize,
    /// Cards at the on-site point.
    pub(crate) received: usize,
    /// Boxes they are sorted into.
    pub(crate) boxes: usize,
    /// The row whose refused photo was replaced from the contact sheet.
    pub(crate) replaced: Option<usize>,
    /// The contact sheet, when a CJK font was there to write it.
    pub(crate) sheet_pdf: Option<std::path::PathBuf>,
    /// The distribution list and labels, likewise.
    pub(crate) distribution_pdf: Option<std::path::PathBuf>,
}

/// Cards in varied states: awaiting pickup, handed over, in use, lost, reissued, exchanged.
async fn seed_cards(
    store: &Store,
    ctx: &Ctx,
    rng: &mut StdRng,
    employees: &[PersonInput],
) -> Result<(usize, Vec<(sscard_ids::CardNumber, bool)>), sscard_store::StoreError> {
    let banks = [("CCB", 4), ("ABC", 3), ("BOCOM", 2), ("TZRCB", 2)];
    let mut made = 0;
    // Cards the terminals then read: online (true) — in use, lost, superseded — or in one
    // offline pharmacy's journal (false).
    let mut used = Vec::new();
    for (i, e) in employees.iter().enumerate() {
        let req = ApplyRequest {
            person: PersonInput::new(e.id, e.name.clone()),
            bank: (*pick(rng, &banks)).to_owned(),
            kind: BusinessType::New,
            source: ApplicationSource::Employer,
            instant: true,
            outlet: Some("TZ-HL-01".into()),
        };
        let out = store.apply(ctx, &req).await?;
        let card = out.card_number.expect("instant");
        made += 1;
        if i % 10 == 0 {
            continue; // awaiting pickup
        }
        store.record_bank_account(ctx, &card).await?;
        store.hand_over(ctx, &card).await?;
        if i % 10 == 1 {
            continue; // handed over, not yet enabled
        }
        store.activate_ss(ctx, &card).await?;
        if i % 3 == 0 {
            store.activate_bank(ctx, &card).await?;
        }
        match i % 10 {
            2..=4 | 9 => used.push((card, true)),
            5 => used.push((card, false)),
            6 => used.push((card, i % 30 != 6)),
            _ => {}
        }
        match i % 10 {
            6 => {
                store.report_temporary_loss(ctx, &card).await?;
            }
            7 => {
                store.report_formal_loss(ctx, &card).await?;
            }
            8 => {
                store.report_formal_loss(ctx, &card).await?;
                store.reissue(ctx, &card).await?;
                made += 1;
            }
            9 => {
                let new = store
                    .exchange(ctx, &card)
                    .await?
                    .card_number
                    .expect("instant");
                made += 1;
                if i % 20 == 9 {
                    store.hand_over(ctx, &new).await?;
                    store.record_use(ctx, &new).await?;
                }
            }
            _ => {}
        }
    }
    Ok((made, used))
}

/// Outlets (two ordinary ones and the factory's on-site point) and one login per role.
async fn seed_reference(
    store: &Store,
    ctx: &Ctx,
    employer_id: uuid::Uuid,
    factory: CreditCode,
) -> Result<(), sscard_store::StoreError> {
    for (code, zh, en, region, kind, employer_id) in [
        (
            "TZ-HL-01",
            "海陵区社会保障卡服务中心",
            "Hailing Social Security Card Service Centre",
            321_202,
            "outlet",
            None,
        ),
        (
            "TZ-GG-01",
            "医药高新区（高港区）社保服务网点",
            "Medical High-tech Zone (Gaogang) Service Point",
            321_203,
            "outlet",
            None,
        ),
        (
            "TZ-KS-ONSITE",
            "可胜电子厂区现场发卡点",
            "On-site pickup point at the factory",
            321_203,
            "employer_site",
            Some(employer_id),
        ),
    ] {
        let outlet = Outlet {
            code: code.into(),
            name_zh: zh.into(),
            name_en: en.into(),
            region: RegionCode::from_u32(region).expect("valid").to_string(),
            kind: kind.into(),
            employer_id,
        };
        store.upsert_outlet(ctx, &outlet).await?;
    }
    for (user, password, role, display) in LOGINS {
        let staff = NewStaff {
            username: (*user).into(),
            display_name: (*display).into(),
            role: *role,
            // The desk clerk works at the factory's on-site point, the other at the counter.
            outlet: (*role == Role::Clerk).then(|| {
                if *user == "desk" {
                    "TZ-KS-ONSITE".into()
                } else {
                    "TZ-HL-01".into()
                }
            }),
            employer: (*role == Role::EmployerAgent).then_some(factory),
            bank_code: (*role == Role::Bank).then(|| "105".into()),
            password_hash: sscard_server::auth::hash_password(password),
        };
        store.create_staff(ctx, &staff).await?;
    }
    Ok(())
}
