//! `sscard terminal`, `sscard readiness`, `sscard keys`: terminals at designated institutions —
//! enrolment (number, PSAM with the province keys, the terminal's own key, the file a hospital
//! installs), the self-test, online card checks, suspension, the readiness programme.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use sscard_chip::card::SoftCard;
use sscard_chip::crypto::{Algorithm, Key16};
use sscard_chip::online::{CheckBody, KEY_STORE_ENV, KeyService, read_for_check, sign_check};
use sscard_chip::terminal::{InProcess, Psam, Terminal, TerminalError, Transport};

use crate::output::json_line;
use crate::store_cmds::{Global, try_open, try_store};

const TERMINAL_FORMAT: &str = "sscard-terminal/1";

/// The key service: `--demo-keys` gives the published test keys, otherwise the key-store file
/// named by `SSCARD_KEY_STORE`.
pub(crate) fn key_service(g: &Global) -> Result<KeyService, String> {
    if g.demo_keys {
        return Ok(KeyService::test());
    }
    let path = std::env::var(KEY_STORE_ENV).map_err(|_| {
        format!(
            "未配置密钥服务：请设置 {KEY_STORE_ENV} 指向密钥库文件（sscard keys generate --out FILE 生成，仅平台可读），或演示时加 --demo-keys（no key service: set {KEY_STORE_ENV} to a key-store file made by `sscard keys generate --out FILE`, readable by the platform only, or pass --demo-keys for a demonstration）"
        )
    })?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("无法读取密钥库（cannot read the key store） {path}: {e}"))?;
    KeyService::from_json(&text).map_err(|e| e.to_string())
}

/// The PSAM's algorithm.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Alg {
    /// SM4 (3rd-generation cards).
    Sm4,
    /// 3DES (2nd-generation cards).
    #[value(name = "3des")]
    Tdes,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TerminalCommand {
    /// 登记终端 / enrol a terminal and write the file the institution installs.
    Enrol {
        /// The institution's code (`H32120200001`).
        #[arg(long)]
        institution: String,
        /// The platform's address the terminal talks to.
        #[arg(long)]
        server: String,
        /// Where to write the terminal's file (secret: its PSAM and key).
        #[arg(long)]
        out: PathBuf,
        /// The PSAM's algorithm.
        #[arg(long, value_enum, default_value = "sm4")]
        alg: Alg,
        /// Device number (default `SSCARD-<terminal number>`).
        #[arg(long, default_value = "")]
        device: String,
    },
    /// 终端自检 / the conformance session with the platform's test card; marks the terminal ready.
    Selftest(ConfigArgs),
    /// 联网验卡 / read a card and check it online.
    Check(CheckArgs),
    /// 同步黑名单 / bring the local deny list up to date (changes since its version).
    Sync(ConfigOnly),
    /// 上传离线交易 / send the uses decided offline; the platform accepts or flags each.
    Upload(ConfigOnly),
    /// 领取资格认证 / certify the pensioner whose card this terminal just checked online.
    CertifyPension(CertifyArgs),
    /// 读卡服务 / a local reader service for browser-based HIS: `GET /card`, `POST /check`.
    Agent(crate::terminal_agent::AgentArgs),
    /// 离线交易核对 / the reconciled offline uses (from the database).
    OfflineReport {
        /// Only the flagged ones.
        #[arg(long)]
        flagged: bool,
    },
    /// 终端列表 / the terminals, of one institution or all.
    List {
        /// Only this institution's.
        #[arg(long)]
        institution: Option<String>,
    },
    /// 暂停终端 / take a terminal out of service.
    Suspend {
        /// Terminal number.
        number: String,
    },
    /// 恢复终端 / put a suspended terminal back (ready again if it passed the self-test).
    Resume {
        /// Terminal number.
        number: String,
    },
    /// 改造问题 / readiness problems.
    #[command(subcommand)]
    Problem(ProblemCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProblemCommand {
    /// 登记问题 / open a problem on a terminal.
    Open {
        /// Terminal number.
        #[arg(long)]
        terminal: String,
        /// reader, psam, network, his or other.
        #[arg(long)]
        category: String,
        /// What is wrong.
        #[arg(long)]
        note: String,
    },
    /// 解决问题 / resolve a problem.
    Resolve {
        /// The problem's number.
        id: i64,
        /// How it was solved.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// 问题列表 / the open problems (or all).
    List {
        /// Resolved ones too.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// The terminal's file (`sscard terminal enrol --out`).
    #[arg(long)]
    config: PathBuf,
    /// A PC/SC reader holding the test card (default: the platform's test card image, fetched).
    #[arg(long)]
    reader: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CertifyArgs {
    /// The terminal's file.
    #[arg(long)]
    config: PathBuf,
    /// The card number the check read.
    #[arg(long)]
    card: String,
    /// The check's `check_token`.
    #[arg(long)]
    token: String,
}

#[derive(Debug, Args)]
pub(crate) struct ConfigOnly {
    /// The terminal's file.
    #[arg(long)]
    config: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The terminal's file.
    #[arg(long)]
    config: PathBuf,
    /// A card image, read in-process.
    #[arg(long, conflicts_with = "reader", required_unless_present = "reader")]
    image: Option<PathBuf>,
    /// A PC/SC reader (part of its name).
    #[arg(long)]
    reader: Option<String>,
    /// The holder's social-security PIN, verified on the card before the check.
    #[arg(long)]
    pin: Option<String>,
    /// Write the exact request sent as `{method, path, headers, body}`.
    #[arg(long)]
    dump_request: Option<PathBuf>,
}

/// The file a hospital installs: who the terminal is, where the platform is, its PSAM and its
/// key. As secret as the PSAM itself.
#[derive(Serialize, Deserialize)]
pub(crate) struct TerminalFile {
    format: String,
    test_keys: bool,
    pub(crate) terminal: String,
    pub(crate) institution: String,
    institution_name: String,
    pub(crate) server: String,
    auth_key: String,
    psam: serde_json::Value,
    /// Offline grace: how old the deny list may be for an offline decision.
    #[serde(default = "default_grace")]
    grace_hours: u32,
}

fn default_grace() -> u32 {
    24
}

/// What the terminal keeps between runs (next to its file): its counter, its deny list and
/// the journal of uses it decided offline, not uploaded yet.
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct TerminalState {
    pub(crate) counter: u64,
    /// The deny list's version.
    #[serde(default)]
    deny_version: i64,
    /// When the deny list was last brought up to date (Unix seconds; 0: never).
    #[serde(default)]
    deny_synced_at: i64,
    /// Blocked cards: card number → the result a check gives.
    #[serde(default)]
    denied: std::collections::BTreeMap<String, String>,
    /// Uses decided offline, as signed, waiting for `sscard terminal upload`.
    #[serde(default)]
    journal: Vec<CheckBody>,
}

/// A loaded terminal.
pub(crate) struct Loaded {
    pub(crate) file: TerminalFile,
    pub(crate) key: Key16,
    pub(crate) psam: Psam,
    state_path: PathBuf,
    pub(crate) state: TerminalState,
}

impl Loaded {
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!(
                "无法读取终端文件（cannot read the terminal file） {}: {e}",
                path.display()
            )
        })?;
        let file: TerminalFile = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!("终端文件内容有误（the terminal file is not understood）: {e}")
        })?;
        if file.format != TERMINAL_FORMAT {
            anyhow::bail!("不是 sscard 终端文件（not an sscard terminal file: format）");
        }
        let key = Key16::from_hex(&file.auth_key).ok_or_else(|| {
            anyhow::anyhow!("终端文件内容有误（the terminal file is not understood）: auth_key")
        })?;
        let (psam, _) = sscard_chip::file::psam_from_json(&file.psam.to_string())?;
        let state_path = path.with_extension("state.json");
        let state = match std::fs::read_to_string(&state_path) {
            Ok(t) => serde_json::from_str(&t)?,
            Err(_) => TerminalState::default(),
        };
        if file.test_keys {
            eprintln!("⚠ 测试密钥，仅供演示（test keys: demonstration only）");
        }
        Ok(Self {
            file,
            key,
            psam,
            state_path,
            state,
        })
    }

    /// The next counter, saved before it is used so a crash never reuses one.
    pub(crate) fn next_counter(&mut self) -> anyhow::Result<u64> {
        self.state.counter += 1;
        self.save()?;
        Ok(self.state.counter)
    }

    pub(crate) fn save(&self) -> anyhow::Result<()> {
        let tmp = self.state_path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self.state)?)?;
        std::fs::rename(&tmp, &self.state_path)?;
        Ok(())
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.file.server.trim_end_matches('/'))
    }

    /// Reads a card and signs the check request.
    pub(crate) fn read_and_sign<T: Transport>(
        &mut self,
        transport: T,
        pin: Option<&str>,
    ) -> anyhow::Result<(CheckBody, sscard_chip::online::CardRead)> {
        let counter = self.next_counter()?;
        let time = chrono::Utc::now().timestamp();
        let mut t = Terminal::new(transport, self.psam.clone());
        let read = read_for_check(&mut t, &self.file.terminal, counter, time)
            .map_err(|e| card_error(&e))?;
        if let Some(pin) = pin {
            t.verify_pin(pin).map_err(|e| card_error(&e))?;
        }
        let body = sign_check(
            &self.key,
            &self.file.terminal,
            &self.file.institution,
            counter,
            time,
            &read,
        );
        Ok((body, read))
    }
}

fn card_error(e: &TerminalError) -> anyhow::Error {
    anyhow::anyhow!("读卡失败（the card could not be read）: {e}")
}

/// A card source: an image in-process or a PC/SC reader.
pub(crate) fn transport(
    image: Option<&Path>,
    reader: Option<&str>,
) -> anyhow::Result<Box<dyn Transport + Send>> {
    if let Some(path) = image {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("无法读取（cannot read） {}: {e}", path.display()))?;
        let (image, _) = sscard_chip::file::image_from_json(&text)?;
        return Ok(Box::new(InProcess::new(SoftCard::new(image))));
    }
    pcsc(reader)
}

#[cfg(feature = "pcsc")]
fn pcsc(reader: Option<&str>) -> anyhow::Result<Box<dyn Transport + Send>> {
    Ok(Box::new(sscard_chip::pcsc_transport::Pcsc::connect(
        reader,
    )?))
}

#[cfg(not(feature = "pcsc"))]
fn pcsc(_reader: Option<&str>) -> anyhow::Result<Box<dyn Transport + Send>> {
    anyhow::bail!(
        "此版本未启用 PC/SC（built without PC/SC）: cargo build -p sscard --features pcsc (needs libpcsclite-dev); or use --image FILE"
    )
}

/// Sends a check body; returns the HTTP status and the answer.
pub(crate) async fn post_check(
    client: &reqwest::Client,
    url: &str,
    body: &CheckBody,
) -> Result<(u16, serde_json::Value), reqwest::Error> {
    let response = client.post(url).json(body).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

fn print_answer(g: &Global, answer: &serde_json::Value) -> ExitCode {
    let result = answer["result"].as_str().unwrap_or_default();
    if g.json {
        json_line(answer);
    } else if result == "ok" {
        println!(
            "✓ {} · {} · {} · {} · 参保地 {} · check_token {}（至 {}）",
            result,
            answer["card_number"].as_str().unwrap_or_default(),
            answer["holder_masked"].as_str().unwrap_or_default(),
            answer["message"].as_str().unwrap_or_default(),
            answer["insured_city"].as_str().unwrap_or_default(),
            answer["check_token"].as_str().unwrap_or_default(),
            answer["valid_until"].as_str().unwrap_or_default(),
        );
        if let Some(list) = answer["superseded"].as_array().filter(|l| !l.is_empty()) {
            println!("  首次使用：旧卡社保功能已停用（first use: superseded）{list:?}");
        }
    } else {
        eprintln!(
            "✗ {result}: {}（{}）",
            answer["message"].as_str().unwrap_or_default(),
            answer["message_en"].as_str().unwrap_or_default()
        );
    }
    if result == "ok" || result == "ok_offline" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn dump(path: &Path, url: &str, body: &CheckBody) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url)?;
    let dumped = serde_json::json!({
        "method": "POST",
        "path": parsed.path(),
        "headers": { "content-type": "application/json" },
        "body": body,
    });
    std::fs::write(path, serde_json::to_vec_pretty(&dumped)?)?;
    Ok(())
}

async fn check(g: &Global, a: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut t = Loaded::load(&a.config)?;
    let source = transport(a.image.as_deref(), a.reader.as_deref())?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?;
    match check_once(
        &mut t,
        source,
        a.pin.as_deref(),
        &client,
        a.dump_request.as_deref(),
    )
    .await?
    {
        Ok(answer) => Ok(print_answer(g, &answer)),
        Err(e) => {
            eprintln!("✗ {e}");
            Ok(ExitCode::from(3))
        }
    }
}

/// One online check: the card read and the request signed, sent to the platform, or decided
/// offline when the platform is out of reach. The outer error is the card's (unreadable); the
/// inner one an answer the platform gave that is not understood.
pub(crate) async fn check_once(
    t: &mut Loaded,
    source: Box<dyn Transport + Send>,
    pin: Option<&str>,
    client: &reqwest::Client,
    dump_to: Option<&Path>,
) -> anyhow::Result<Result<serde_json::Value, String>> {
    let (body, read) = t.read_and_sign(source, pin)?;
    let url = t.url("/api/v1/terminal/checks");
    if let Some(path) = dump_to {
        dump(path, &url, &body)?;
    }
    match post_check(client, &url, &body).await {
        Ok((_, answer)) => Ok(Ok(answer)),
        Err(e) if e.is_connect() || e.is_timeout() => {
            eprintln!(
                "⚠ 无法连接平台，离线核验（the platform is unreachable; deciding offline）: {e}"
            );
            let answer =
                t.decide_offline(body, read.psam_agrees, chrono::Utc::now().timestamp())?;
            Ok(Ok(answer))
        }
        Err(e) => Ok(Err(format!(
            "平台应答无法识别（the platform's answer is not understood）: {e}"
        ))),
    }
}

/// An offline answer in the online answer's shape.
fn offline_answer(result: &str, zh: &str, en: &str, card: &str) -> serde_json::Value {
    serde_json::json!({
        "result": result, "message": zh, "message_en": en, "card_number": card, "offline": true,
    })
}

impl Loaded {
    /// Decides a check without the platform: genuine by the PSAM, not on the deny list, and the
    /// list younger than the grace period; an accepted use is journalled for upload.
    fn decide_offline(
        &mut self,
        body: CheckBody,
        psam_agrees: bool,
        now: i64,
    ) -> anyhow::Result<serde_json::Value> {
        let card = body.card_number.clone();
        if !psam_agrees {
            let r = sscard_core::CheckResult::CardNotGenuine;
            return Ok(offline_answer(r.code(), r.zh(), r.en(), &card));
        }
        if let Some(reason) = self.state.denied.get(&card) {
            let r = sscard_core::CheckResult::parse(reason)
                .unwrap_or(sscard_core::CheckResult::CardCancelled);
            return Ok(offline_answer(r.code(), r.zh(), r.en(), &card));
        }
        let age = now - self.state.deny_synced_at;
        if self.state.deny_synced_at == 0 || age > i64::from(self.file.grace_hours) * 3600 {
            return Ok(offline_answer(
                "terminal.deny_list_stale",
                &format!(
                    "平台无法连接，且本机黑名单已超过 {} 小时未同步：不能离线受理，请恢复网络后重试",
                    self.file.grace_hours
                ),
                &format!(
                    "the platform is unreachable and the local deny list is older than {} hours: the card cannot be accepted offline",
                    self.file.grace_hours
                ),
                &card,
            ));
        }
        self.state.journal.push(body);
        self.save()?;
        let r = sscard_core::CheckResult::OkOffline;
        Ok(offline_answer(r.code(), r.zh(), r.en(), &card))
    }
}

/// `sscard terminal certify-pension`: the signed request, the platform's answer.
async fn certify_pension(g: &Global, a: &CertifyArgs) -> anyhow::Result<ExitCode> {
    let t = Loaded::load(&a.config)?;
    let time = chrono::Utc::now().timestamp();
    let mac = sscard_chip::online::request_mac(
        &t.key,
        &sscard_server::api::terminal::pension_text(&t.file.terminal, time, &a.card),
    );
    let response = reqwest::Client::new()
        .post(t.url("/api/v1/pension/certifications"))
        .header("x-terminal", &t.file.terminal)
        .header("x-time", time.to_string())
        .header("x-mac", hex::encode_upper(mac))
        .json(&serde_json::json!({ "card_number": a.card, "check_token": a.token }))
        .send()
        .await;
    match response {
        Ok(r) => {
            let ok = r.status().is_success();
            let answer: serde_json::Value = r.json().await.unwrap_or_default();
            if g.json {
                json_line(&answer);
            } else if ok {
                println!(
                    "✓ 领取资格已认证（certified）: {}",
                    answer["certification"]["region"]
                        .as_str()
                        .unwrap_or_default()
                );
            } else {
                eprintln!(
                    "✗ {}（{}）",
                    answer["message"].as_str().unwrap_or_default(),
                    answer["code"].as_str().unwrap_or_default()
                );
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(e) => {
            eprintln!("✗ 无法连接平台（the platform is unreachable）: {e}");
            Ok(ExitCode::from(3))
        }
    }
}

async fn sync(g: &Global, a: &ConfigOnly) -> anyhow::Result<ExitCode> {
    let mut t = Loaded::load(&a.config)?;
    let time = chrono::Utc::now().timestamp();
    let since = t.state.deny_version;
    let mac = sscard_chip::online::request_mac(
        &t.key,
        &sscard_server::api::terminal::deny_list_text(&t.file.terminal, time, since),
    );
    let response = reqwest::Client::new()
        .get(t.url(&format!("/api/v1/terminal/deny-list?since={since}")))
        .header("x-terminal", &t.file.terminal)
        .header("x-time", time.to_string())
        .header("x-mac", hex::encode_upper(mac))
        .send()
        .await;
    let list: sscard_store::terminals::DenyList = match response {
        Ok(r) if r.status().is_success() => serde_json::from_str(&r.text().await?)?,
        Ok(r) => {
            eprintln!(
                "✗ 同步被拒绝（sync refused）: {}",
                r.text().await.unwrap_or_default()
            );
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            eprintln!("✗ 无法连接平台（the platform is unreachable）: {e}");
            return Ok(ExitCode::from(3));
        }
    };
    for c in &list.changes {
        match &c.reason {
            Some(reason) => t.state.denied.insert(c.card_number.clone(), reason.clone()),
            None => t.state.denied.remove(&c.card_number),
        };
    }
    t.state.deny_version = list.version;
    t.state.deny_synced_at = time;
    t.save()?;
    if g.json {
        json_line(&serde_json::json!({
            "since": since, "version": list.version, "changes": list.changes.len(),
            "denied": t.state.denied.len(),
        }));
    } else {
        println!(
            "✓ 黑名单已同步（deny list synced）: 版本 {since} → {} · 变更 {} · 现有 {} 张",
            list.version,
            list.changes.len(),
            t.state.denied.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn upload(g: &Global, a: &ConfigOnly) -> anyhow::Result<ExitCode> {
    let mut t = Loaded::load(&a.config)?;
    let body = serde_json::json!({ "uses": t.state.journal });
    let response = reqwest::Client::new()
        .post(t.url("/api/v1/terminal/offline-uses"))
        .json(&body)
        .send()
        .await;
    let answer: serde_json::Value = match response {
        Ok(r) if r.status().is_success() => r.json().await?,
        Ok(r) => {
            eprintln!(
                "✗ 上传被拒绝（upload refused）: {}",
                r.text().await.unwrap_or_default()
            );
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            eprintln!("✗ 无法连接平台（the platform is unreachable）: {e}");
            return Ok(ExitCode::from(3));
        }
    };
    let outcomes = answer["outcomes"].as_array().cloned().unwrap_or_default();
    // Uses the platform recorded (or had already) leave the journal; refused ones stay.
    let done: std::collections::BTreeSet<u64> = outcomes
        .iter()
        .filter(|o| o["outcome"] != "refused")
        .filter_map(|o| o["counter"].as_u64())
        .collect();
    t.state.journal.retain(|u| !done.contains(&u.counter));
    t.save()?;
    if g.json {
        json_line(&answer);
    } else {
        for o in &outcomes {
            println!(
                "{} #{} {} {}",
                o["outcome"].as_str().unwrap_or_default(),
                o["counter"],
                o["card_number"].as_str().unwrap_or_default(),
                o["reason"].as_str().unwrap_or_default()
            );
        }
        println!(
            "✓ 已上传（uploaded）{} · 仍待上传（still journalled）{}",
            done.len(),
            t.state.journal.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn selftest(g: &Global, a: ConfigArgs) -> anyhow::Result<ExitCode> {
    let mut t = Loaded::load(&a.config)?;
    let client = reqwest::Client::new();
    let source: Box<dyn Transport + Send> = if a.reader.is_some() {
        transport(None, a.reader.as_deref())?
    } else {
        let time = chrono::Utc::now().timestamp();
        let mac = sscard_chip::online::request_mac(
            &t.key,
            &sscard_server::api::terminal::test_card_text(&t.file.terminal, time),
        );
        let response = client
            .get(t.url("/api/v1/terminal/test-card"))
            .header("x-terminal", &t.file.terminal)
            .header("x-time", time.to_string())
            .header("x-mac", hex::encode_upper(mac))
            .send()
            .await?;
        if !response.status().is_success() {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            eprintln!("✗ 无法取得测试卡（cannot fetch the test card）: {body}");
            return Ok(ExitCode::from(1));
        }
        let (image, _) = sscard_chip::file::image_from_json(&response.text().await?)?;
        Box::new(InProcess::new(SoftCard::new(image)))
    };
    // The local part of the conformance session: read, authenticate both ways, PIN, DF04.
    let mut steps = Vec::new();
    let counter = t.next_counter()?;
    let time = chrono::Utc::now().timestamp();
    let mut term = Terminal::new(source, t.psam.clone());
    let read = match read_for_check(&mut term, &t.file.terminal, counter, time) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("✗ 读卡失败（read failed）: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    steps.push(("SELECT + EF05/EF06", true));
    steps.push(("INTERNAL AUTHENTICATE (PSAM)", read.psam_agrees));
    let external = read.psam_agrees && term.external_authenticate().is_ok();
    steps.push(("EXTERNAL AUTHENTICATE", external));
    let pin = external && term.verify_pin("123456").is_ok() && term.read_medical().is_ok();
    steps.push(("VERIFY PIN + DF04", pin));
    let mut body = sign_check(
        &t.key,
        &t.file.terminal,
        &t.file.institution,
        counter,
        time,
        &read,
    );
    body.psam_answer = read.psam_answer.map(hex::encode_upper);
    let answer = match post_check(&client, &t.url("/api/v1/terminal/selftest"), &body).await {
        Ok((_, a)) => a,
        Err(e) => {
            eprintln!("✗ 无法连接平台（the platform is unreachable）: {e}");
            return Ok(ExitCode::from(3));
        }
    };
    let ok = answer["result"] == "ok";
    steps.push(("ONLINE CHECK (platform)", ok));
    if !g.json {
        for (name, passed) in &steps {
            println!("{} {name}", if *passed { "✓" } else { "✗" });
        }
    }
    let all = steps.iter().all(|(_, p)| *p);
    if g.json {
        json_line(&serde_json::json!({
            "terminal": t.file.terminal,
            "steps": steps.iter().map(|(n, p)| serde_json::json!({"step": n, "ok": p})).collect::<Vec<_>>(),
            "result": answer["result"],
            "ready": all,
        }));
    } else if all {
        println!(
            "✓ 终端 {} 自检通过，已就绪（self-test passed; the terminal is ready）",
            t.file.terminal
        );
    } else {
        eprintln!(
            "✗ 自检未通过（self-test failed）: {}（{}）",
            answer["message"].as_str().unwrap_or("PSAM"),
            answer["message_en"].as_str().unwrap_or_default()
        );
    }
    Ok(if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn enrol(
    g: &Global,
    institution: &str,
    server: &str,
    out: &Path,
    alg: Alg,
    device: &str,
) -> anyhow::Result<ExitCode> {
    let keys = match key_service(g) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("✗ {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let (alg, alg_name) = match alg {
        Alg::Sm4 => (Algorithm::Sm4, "sm4"),
        Alg::Tdes => (Algorithm::Tdes, "3des"),
    };
    let store = try_open!(g);
    let enrolled = try_store!(
        g,
        store
            .enrol_terminal(&g.ctx(), institution, alg_name, device)
            .await
    );
    let psam = keys.psam(alg, &enrolled.number, &enrolled.device);
    let psam_json: serde_json::Value =
        serde_json::from_str(&sscard_chip::file::psam_to_json(&psam, keys.is_test()))?;
    let file = TerminalFile {
        format: TERMINAL_FORMAT.into(),
        test_keys: keys.is_test(),
        terminal: enrolled.number.clone(),
        institution: enrolled.institution.clone(),
        institution_name: enrolled.institution_name.clone(),
        server: server.trim_end_matches('/').to_owned(),
        auth_key: hex::encode_upper(keys.terminal_key(&enrolled.number).expose()),
        psam: psam_json,
        grace_hours: default_grace(),
    };
    write_secret(out, &serde_json::to_vec_pretty(&file)?)?;
    if g.json {
        json_line(&serde_json::json!({
            "terminal": enrolled.number, "institution": enrolled.institution,
            "state": enrolled.state.as_str(), "alg": alg_name, "device": enrolled.device,
            "out": out.display().to_string(), "test_keys": keys.is_test(),
        }));
    } else {
        println!(
            "✓ 终端 {} 已登记于 {} {}（enrolled; state enrolled）→ {}\n  下一步（next）: sscard terminal selftest --config {}",
            enrolled.number,
            enrolled.institution,
            enrolled.institution_name,
            out.display(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a secret file readable by its owner only.
fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

pub(crate) async fn run(g: &Global, c: TerminalCommand) -> anyhow::Result<ExitCode> {
    match c {
        TerminalCommand::Enrol {
            institution,
            server,
            out,
            alg,
            device,
        } => enrol(g, &institution, &server, &out, alg, &device).await,
        TerminalCommand::Selftest(a) => selftest(g, a).await,
        TerminalCommand::Check(a) => check(g, a).await,
        TerminalCommand::Sync(a) => sync(g, &a).await,
        TerminalCommand::Upload(a) => upload(g, &a).await,
        TerminalCommand::CertifyPension(a) => certify_pension(g, &a).await,
        TerminalCommand::Agent(a) => crate::terminal_agent::run(g, a).await,
        TerminalCommand::OfflineReport { flagged } => {
            let store = try_open!(g);
            let list = try_store!(g, store.offline_uses(&g.ctx(), flagged).await);
            if g.json {
                json_line(&list);
            } else {
                for u in &list {
                    println!(
                        "{} {} #{} {} {} {}",
                        u.used_at.format("%Y-%m-%d %H:%M"),
                        u.terminal,
                        u.counter,
                        u.card_number,
                        u.outcome,
                        u.reason.as_deref().unwrap_or_default()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TerminalCommand::List { institution } => {
            let store = try_open!(g);
            let list = try_store!(g, store.terminals(&g.ctx(), institution.as_deref()).await);
            if g.json {
                json_line(&list);
            } else {
                for t in &list {
                    println!(
                        "{} {:<9} {} {} · 问题 {} · 验卡 {}",
                        t.number,
                        t.state.as_str(),
                        t.institution,
                        t.institution_name,
                        t.open_problems,
                        t.checks
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TerminalCommand::Suspend { number } => suspend(g, &number, true).await,
        TerminalCommand::Resume { number } => suspend(g, &number, false).await,
        TerminalCommand::Problem(p) => problem(g, p).await,
    }
}

async fn suspend(g: &Global, number: &str, suspended: bool) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let state = try_store!(
        g,
        store
            .set_terminal_suspended(&g.ctx(), number, suspended)
            .await
    );
    if g.json {
        json_line(&serde_json::json!({ "terminal": number, "state": state.as_str() }));
    } else {
        println!("✓ 终端 {number}: {}（{}）", state.zh(), state.as_str());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_problem(p: &sscard_store::terminals::TerminalProblem) {
    println!(
        "#{} {} {} {} [{}] {}{}",
        p.number,
        p.terminal,
        p.institution,
        p.institution_name,
        p.category,
        p.note,
        p.resolved_at
            .map(|t| format!(" · 已解决 {}", t.format("%Y-%m-%d")))
            .unwrap_or_default()
    );
}

async fn problem(g: &Global, c: ProblemCommand) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let ctx = g.ctx();
    let list = match c {
        ProblemCommand::Open {
            terminal,
            category,
            note,
        } => vec![try_store!(
            g,
            store.open_problem(&ctx, &terminal, &category, &note).await
        )],
        ProblemCommand::Resolve { id, note } => {
            vec![try_store!(g, store.resolve_problem(&ctx, id, &note).await)]
        }
        ProblemCommand::List { all } => try_store!(g, store.problems(&ctx, !all).await),
    };
    if g.json {
        json_line(&list);
    } else {
        list.iter().for_each(print_problem);
    }
    Ok(ExitCode::SUCCESS)
}

/// `sscard readiness`.
pub(crate) async fn readiness(g: &Global) -> anyhow::Result<ExitCode> {
    let store = try_open!(g);
    let ctx = g.ctx();
    let lines = try_store!(g, store.readiness(&ctx).await);
    let problems = try_store!(g, store.problems(&ctx, true).await);
    if g.json {
        let terminals: u32 = lines.iter().map(|l| l.terminals).sum();
        let ready: u32 = lines.iter().map(|l| l.ready).sum();
        json_line(&serde_json::json!({
            "lines": lines,
            "institutions": lines.iter().map(|l| l.institutions).sum::<u32>(),
            "terminals": terminals,
            "ready": ready,
            "ready_permille": sscard_store::terminals::permille(ready, terminals),
            "open_problems": problems,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("区县    类别      机构  终端  就绪  暂停  问题  就绪率");
    for l in &lines {
        println!(
            "{} {:<9} {:>5} {:>5} {:>5} {:>5} {:>5}  {:>3}.{}%",
            l.region,
            l.kind,
            l.institutions,
            l.terminals,
            l.ready,
            l.suspended,
            l.open_problems,
            l.ready_permille / 10,
            l.ready_permille % 10
        );
    }
    println!("未解决问题（open problems）: {}", problems.len());
    problems.iter().take(20).for_each(print_problem);
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// 生成密钥库 / generate a key store with fresh random keys (owner-only file).
    Generate {
        /// Province code (32 Jiangsu).
        #[arg(long, default_value_t = 32)]
        province: u8,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

pub(crate) fn keys(g: &Global, c: &KeysCommand) -> anyhow::Result<ExitCode> {
    let KeysCommand::Generate { province, out } = c;
    if out.exists() {
        eprintln!(
            "✗ {} 已存在，不会覆盖密钥库（exists; a key store is never overwritten）",
            out.display()
        );
        return Ok(ExitCode::from(2));
    }
    write_secret(out, KeyService::generate(*province).to_json().as_bytes())?;
    if g.json {
        json_line(&serde_json::json!({ "out": out.display().to_string(), "province": province }));
    } else {
        println!(
            "✓ 密钥库已写入（key store written）: {} — export {KEY_STORE_ENV}={}",
            out.display(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
