//! The demo's bank side: Taizhou's retirees on their old PSBC cards (taken over from the old
//! city system with their accounts), their yearly certification, November's pension batch
//! through two sends with the bank's answers, and the daily status exchange with every bank.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sscard_core::money::Money;
use sscard_core::{BankReport, PaymentKind};
use sscard_exchange::PaymentFailPlan;
use sscard_ids::{BankCardNumber, CardNumber, RegionCode, ResidentId};
use sscard_import::bank_files::{self, StatusLine};
use sscard_import::production::ExchangeKeys;
use sscard_store::bank::{LegacyCardInput, LegacyStatus};
use sscard_store::insurance::{CertifyAt, EnrolInput};
use sscard_store::{Ctx, Store};

/// The pension month the demo pays.
pub(crate) const PERIOD: &str = "2026-11";
const RETIREES: u32 = 600;
const BANKS: [&str; 5] = ["105", "103", "301", "314", "403"];

/// What was seeded.
#[derive(Debug)]
pub(crate) struct PaymentsSeeded {
    retirees: u32,
    batch: i64,
    paid_rows: i64,
    paid: Money,
    held: Vec<(String, i64)>,
    exports: usize,
    dir: PathBuf,
}

impl PaymentsSeeded {
    pub(crate) fn summary(&self) -> String {
        let held: Vec<String> = self.held.iter().map(|(c, n)| format!("{c} {n}")).collect();
        format!(
            "\n  代发（benefit payments）: 退休人员（retirees, old PSBC cards）{} · {PERIOD} 养老金批次（pension batch）{}：已发（paid）{} 人 {} 元，暂停（held）{} — sscard payment show {}\n  \
             银行状态交换（status exchange）: {} 家银行的导出文件与代发文件（exports and payment files）: {}",
            self.retirees,
            self.batch,
            self.paid_rows,
            self.paid,
            held.join(" · "),
            self.batch,
            self.exports,
            self.dir.display()
        )
    }
}

fn retiree_id(rng: &mut StdRng) -> ResidentId {
    let region = [321_202, 321_203, 321_204, 321_281, 321_282, 321_283][rng.random_range(0..6)];
    let birth = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).expect("date")
        + chrono::Duration::days(rng.random_range(0..24 * 365));
    ResidentId::from_parts(
        RegionCode::from_u32(region).expect("valid"),
        birth,
        rng.random_range(0..1000),
    )
    .expect("valid parts")
}

fn account(n: u32) -> String {
    BankCardNumber::from_payload(&format!("621799{:012}", 320_000_000 + n))
        .expect("digits")
        .expose()
        .to_owned()
}

/// Seeds the bank side; files go to `dir/bank`.
#[allow(clippy::too_many_lines)] // one story, told in order
pub(crate) async fn seed(
    store: &Store,
    ctx: &Ctx,
    seed: u64,
    dir: &Path,
) -> anyhow::Result<PaymentsSeeded> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xBA4C);
    let keys = ExchangeKeys::demo();
    let dir = dir.join("bank");
    std::fs::create_dir_all(&dir)?;
    // Retirees on the old cards, as the old city system hands them over.
    let mut distinct = std::collections::HashSet::new();
    let mut cards = Vec::new();
    while cards.len() < RETIREES as usize {
        let id = retiree_id(&mut rng);
        if !distinct.insert(id) {
            continue;
        }
        let n = u32::try_from(cards.len()).expect("small");
        cards.push(LegacyCardInput {
            id,
            name: crate::demo::name_for(&mut rng, &id),
            card: CardNumber::from_body(&format!("L{:07}", 1_000_000 + n)).expect("valid"),
            bank: "403".into(),
            account: account(n),
            issue_date: chrono::NaiveDate::from_ymd_opt(
                2009 + i32::try_from(n % 6).expect("small"),
                5,
                1,
            )
            .expect("date"),
            status: LegacyStatus::Normal,
            district: Some(id.region().to_string()),
            card_id_code: None,
        });
    }
    store.import_legacy_cards(ctx, &cards).await?;
    // The seed's rollout: Hailing and the medical high-tech zone first, the rest of the city
    // after gaining experience.
    for (name, from, districts) in [
        (
            "海陵区、医药高新区首批",
            "2026-08-25",
            vec!["321202", "321203"],
        ),
        ("全市其余区县", "2027-03-01", vec![]),
    ] {
        let phase = sscard_store::bank::RolloutPhase {
            name: name.into(),
            from: chrono::NaiveDate::parse_from_str(from, "%Y-%m-%d")?,
            districts: districts.into_iter().map(str::to_owned).collect(),
            groups: Vec::new(),
        };
        store.add_rollout_phase(ctx, &phase).await?;
    }
    let enrol: Vec<EnrolInput> = cards
        .iter()
        .map(|c| EnrolInput {
            id: c.id,
            insutype: "310".into(),
            psn_type: "1201".into(),
            region: "321200".into(),
            from: chrono::NaiveDate::from_ymd_opt(2010, 1, 1).expect("date"),
            balance: None,
            employer: None,
        })
        .collect();
    store.enrol_insurance_many(ctx, &enrol).await?;
    // Certified in the last year at the two outlets — but one in ten not: 36 never, 24 last
    // certified 13 months ago.
    let long_ago = Ctx {
        at: ctx.at - chrono::Duration::days(396),
        ..ctx.clone()
    };
    for (i, c) in cards.iter().enumerate() {
        let outlet = CertifyAt::Outlet(if i % 2 == 0 { "TZ-HL-01" } else { "TZ-GG-01" }.into());
        match i % 50 {
            0..=2 => {}
            3 | 4 => {
                store
                    .certify_pension(&long_ago, Some(&c.id), &outlet)
                    .await?;
            }
            _ => {
                let when = Ctx {
                    at: ctx.at - chrono::Duration::days(i64::try_from(i % 300).expect("small")),
                    ..ctx.clone()
                };
                store.certify_pension(&when, Some(&c.id), &outlet).await?;
            }
        }
    }
    // November's pension file from the pension system: every retiree, and three bad rows.
    let mut csv = String::from("身份证号码,金额\n");
    for c in &cards {
        let cents = rng.random_range(180_000..520_000);
        let _ = writeln!(csv, "{},{}", c.id.expose(), Money::from_cents(cents));
    }
    let unknown = retiree_id(&mut rng);
    let _ = writeln!(csv, "{},0.00", cards[7].id.expose());
    let _ = writeln!(csv, "{},2680.00", unknown.expose());
    let _ = writeln!(csv, "{}X,2680.00", &cards[9].id.expose()[..17]);
    let file = dir.join(format!("pension-{PERIOD}.csv"));
    std::fs::write(&file, &csv)?;
    let created =
        bank_files::create_payment_batch(store, ctx, PaymentKind::Pension, PERIOD, csv.as_bytes())
            .await
            .map_err(|p| anyhow::anyhow!("demo pension file: {} {}", p.code, p.message_en))??;
    let batch = created.batch_id;
    // First send; PSBC answers: two accounts frozen, one closed, one name differing.
    let first = store.send_payments(ctx, batch).await?;
    let files = bank_files::write_payment_files(store, ctx, &keys, &first, &dir)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let fail = [
        ("12", "account_frozen"),
        ("40", "account_frozen"),
        ("77", "account_closed"),
        ("123", "name_mismatch"),
    ];
    answer(store, ctx, &keys, batch, &files, &fail).await?;
    // PSBC lifts the freeze of one account; the second send pays it.
    let frozen_card = cards[10].card;
    let status = bank_files::bank_status_bytes(
        &keys,
        "403",
        1,
        &ctx.at.to_rfc3339(),
        &[
            StatusLine {
                reference: "1".into(),
                card: frozen_card,
                report: BankReport::Frozen,
                account: None,
                at: ctx.at,
            },
            StatusLine {
                reference: "2".into(),
                card: frozen_card,
                report: BankReport::Unfrozen,
                account: None,
                at: ctx.at + chrono::Duration::seconds(1),
            },
        ],
    )?;
    std::fs::write(dir.join("STATUS-403-000001-FROM-BANK.txt"), &status)?;
    let later = Ctx {
        at: ctx.at + chrono::Duration::seconds(2),
        ..ctx.clone()
    };
    bank_files::import_bank_status(store, &later, &keys, &status)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let send2 = store.send_payments(&later, batch).await?;
    let files2 = bank_files::write_payment_files(store, &later, &keys, &send2, &dir)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    answer(store, &later, &keys, batch, &files2, &[]).await?;
    // The day's status export for every bank (losses, cancellations, new cards, supersessions
    // of the demo's cards).
    for bank in BANKS {
        let export = store.bank_export(&later, bank, None).await?;
        let bytes = bank_files::status_export_bytes(&keys, &later, &export)?;
        std::fs::write(
            dir.join(bank_files::status_file_name(bank, export.export_no)),
            bytes,
        )?;
    }
    let report = store.payment_report(&later, batch).await?;
    let status = |s: &str| {
        report
            .by_status
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, t)| t.clone())
    };
    let paid = status("paid").expect("paid row");
    Ok(PaymentsSeeded {
        retirees: RETIREES,
        batch,
        paid_rows: paid.rows,
        paid: paid.amount,
        held: send2.held,
        exports: BANKS.len(),
        dir,
    })
}

async fn answer(
    store: &Store,
    ctx: &Ctx,
    keys: &ExchangeKeys,
    batch: i64,
    files: &[PathBuf],
    fail: &[(&str, &str)],
) -> anyhow::Result<()> {
    for path in files {
        let bytes = std::fs::read(path)?;
        let bank = sscard_exchange::partner_of(&bytes)?;
        let plan = PaymentFailPlan {
            rows: fail
                .iter()
                .map(|(r, o)| ((*r).to_owned(), (*o).to_owned()))
                .collect(),
            ..PaymentFailPlan::default()
        };
        let key = keys.partner(&bank);
        let result =
            sscard_exchange::sim_bank_payments(&bytes, &key, &key, &plan, &ctx.at.to_rfc3339())?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().replace("ORDER", "RESULT"))
            .unwrap_or_default();
        std::fs::write(path.with_file_name(name), &result)?;
        bank_files::apply_payment_result_file(store, ctx, keys, batch, &result)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}
