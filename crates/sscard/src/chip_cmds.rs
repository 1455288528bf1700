//! `sscard chip …`: card images, PSAMs, the vpcd bridge, reading cards, raw APDUs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use sscard_chip::card::{CardImage, SoftCard};
use sscard_chip::crypto::Algorithm;
use sscard_chip::file;
use sscard_chip::issue::IssueData;
use sscard_chip::keys::test_province_keys;
use sscard_chip::terminal::{InProcess, Psam, Terminal, Transport};
use sscard_ids::{CardIdCode, CardNumber};
use sscard_store::{Store, StoreOptions};

use crate::output::{json_line, store_error};
use crate::store_cmds::Global;

const TEST_KEY_WARNING: &str =
    "⚠ 测试密钥，仅供演示与测试（TEST KEY SET — for demos and tests only, never for real cards）";

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Alg {
    Sm4,
    #[value(name = "3des")]
    Tdes,
}

impl From<Alg> for Algorithm {
    fn from(a: Alg) -> Self {
        match a {
            Alg::Sm4 => Algorithm::Sm4,
            Alg::Tdes => Algorithm::Tdes,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum ChipCommand {
    /// 制作卡片镜像 / build a card image (files, diversified keys, ATR).
    Image(ImageArgs),
    /// 制作 PSAM / build a PSAM file holding province keys.
    Psam(PsamArgs),
    /// 虚拟读卡器桥接 / serve a card image to vsmartcard's vpcd (in pcscd) until stopped.
    Vpcd(VpcdArgs),
    /// 读卡 / a whole terminal session; prints the `iReadCardBas` string (or JSON).
    Read(ReadArgs),
    /// 发送 APDU / send raw APDUs (hex) and print the responses.
    Apdu(ApduArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImageArgs {
    /// The fixed demo card with the published test keys.
    #[arg(long, conflicts_with = "card")]
    demo: bool,
    /// A card of the database (`--db`), personalised for its holder.
    #[arg(long, required_unless_present = "demo")]
    card: Option<String>,
    /// Province keys for `--card`: a PSAM file (`sscard chip psam`).
    #[arg(long, requires = "card")]
    keys: Option<PathBuf>,
    /// SM4 (3rd generation, default) or 3DES (2nd generation).
    #[arg(long, value_enum, default_value = "sm4")]
    alg: Alg,
    /// Where to write the image.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct PsamArgs {
    /// The published test key set (the only kind this command makes; real PSAMs come from the
    /// key service).
    #[arg(long, required = true)]
    demo: bool,
    /// SM4 or 3DES.
    #[arg(long, value_enum, default_value = "sm4")]
    alg: Alg,
    /// Terminal number (12 digits).
    #[arg(long, default_value = "321200000001")]
    terminal_id: String,
    /// Device number.
    #[arg(long, default_value = "SSCARD-DEMO-0001")]
    device_id: String,
    /// Where to write the PSAM.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct VpcdArgs {
    /// The card image.
    image: PathBuf,
    /// vpcd's port.
    #[arg(long, default_value_t = 35963)]
    port: u16,
    /// vpcd's host (loopback).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
}

#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// A PC/SC reader (part of its name); without it and without `--image`, the first reader
    /// holding a card.
    #[arg(long, conflicts_with = "image")]
    reader: Option<String>,
    /// A card image, read in-process.
    #[arg(long)]
    image: Option<PathBuf>,
    /// The PSAM file.
    #[arg(long)]
    psam: PathBuf,
    /// The social-security PIN (then the medical file is read too).
    #[arg(long)]
    pin: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ApduArgs {
    /// A card image (in-process).
    #[arg(long, conflicts_with = "reader")]
    image: Option<PathBuf>,
    /// A PC/SC reader.
    #[arg(long)]
    reader: Option<String>,
    /// APDUs in hex (spaces allowed inside quotes).
    #[arg(required = true)]
    apdus: Vec<String>,
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("无法读取（cannot read） {}: {e}", path.display()))
}

fn load_image(path: &Path) -> anyhow::Result<CardImage> {
    let (image, test) = file::image_from_json(&read_text(path)?)?;
    if test {
        eprintln!("{TEST_KEY_WARNING}: {}", path.display());
    }
    Ok(image)
}

fn load_psam(path: &Path) -> anyhow::Result<Psam> {
    let (psam, test) = file::psam_from_json(&read_text(path)?)?;
    if test {
        eprintln!("{TEST_KEY_WARNING}: {}", path.display());
    }
    Ok(psam)
}

pub(crate) async fn run(g: &Global, c: ChipCommand) -> anyhow::Result<ExitCode> {
    match c {
        ChipCommand::Image(a) => image(g, a).await,
        ChipCommand::Psam(a) => {
            let alg = a.alg.into();
            let psam = Psam {
                terminal_id: a.terminal_id,
                device_id: a.device_id,
                keys: test_province_keys(alg),
                counter: 0,
            };
            std::fs::write(&a.out, file::psam_to_json(&psam, true))?;
            eprintln!("{TEST_KEY_WARNING}");
            println!("✓ PSAM 已写入（written）: {}", a.out.display());
            Ok(ExitCode::SUCCESS)
        }
        ChipCommand::Vpcd(a) => vpcd(&a),
        ChipCommand::Read(a) => read(g, &a),
        ChipCommand::Apdu(a) => apdu(&a),
    }
}

async fn image(g: &Global, a: ImageArgs) -> anyhow::Result<ExitCode> {
    let alg: Algorithm = a.alg.into();
    let (data, keys, test) = if a.demo {
        (IssueData::demo(), test_province_keys(alg), true)
    } else {
        let number = match CardNumber::parse(a.card.as_deref().unwrap_or_default()) {
            Ok(n) => n,
            Err(e) => return Ok(crate::output::invalid_argument("--card", &e, g.json)),
        };
        let Some(keys_path) = &a.keys else {
            eprintln!("✗ 需要省级密钥（province keys needed）: --keys PSAM_FILE");
            return Ok(ExitCode::from(2));
        };
        let (psam, test) = file::psam_from_json(&read_text(keys_path)?)?;
        let store = match Store::open(&g.db(), &StoreOptions::default()).await {
            Ok(s) => s,
            Err(e) => return Ok(store_error(&e, g.json)),
        };
        let card = match store.card(&g.ctx(), &number).await {
            Ok(c) => c,
            Err(e) => return Ok(store_error(&e, g.json)),
        };
        let (id, name) = match store.card_holder(&number).await {
            Ok(h) => h,
            Err(e) => return Ok(store_error(&e, g.json)),
        };
        let data = match issue_data(number, &card, &id, &name) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("✗ {e}");
                return Ok(ExitCode::from(1));
            }
        };
        (data, psam.keys, test)
    };
    let image = CardImage::issue(&data, &keys);
    std::fs::write(&a.out, file::image_to_json(&image, test))?;
    if test {
        eprintln!("{TEST_KEY_WARNING}");
    }
    if g.json {
        json_line(
            &serde_json::json!({ "out": a.out.display().to_string(), "card_number": data.card_number.as_str(), "test_keys": test }),
        );
    } else {
        println!(
            "✓ 卡片镜像已写入（card image written）: {} · {}",
            a.out.display(),
            data.card_number
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What a card's chip is personalised with, from the card and its holder in the database.
pub(crate) fn issue_data(
    number: CardNumber,
    card: &sscard_store::CardView,
    id: &sscard_ids::ResidentId,
    name: &sscard_ids::PersonName,
) -> anyhow::Result<IssueData> {
    let chip_name = name
        .chip_name()
        .map_err(|e| anyhow::anyhow!("姓名无法写入芯片（the name cannot go on the chip）: {e}"))?;
    let code = card
        .card_id_code
        .as_deref()
        .and_then(|c| CardIdCode::parse(c).ok())
        .ok_or_else(|| {
            anyhow::anyhow!("该卡没有卡识别码（the card has no identification code）")
        })?;
    Ok(IssueData {
        card_id_code: code,
        card_number: number,
        ssn: id.expose().to_owned(),
        name: chip_name,
        sex: id.sex().gb_code(),
        ethnicity: 1,
        birthplace: id.region().value(),
        birth_date: id.birth_date().format("%Y%m%d").to_string(),
        issue_date: card.issue_date.format("%Y%m%d").to_string(),
        expiry: card.expiry_date.format("%Y%m%d").to_string(),
        institution: "321200000001".into(),
        // The account number arrives with the bank's result file (production issue).
        pan: String::new(),
        photo: Vec::new(),
    })
}

fn vpcd(a: &VpcdArgs) -> anyhow::Result<ExitCode> {
    let image = load_image(&a.image)?;
    let mut card = SoftCard::new(image);
    let addr = format!("{}:{}", a.host, a.port);
    eprintln!("sscard chip vpcd: 连接 vpcd（connecting to vpcd） {addr} …");
    loop {
        match std::net::TcpStream::connect(&addr) {
            Ok(mut stream) => {
                eprintln!("✓ 已插入虚拟读卡器（card inserted into the virtual reader）");
                match sscard_chip::vpcd::serve_connection(&mut card, &mut stream) {
                    Ok(n) => eprintln!("vpcd 断开（disconnected） after {n} APDUs"),
                    Err(e) => eprintln!("vpcd 错误（error）: {e}"),
                }
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(500)),
        }
    }
}

fn session<T: Transport>(
    t: &mut Terminal<T>,
    pin: Option<&str>,
) -> Result<(String, serde_json::Value), sscard_chip::terminal::TerminalError> {
    let bas = t.read_card_bas()?;
    let basics = t.read_basics()?;
    t.internal_authenticate()?;
    t.external_authenticate()?;
    let photo = t.read_photo()?;
    let mut medical = serde_json::Value::Null;
    if let Some(pin) = pin {
        t.verify_pin(pin)?;
        let records = t.read_medical()?;
        medical = records
            .iter()
            .map(|(tag, v)| {
                // an items as text, cn (BCD) items as their digits.
                let shown = if v.iter().all(|b| b.is_ascii_graphic() || *b == 0) {
                    String::from_utf8_lossy(v).trim_end_matches('\0').to_owned()
                } else {
                    hex::encode_upper(v).trim_end_matches('F').to_owned()
                };
                (format!("{tag:02X}"), serde_json::json!(shown))
            })
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    let json = serde_json::json!({
        "region": basics.region, "ssn": basics.ssn, "card_number": basics.card_number,
        "card_id_code": basics.card_id_code, "name": basics.name, "atr_history": basics.atr_history,
        "version": basics.version, "issue_date": basics.issue_date, "expiry": basics.expiry,
        "sex": basics.sex, "birth_date": basics.birth_date,
        "internal_auth": "ok", "external_auth": "ok", "photo_bytes": photo.len(), "medical": medical, "reader_string": bas,
    });
    Ok((bas, json))
}

fn print_session(
    json_out: bool,
    result: Result<(String, serde_json::Value), sscard_chip::terminal::TerminalError>,
) -> ExitCode {
    match result {
        Ok((bas, json)) => {
            if json_out {
                json_line(&json);
            } else {
                println!("{bas}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("✗ {e}");
            ExitCode::from(1)
        }
    }
}

fn read(g: &Global, a: &ReadArgs) -> anyhow::Result<ExitCode> {
    let psam = load_psam(&a.psam)?;
    if let Some(path) = &a.image {
        let mut t = Terminal::new(InProcess::new(SoftCard::new(load_image(path)?)), psam);
        return Ok(print_session(g.json, session(&mut t, a.pin.as_deref())));
    }
    Ok(read_pcsc(g, a, psam))
}

#[cfg(feature = "pcsc")]
fn read_pcsc(g: &Global, a: &ReadArgs, psam: Psam) -> ExitCode {
    match sscard_chip::pcsc_transport::Pcsc::connect(a.reader.as_deref()) {
        Ok(transport) => {
            let mut t = Terminal::new(transport, psam);
            print_session(g.json, session(&mut t, a.pin.as_deref()))
        }
        Err(e) => {
            eprintln!("✗ {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(not(feature = "pcsc"))]
fn read_pcsc(_g: &Global, _a: &ReadArgs, _psam: Psam) -> ExitCode {
    eprintln!(
        "✗ 此版本未启用 PC/SC（built without PC/SC）: cargo build -p sscard --features pcsc (needs libpcsclite-dev); or use --image FILE"
    );
    ExitCode::from(2)
}

fn apdu(a: &ApduArgs) -> anyhow::Result<ExitCode> {
    let mut transport: Box<dyn Transport> = match &a.image {
        Some(path) => Box::new(InProcess::new(SoftCard::new(load_image(path)?))),
        None => apdu_pcsc(a.reader.as_deref())?,
    };
    for text in &a.apdus {
        let Ok(bytes) = hex::decode(text.replace([' ', ':'], "")) else {
            eprintln!("✗ 不是十六进制（not hex）: {text}");
            return Ok(ExitCode::from(2));
        };
        let response = transport
            .transmit(&bytes)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("> {}", hex::encode_upper(&bytes));
        println!("< {}", hex::encode_upper(&response));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "pcsc")]
fn apdu_pcsc(reader: Option<&str>) -> anyhow::Result<Box<dyn Transport>> {
    Ok(Box::new(
        sscard_chip::pcsc_transport::Pcsc::connect(reader).map_err(|e| anyhow::anyhow!("{e}"))?,
    ))
}

#[cfg(not(feature = "pcsc"))]
fn apdu_pcsc(_reader: Option<&str>) -> anyhow::Result<Box<dyn Transport>> {
    anyhow::bail!(
        "此版本未启用 PC/SC（built without PC/SC）: use --image FILE, or build with --features pcsc"
    )
}
