//! A reader that stops reading (`sscard audit tail -n 5000 | head -c 1`) ends a command quietly:
//! no panic, no error message, the status a shell gives a process ended by SIGPIPE (141), or 0
//! when the command had finished writing before the reader left.

mod common;

use std::io::Read as _;
use std::process::Stdio;

use common::Cli;

/// Runs `args`, reads one byte of its output and closes the pipe.
fn head_c_1(cli: &Cli, args: &[&str]) {
    let mut child = cli
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    let n = stdout.read(&mut one).unwrap();
    assert_eq!(n, 1, "{args:?} printed something");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 141)),
        "{args:?} ended with {code:?}: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe") && !stderr.contains("错误"),
        "{args:?} said: {stderr}"
    );
}

#[test]
fn list_commands_end_quietly_when_the_reader_goes() {
    let cli = Cli::new();
    assert!(cli.run(&["init"]).status.success());
    let file = cli.dir.path().join("legacy.csv");
    let path = file.to_str().unwrap();
    assert!(
        cli.run(&["legacy", "generate", "--n", "6000", "--out", path])
            .status
            .success()
    );
    let out = cli.run(&["--actor", "admin:pipe-test", "legacy", "import", path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let phases = cli.dir.path().join("phases.toml");
    std::fs::write(
        &phases,
        "[[phase]]\nname = \"全市\"\nfrom = 2026-08-20\ndistricts = []\n",
    )
    .unwrap();
    let phases = phases.to_str().unwrap();
    // Enough output that the writer is still writing when the reader leaves.
    for args in [
        &["audit", "tail", "-n", "5000"][..],
        &["--json", "audit", "tail", "-n", "5000"],
        &["legacy", "import", path],
        &["--json", "legacy", "import", path],
        &[
            "migration",
            "simulate",
            "--people",
            "200000",
            "--points",
            "4",
            "--phases",
            phases,
        ],
        &[
            "--json",
            "migration",
            "simulate",
            "--people",
            "200000",
            "--points",
            "4",
            "--phases",
            phases,
        ],
        &["--help"],
    ] {
        head_c_1(&cli, args);
    }
}
