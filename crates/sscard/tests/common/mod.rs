//! The `sscard` binary on a temporary SQLite file, for black-box tests.

#![allow(dead_code, unreachable_pub)]

pub mod live;

use std::process::{Command, Output};

use serde_json::Value;

pub struct Cli {
    pub dir: tempfile::TempDir,
    pub db: String,
}

impl Cli {
    pub fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("cli.db").display());
        Cli { dir, db }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The command `run` runs, for a test to add to its environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sscard"));
        c.args(args)
            .env("SSCARD_DB", &self.db)
            .env("SSCARD_ACTOR", "clerk:cli-test")
            .env("SSCARD_DEMO_KEYS", "true")
            .env_remove("SSCARD_EXCHANGE_SECRET");
        c
    }

    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().unwrap_or_else(|| {
            panic!(
                "no output; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (
            out.status.code().unwrap(),
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}")),
        )
    }
}
