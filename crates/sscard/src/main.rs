//! The `sscard` command: raw arguments → a validated plan (clap) → execution.
//!
//! Exit status: 0 success, 1 when a value is invalid or a request is refused by a rule,
//! 2 on a usage error (clap's own exit code for bad arguments).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;

/// sscard — 社会保障卡平台 / the social security card platform.
#[derive(Debug, Parser)]
#[command(name = "sscard", version, about, long_about = None)]
struct Cli {
    /// Print data as JSON (one object per line where there are several).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 校验标识符 / check identifiers: resident ID numbers, card numbers, credit codes.
    Check(check::CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args, cli.json),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("错误（error）: {err:#}");
            ExitCode::from(2)
        }
    }
}
