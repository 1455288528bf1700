//! A throw-away PostgreSQL cluster for benchmarks: `initdb` into a temporary directory, started
//! on a free loopback port with PostgreSQL's default durability (fsync and synchronous commit
//! on), stopped and removed on drop. As root the server runs as the `postgres` user, as
//! PostgreSQL requires.

use std::path::PathBuf;
use std::process::Command;

/// A running cluster.
pub(crate) struct Cluster {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub(crate) url: String,
    /// The server binaries' directory (also holds `pgbench`).
    pub(crate) bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
}

/// The newest installed PostgreSQL's binaries (`/usr/lib/postgresql/N/bin`).
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

/// A PostgreSQL program: from the server's binaries, else on `PATH`.
pub(crate) fn binary(name: &str) -> Option<PathBuf> {
    bin_dir().map(|b| b.join(name)).filter(|p| p.exists())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

impl Cluster {
    /// The PostgreSQL a benchmark compares on: `--pg URL` as given, none with `--no-pg`, else a
    /// throw-away cluster (kept alive by the returned guard); answers the guard and the URL.
    pub(crate) fn for_peer(pg: Option<&str>, no_pg: bool) -> (Option<Cluster>, Option<String>) {
        if no_pg {
            return (None, None);
        }
        if let Some(url) = pg {
            return (None, Some(url.to_owned()));
        }
        match Cluster::start() {
            Ok(c) => {
                let url = c.url.clone();
                (Some(c), Some(url))
            }
            Err(e) => {
                eprintln!("⚠ no PostgreSQL for the comparison ({e}); give --pg URL");
                (None, None)
            }
        }
    }

    /// Starts a fresh cluster; says why when it cannot.
    pub(crate) fn start() -> anyhow::Result<Cluster> {
        let bin = bin_dir().ok_or_else(|| {
            anyhow::anyhow!(
                "no PostgreSQL server binaries in /usr/lib/postgresql (apt-get install postgresql)"
            )
        })?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = tempfile::Builder::new()
            .prefix("sscard-bench-pg")
            .tempdir()?;
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres"])
                .arg(dir.path())
                .status()?;
            anyhow::ensure!(
                status.success(),
                "cannot give {} to postgres",
                dir.path().display()
            );
        }
        let cluster = Cluster {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin,
            dir,
            as_postgres,
        };
        let data = cluster.dir.path().join("data");
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C.UTF-8".as_ref(),
            ],
        )?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c max_connections=300",
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("server.log");
        cluster.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
                "start".as_ref(),
            ],
        )?;
        Ok(cluster)
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
        let path = self.bin.join(program);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = c.args(args).current_dir(self.dir.path()).output()?;
        anyhow::ensure!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "stop".as_ref(),
            ],
        );
    }
}
