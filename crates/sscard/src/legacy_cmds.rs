//! `sscard legacy import|generate`: the old city system's cards taken over (存量卡导入), and a
//! realistic synthetic file of them for tests and benchmarks.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::Datelike as _;
use clap::Subcommand;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sscard_ids::{BankCardNumber, CardNumber, RegionCode, ResidentId};
use sscard_import::legacy::{KnownBank, parse_legacy_file};

use crate::output::json_line;
use crate::production_cmds::read;
use crate::store_cmds::{Global, try_open, try_store};

#[derive(Debug, Subcommand)]
pub(crate) enum LegacyCommand {
    /// 存量卡导入 / take over the old system's cards (CSV, UTF-8 or GBK, Chinese or English header).
    Import {
        /// The file.
        file: PathBuf,
        /// The city's code prefix: districts must be of this city.
        #[arg(long, default_value = "3212")]
        city: String,
    },
    /// 生成存量卡文件 / write a synthetic legacy card file (Taizhou's districts, some 15-digit
    /// numbers, some people with two cards, some bad rows).
    Generate {
        /// Rows.
        #[arg(long)]
        n: usize,
        /// Where.
        #[arg(long)]
        out: PathBuf,
        /// Write GBK instead of UTF-8 (the old system's export).
        #[arg(long)]
        gbk: bool,
        /// Seed of the generator.
        #[arg(long, default_value_t = 2015)]
        seed: u64,
    },
}

pub(crate) async fn legacy(g: &Global, c: LegacyCommand) -> anyhow::Result<ExitCode> {
    match c {
        LegacyCommand::Import { file, city } => import(g, &file, &city).await,
        LegacyCommand::Generate { n, out, gbk, seed } => {
            let text = generate(n, seed);
            let bytes = if gbk {
                encoding_rs::GBK.encode(&text).0.into_owned()
            } else {
                text.into_bytes()
            };
            std::fs::write(&out, bytes)?;
            if g.json {
                json_line(&serde_json::json!({ "out": out, "rows": n }));
            } else {
                println!(
                    "✓ 已生成存量卡文件（legacy file written）: {} · {n} 行",
                    out.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn import(g: &Global, file: &Path, city: &str) -> anyhow::Result<ExitCode> {
    let bytes = read(file)?;
    let store = try_open!(g);
    let banks: Vec<KnownBank> = try_store!(g, store.banks().await)
        .into_iter()
        .map(|b| KnownBank {
            code: b.code,
            short_name: b.short_name,
            name_zh: b.name_zh,
        })
        .collect();
    let parsed = match parse_legacy_file(&bytes, &banks, city) {
        Ok(p) => p,
        Err(problem) => return Ok(crate::insurance_cmds::refused(g, file, &[problem])),
    };
    let cards: Vec<_> = parsed.lines.iter().map(|l| l.card.clone()).collect();
    let out = try_store!(g, store.import_legacy_cards(&g.ctx(), &cards).await);
    let rows: std::collections::HashMap<&str, usize> = parsed
        .lines
        .iter()
        .map(|l| (l.card.card.as_str(), l.row))
        .collect();
    let row_of = |card: &str| rows.get(card).copied().unwrap_or(0);
    let notes: Vec<serde_json::Value> = out
        .notes
        .iter()
        .map(|n| {
            serde_json::json!({
                "row": row_of(&n.card_number), "card_number": n.card_number, "code": n.code,
                "by": n.by, "message": n.message, "message_en": n.message_en,
            })
        })
        .collect();
    if g.json {
        json_line(&serde_json::json!({
            "rows": parsed.rows, "accepted": out.accepted, "already": out.already,
            "upgraded": parsed.lines.iter().filter(|l| l.upgraded).count(),
            "rejected": parsed.rejected, "notes": notes,
        }));
    } else {
        println!(
            "✓ 存量卡导入（legacy import）: 读入 {} 行 · 导入 {} · 已有 {} · 拒绝 {} · 备注 {}",
            parsed.rows,
            out.accepted,
            out.already,
            parsed.rejected.len(),
            notes.len()
        );
        for p in &parsed.rejected {
            println!(
                "  ✗ 第 {} 行 {}: {}（{}） [{}]",
                p.row, p.column, p.message, p.message_en, p.code
            );
        }
        for n in &out.notes {
            println!(
                "  · 第 {} 行 {}: {}（{}）",
                row_of(&n.card_number),
                n.card_number,
                n.message,
                n.message_en
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn district(rng: &mut StdRng) -> u32 {
    // Taizhou's districts in the proportions of the household register.
    let mut x = rng.random_range(0..1000);
    for (code, _, _, share) in sscard_core::migration::TAIZHOU_DISTRICTS {
        if x < share {
            return code;
        }
        x -= share;
    }
    sscard_core::migration::TAIZHOU_DISTRICTS[0].0
}

/// A person not generated before: the ID number (sometimes in its old 15-digit form), the
/// name, the district.
fn new_person(
    rng: &mut StdRng,
    people: &mut std::collections::HashSet<ResidentId>,
) -> (String, String, u32) {
    let district = district(rng);
    let id = loop {
        let birth = chrono::NaiveDate::from_ymd_opt(1935, 1, 1).expect("date")
            + chrono::Duration::days(rng.random_range(0..70 * 365));
        let id = ResidentId::from_parts(
            RegionCode::from_u32(district).expect("valid"),
            birth,
            rng.random_range(0..1000),
        )
        .expect("valid parts");
        if people.insert(id) {
            break id;
        }
    };
    let name = crate::demo::name_for(rng, &id).expose().to_owned();
    let old_form = id.birth_date().year() < 2000 && rng.random_range(0..100) < 3;
    let id_text = if old_form {
        // The 15-digit form: no century, no check character.
        let s = id.expose();
        format!("{}{}", &s[..6], &s[8..17])
    } else {
        id.expose().to_owned()
    };
    (id_text, name, district)
}

/// A legacy file of `n` rows: about 3 % of the ID numbers in their old 15-digit form, 2 % of
/// the people with an older second card, 0.5 % of the rows broken in one cell.
pub(crate) fn generate(n: usize, seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut text = String::with_capacity(n * 90);
    text.push_str("卡号,社会保障号码,姓名,发卡日期,卡状态,开户银行,银行账号,所属区县\n");
    let mut people = std::collections::HashSet::new();
    let mut previous: Option<(String, String, u32)> = None;
    for i in 0..n {
        let seq = u32::try_from(i).unwrap_or(u32::MAX);
        let card = CardNumber::from_body(&format!("L{seq:07}")).expect("valid");
        let account =
            BankCardNumber::from_payload(&format!("621799{:012}", 880_000_000 + u64::from(seq)))
                .expect("digits");
        let second = i > 0 && rng.random_range(0..100) < 2;
        let (id_text, name, district) = if let (Some(p), true) = (&previous, second) {
            p.clone()
        } else {
            new_person(&mut rng, &mut people)
        };
        let issued = chrono::NaiveDate::from_ymd_opt(2004, 1, 1).expect("date")
            + chrono::Duration::days(rng.random_range(0..11 * 365));
        let status = if second {
            // The old system kept some replaced cards as 正常 too: the later one is the live one.
            if rng.random_range(0..2) == 0 {
                "注销"
            } else {
                "正常"
            }
        } else {
            match rng.random_range(0..100) {
                0 => "挂失",
                1 => "注销",
                _ => "正常",
            }
        };
        let mut cells = [
            card.as_str().to_owned(),
            id_text.clone(),
            name.clone(),
            issued.format("%Y-%m-%d").to_string(),
            status.to_owned(),
            if i % 7 == 0 {
                "中国邮政储蓄银行"
            } else {
                "403"
            }
            .to_owned(),
            account.expose().to_owned(),
            district.to_string(),
        ];
        if rng.random_range(0..1000) < 5 {
            let broken = rng.random_range(0..cells.len());
            cells[broken] = match broken {
                0 => format!("{}Z", &cells[0][..8]),
                1 => format!("{}0", &cells[1][..cells[1].len() - 1]),
                3 => "2015-13-45".to_owned(),
                5 => "ICBC".to_owned(),
                6 => "6217990000".to_owned(),
                7 => "320102".to_owned(),
                _ => String::new(),
            };
        }
        let _ = writeln!(text, "{}", cells.join(","));
        previous = Some((id_text, name, district));
    }
    text
}

#[derive(Debug, Subcommand)]
pub(crate) enum RolloutCommand {
    /// 换卡批次 / the migration's phases.
    #[command(subcommand)]
    Phase(PhaseCommand),
    /// 换卡资格 / whether a person may exchange a legacy card today, and why (not).
    Eligible {
        /// The person's ID number.
        id: String,
    },
    /// 旧卡停用 / after this day legacy cards are refused for social-security use at
    /// terminals (`card.legacy_retired`); their bank function stays the bank's.
    Cutover {
        /// The last day legacy cards work (YYYY-MM-DD).
        #[arg(long)]
        date: chrono::NaiveDate,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PhaseCommand {
    /// Add a phase: from a date, the exchange opens for the districts named (all when none).
    Add {
        /// Its name.
        #[arg(long)]
        name: String,
        /// The day it opens (YYYY-MM-DD).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// District codes, comma-separated (none: every district).
        #[arg(long, value_delimiter = ',')]
        districts: Vec<String>,
        /// Groups it names: `new`, `reissue`, `cross_region` (never held back anyway).
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
    },
    /// Every phase.
    List,
}

pub(crate) async fn rollout(g: &Global, c: RolloutCommand) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    match c {
        RolloutCommand::Phase(PhaseCommand::Add {
            name,
            from,
            districts,
            groups,
        }) => {
            for d in &districts {
                if let Err(e) = RegionCode::parse(d) {
                    return Ok(crate::output::invalid_argument("--districts", &e, g.json));
                }
            }
            let phase = sscard_store::bank::RolloutPhase {
                name,
                from,
                districts,
                groups,
            };
            try_store!(g, store.add_rollout_phase(&g.ctx(), &phase).await);
            if g.json {
                json_line(&phase);
            } else {
                println!("✓ 换卡批次（phase）: {} · 自 {} 起", phase.name, phase.from);
            }
        }
        RolloutCommand::Phase(PhaseCommand::List) => {
            let phases = try_store!(g, store.rollout_phases().await);
            if g.json {
                json_line(&phases);
            } else {
                for p in phases {
                    let districts = if p.districts.is_empty() {
                        "全部区县（every district）".to_owned()
                    } else {
                        p.districts.join(",")
                    };
                    println!("{}  {} · {districts}", p.from, p.name);
                }
            }
        }
        RolloutCommand::Cutover { date } => {
            try_store!(g, store.set_cutover(&g.ctx(), date).await);
            if g.json {
                json_line(&serde_json::json!({ "cutover": date }));
            } else {
                println!(
                    "✓ 旧卡停用日（cut-over）: {date} · 此后旧卡在终端的社保功能停用（card.legacy_retired），金融功能不变"
                );
            }
        }
        RolloutCommand::Eligible { id } => {
            let id = match ResidentId::parse(&id) {
                Ok(id) => id,
                Err(e) => return Ok(crate::output::invalid_argument("id", &e, g.json)),
            };
            let e = try_store!(g, store.rollout_eligible(&g.ctx(), &id).await);
            if g.json {
                json_line(&e);
            } else {
                let mark = if e.eligible { "✓" } else { "✗" };
                println!("{mark} {}: {}（{}）", id.masked(), e.reason, e.reason_en);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
