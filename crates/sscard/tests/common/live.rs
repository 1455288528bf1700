//! A live `sscard serve` on a fresh database, driven through the binary and raw HTTP.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read as _, Write as _};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: String,
    server: Child,
    pub port: u16,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Env {
    pub fn start(db: String) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let env = |c: &mut Command| {
            c.env("SSCARD_DB", &db)
                .env("SSCARD_ACTOR", "clerk:terminal-test")
                .env("SSCARD_DEMO_KEYS", "true")
                .env_remove("SSCARD_KEY_STORE")
                .current_dir(dir.path());
        };
        let mut init = Command::new(env!("CARGO_BIN_EXE_sscard"));
        env(&mut init);
        assert!(init.arg("init").output().unwrap().status.success());
        let mut serve = Command::new(env!("CARGO_BIN_EXE_sscard"));
        env(&mut serve);
        let server = serve
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Env {
            dir,
            db,
            server,
            port,
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sscard"))
            .args(args)
            .env("SSCARD_DB", &self.db)
            .env("SSCARD_ACTOR", "clerk:terminal-test")
            .env("SSCARD_DEMO_KEYS", "true")
            .env_remove("SSCARD_KEY_STORE")
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().unwrap_or_else(|| {
            panic!(
                "{args:?}: no output; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (
            out.status.code().unwrap(),
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}")),
        )
    }

    pub fn server(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A check's result code.
    pub fn check(&self, config: &str, image: &str) -> String {
        let (_, v) = self.json(&["terminal", "check", "--config", config, "--image", image]);
        v["result"].as_str().unwrap().to_owned()
    }

    /// POSTs a JSON body as it is, returning the status and the answer.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let (_, json) = response.split_once("\r\n\r\n").unwrap();
        (status, serde_json::from_str(json).unwrap())
    }

    /// Starts the binary in the background (a long-running command such as the agent); it is
    /// stopped when the guard drops.
    pub fn spawn(&self, args: &[&str]) -> Background {
        let child = Command::new(env!("CARGO_BIN_EXE_sscard"))
            .args(args)
            .env("SSCARD_DB", &self.db)
            .env("SSCARD_ACTOR", "clerk:terminal-test")
            .env("SSCARD_DEMO_KEYS", "true")
            .env_remove("SSCARD_KEY_STORE")
            .current_dir(self.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Background(child)
    }

    /// A card of the database, handed over, and its image on the test keys.
    pub fn card(&self, id: &str, name: &str) -> (String, String) {
        let (code, v) = self.json(&[
            "apply",
            "--id",
            id,
            "--name",
            name,
            "--bank",
            "CCB",
            "--instant",
        ]);
        assert_eq!(code, 0, "{v}");
        let number = v["card_number"].as_str().unwrap().to_owned();
        self.ok(&["card", "hand-over", &number]);
        let image = self.image(&number);
        (number, image)
    }

    pub fn image(&self, number: &str) -> String {
        if !self.dir.path().join("psam.json").exists() {
            self.ok(&["chip", "psam", "--demo", "--out", "psam.json"]);
        }
        let file = format!("{number}.json");
        self.ok(&[
            "chip",
            "image",
            "--card",
            number,
            "--keys",
            "psam.json",
            "--out",
            &file,
        ]);
        file
    }

    pub fn read(&self, file: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.dir.path().join(file)).unwrap()).unwrap()
    }

    pub fn write(&self, file: &str, v: &Value) {
        std::fs::write(self.dir.path().join(file), v.to_string()).unwrap();
    }
}

/// A background process, killed on drop (also when a test fails).
pub struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something listens on a loopback port.
pub fn wait_for_port(port: u16) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 exchange over loopback: the status, the response's head (lower-case) and body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = vec![format!("{method} {path} HTTP/1.1")];
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push(format!("Host: 127.0.0.1:{port}"));
    }
    head.extend(headers.iter().map(|(k, v)| format!("{k}: {v}")));
    head.push(format!("Content-Length: {}", body.len()));
    head.push("Connection: close".to_owned());
    let head = format!("{}\r\n\r\n{body}", head.join("\r\n"));
    s.write_all(head.as_bytes()).unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// Every key of a key list replaced by another value.
pub fn other_keys(keys: &mut Value) {
    for k in keys.as_array_mut().unwrap() {
        let hex = k["key"].as_str().unwrap();
        let flipped: String = hex
            .chars()
            .map(|c| if c == 'A' { 'B' } else { 'A' })
            .collect();
        k["key"] = Value::String(flipped);
    }
}

pub fn flip_first_hex(s: &str) -> String {
    let first = if s.starts_with('0') { "1" } else { "0" };
    format!("{first}{}", &s[1..])
}
