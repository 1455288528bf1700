//! `sscard institution`: the registry of designated hospitals, clinics and pharmacies.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use sscard_import::RowProblem;
use sscard_import::institutions::{InstitutionFileError, check, parse_csv};
use sscard_store::InstitutionInput;

use crate::output::{json_line, store_error};
use crate::store_cmds::{Global, try_open, try_store};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Kind {
    Hospital,
    Pharmacy,
}

#[derive(Debug, Subcommand)]
pub(crate) enum InstitutionCommand {
    /// 新增或修改定点医药机构 / add or update a designated institution.
    Add {
        /// Code: H (hospital) or P (pharmacy), 6-digit district, 5-digit serial (`H32120200001`).
        #[arg(long)]
        code: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Hospital (clinic) or pharmacy; must agree with the code's letter.
        #[arg(long, value_enum)]
        kind: Kind,
        /// Hospital level (`hosp_lv`) 1, 2 or 3.
        #[arg(long)]
        level: Option<u8>,
        /// District (six-digit region code).
        #[arg(long)]
        region: String,
        /// Networked for cross-region settlement.
        #[arg(long)]
        networked: bool,
    },
    /// 批量导入（CSV：code,name,kind,level,region,networked）/ import a CSV list, whole or nothing.
    Import {
        /// The CSV file (UTF-8 or GBK).
        file: PathBuf,
    },
    /// 定点医药机构列表 / list institutions with their terminals.
    List,
    /// 签发医保接口凭据（paasid 与 token，仅显示一次；重新签发即作废旧的）/ issue the
    /// institution's interface credentials (paasid and token, shown once; a reissue replaces them).
    Credentials {
        /// The institution's code (`fixmedins_code`).
        code: String,
    },
}

/// Prints the problems of a refused input and returns exit code 1.
fn refused(problems: &[RowProblem], rows: usize, json: bool, field_prefix: &str) -> ExitCode {
    if json {
        json_line(&serde_json::json!({
            "error": {
                "code": "file.rows_refused",
                "message": format!("{} 处错误，未导入任何机构；请改正后重新导入", problems.len()),
                "message_en": format!("{} problem(s); nothing was imported; correct them and import again", problems.len()),
            },
            "rows": rows,
            "rejected": problems,
        }));
    } else {
        eprintln!(
            "✗ {} 处错误，未导入任何机构（{} problem(s), nothing imported）:",
            problems.len(),
            problems.len()
        );
        for p in problems {
            let place = if field_prefix.is_empty() {
                format!("第 {} 行 {}", p.row, p.column)
            } else {
                format!("{field_prefix}{}", p.column)
            };
            eprintln!("  {place}: {}（{}） [{}]", p.message, p.message_en, p.code);
        }
    }
    ExitCode::from(1)
}

pub(crate) async fn institution(g: &Global, c: InstitutionCommand) -> anyhow::Result<ExitCode> {
    let inputs: Vec<InstitutionInput> = match &c {
        InstitutionCommand::List => Vec::new(),
        InstitutionCommand::Credentials { code } => return credentials(g, code).await,
        InstitutionCommand::Add {
            code,
            name,
            kind,
            level,
            region,
            networked,
        } => {
            let kind = match kind {
                Kind::Hospital => "hospital",
                Kind::Pharmacy => "pharmacy",
            };
            let level = level.map(|l| l.to_string()).unwrap_or_default();
            let networked = if *networked { "true" } else { "false" };
            match check(0, code, name, kind, &level, region, networked) {
                Ok(input) => vec![input],
                Err(problems) => return Ok(refused(&problems, 1, g.json, "--")),
            }
        }
        InstitutionCommand::Import { file } => {
            let bytes = std::fs::read(file)?;
            match parse_csv(&bytes) {
                Ok(list) => list,
                Err(InstitutionFileError::File(e)) => {
                    return Ok(crate::output::invalid_argument(
                        &file.display().to_string(),
                        &e,
                        g.json,
                    ));
                }
                Err(InstitutionFileError::Rows(problems)) => {
                    let rows = problems.iter().map(|p| p.row).max().unwrap_or(0);
                    return Ok(refused(&problems, rows, g.json, ""));
                }
            }
        }
    };
    let store = try_open!(g);
    let ctx = g.ctx();
    if let InstitutionCommand::List = c {
        let list = try_store!(g, store.institutions(&ctx).await);
        if g.json {
            json_line(&list);
        } else {
            for i in &list {
                println!(
                    "{} {:<9} {:<3} {} {:<4} 终端 {}/{} 就绪 · {}",
                    i.code,
                    i.kind,
                    i.level.map_or("-".into(), |l| l.to_string()),
                    i.region,
                    if i.networked { "联网" } else { "-" },
                    i.ready,
                    i.terminals,
                    i.name
                );
            }
            println!("{} 家机构（institutions）", list.len());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let done = match store.register_institutions(&ctx, &inputs).await {
        Ok(d) => d,
        Err(e) => return Ok(store_error(&e, g.json)),
    };
    if g.json {
        json_line(&serde_json::json!({
            "rows": inputs.len(),
            "added": done.added,
            "updated": done.updated,
            "unchanged": done.unchanged,
        }));
    } else {
        println!(
            "✓ 定点医药机构已保存：新增 {}，修改 {}，未变 {}（institutions saved: {} added, {} updated, {} unchanged）",
            done.added, done.updated, done.unchanged, done.added, done.updated, done.unchanged
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `sscard institution credentials CODE`: the paasid and token a HIS signs its calls with.
async fn credentials(g: &Global, code: &str) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let issued = try_store!(g, store.issue_credentials(&g.ctx(), code).await);
    if g.json {
        json_line(&serde_json::json!({
            "institution": issued.institution,
            "paasid": issued.paasid,
            "token": issued.token,
        }));
    } else {
        println!(
            "✓ 已签发 {} 的医保接口凭据（interface credentials issued; the token is shown only now）:",
            issued.institution
        );
        println!("  x-tif-paasid  {}", issued.paasid);
        println!("  token         {}", issued.token);
        println!(
            "  接口地址 / endpoint: POST {}  (x-tif-signature = sha256(timestamp + token + nonce + timestamp))",
            sscard_server::fsi::CALL_SERVICE
        );
    }
    Ok(ExitCode::SUCCESS)
}
