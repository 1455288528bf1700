//! Exchange files between the card centre and its partners, signed so that neither side acts on
//! a file the other did not write.
//!
//! Every file is UTF-8 text, one record a line (LF), fields separated by `|`:
//!
//! ```text
//! #SSCARD-EXCHANGE|1|ACCOUNT-OPEN|batch=3|partner=105|rows=2|created=2026-11-28T09:00:00Z
//! 1|321202198808081014|张三|1|19880808|13812345678|91321200MA1MXK8P05|泰州示例制药有限公司
//! 2|…
//! #SIG|HMAC-SM3|<64 hex digits>
//! ```
//!
//! The signature is HMAC-SM3 (GB/T 32905 inside RFC 2104) over every byte before the `#SIG`
//! line, under the key shared with that partner ([`ExchangeKey::derive`]). Kinds and their
//! columns are in [`Kind::columns`]; the card order travels as a ZIP holding `order.txt` and
//! `photos/<seq>.jpg`, each photo's SHA-256 inside the signed order. `docs/exchange-formats.md`
//! describes the same with examples.

mod sim;

use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use sscard_ids::Bilingual;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

pub use sim::{FailPlan, PaymentFailPlan, sim_bank, sim_bank_payments, sim_factory};

type HmacSm3 = Hmac<sm3::Sm3>;

/// The format version this crate writes and reads.
pub const VERSION: &str = "1";
const MAGIC: &str = "#SSCARD-EXCHANGE";
const SIG: &str = "#SIG|HMAC-SM3|";

/// A key shared with one partner (32 bytes), wiped when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ExchangeKey([u8; 32]);

impl std::fmt::Debug for ExchangeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExchangeKey(…)")
    }
}

/// The published demo secret: exchange files signed with keys derived from it prove nothing.
/// `sscard` uses it only when `SSCARD_EXCHANGE_SECRET` is not set, and says so.
pub const DEMO_SECRET: &[u8] = b"sscard demo exchange secret - not for production";

impl ExchangeKey {
    /// The key for one partner (a bank code such as `105`, a factory code such as `FAC01`),
    /// derived from the centre's secret: HMAC-SM3(secret, "sscard-exchange/v1/" ‖ partner).
    pub fn derive(secret: &[u8], partner: &str) -> ExchangeKey {
        let mut mac = HmacSm3::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(b"sscard-exchange/v1/");
        mac.update(partner.as_bytes());
        ExchangeKey(mac.finalize().into_bytes().into())
    }

    fn tag(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = HmacSm3::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Centre → bank: open an account for each person.
    AccountOpen,
    /// Bank → centre: an account number, or why not, per person.
    AccountResult,
    /// Centre → factory: make these cards (with the photos beside it in the ZIP).
    CardOrder,
    /// Factory → centre: the chip serial of each card made, or why not.
    CardResult,
    /// Centre → bank: benefit payments (代发) to card accounts, one send of one batch.
    PaymentOrder,
    /// Bank → centre: the outcome of each payment row.
    PaymentResult,
    /// Centre → bank: social-security events that concern card accounts (the daily status
    /// exchange; `batch` is the export's number).
    StatusToBank,
    /// Bank → centre: financial status changes of card accounts (`batch` is the bank's file
    /// number).
    StatusFromBank,
}

impl Kind {
    /// The name in the header line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AccountOpen => "ACCOUNT-OPEN",
            Kind::AccountResult => "ACCOUNT-RESULT",
            Kind::CardOrder => "CARD-ORDER",
            Kind::CardResult => "CARD-RESULT",
            Kind::PaymentOrder => "PAYMENT-ORDER",
            Kind::PaymentResult => "PAYMENT-RESULT",
            Kind::StatusToBank => "STATUS-TO-BANK",
            Kind::StatusFromBank => "STATUS-FROM-BANK",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        [
            Kind::AccountOpen,
            Kind::AccountResult,
            Kind::CardOrder,
            Kind::CardResult,
            Kind::PaymentOrder,
            Kind::PaymentResult,
            Kind::StatusToBank,
            Kind::StatusFromBank,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The columns of each record, in order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::AccountOpen => &[
                "seq",
                "ssn",
                "name",
                "sex",
                "birth_date",
                "phone",
                "employer_code",
                "employer_name",
            ],
            Kind::AccountResult => &["seq", "ssn", "result", "account_or_code", "reason"],
            Kind::CardOrder => &[
                "seq",
                "ssn",
                "name",
                "sex",
                "birth_date",
                "card_number",
                "bank_code",
                "account",
                "issue_date",
                "expiry_date",
                "photo_sha256",
            ],
            Kind::CardResult => &[
                "seq",
                "card_number",
                "result",
                "chip_serial_or_code",
                "reason",
            ],
            Kind::PaymentOrder => &[
                "seq", "attempt", "send", "ssn", "name", "account", "amount", "kind", "period",
            ],
            Kind::PaymentResult => &["seq", "attempt", "send", "account", "amount", "outcome"],
            Kind::StatusToBank => &["seq", "card_number", "account", "event", "detail", "at"],
            Kind::StatusFromBank => &["ref", "card_number", "event", "account", "at"],
        }
    }
}

/// A parsed (or to-be-written) exchange file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// What it is.
    pub kind: Kind,
    /// The centre's batch number.
    pub batch: i64,
    /// The partner: bank code or factory code.
    pub partner: String,
    /// When it was written (RFC 3339).
    pub created: String,
    /// The records, each with [`Kind::columns`] fields.
    pub rows: Vec<Vec<String>>,
}

/// Why a file was refused. Nothing of a refused file is acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeError {
    /// It does not start with the exchange header.
    NotExchangeFile,
    /// The header line is malformed.
    BadHeader { detail: String },
    /// A file of another kind, batch or partner than expected.
    Unexpected { expected: String, found: String },
    /// The signature is missing or does not match: altered, or signed with another key.
    BadSignature,
    /// The header's row count differs from the records present (a truncated file).
    RowCount { declared: usize, found: usize },
    /// A record has the wrong number of fields.
    BadRow { line: usize, detail: String },
    /// A value to write holds `|`, a line break or another control character.
    UnwritableField { field: String },
    /// The card-order ZIP lacks `order.txt` or a photo, or a photo does not match its hash.
    Package { detail: String },
}

impl Bilingual for ExchangeError {
    fn code(&self) -> &'static str {
        match self {
            ExchangeError::NotExchangeFile => "exchange.not_exchange_file",
            ExchangeError::BadHeader { .. } => "exchange.bad_header",
            ExchangeError::Unexpected { .. } => "exchange.unexpected",
            ExchangeError::BadSignature => "exchange.bad_signature",
            ExchangeError::RowCount { .. } => "exchange.row_count",
            ExchangeError::BadRow { .. } => "exchange.bad_row",
            ExchangeError::UnwritableField { .. } => "exchange.unwritable_field",
            ExchangeError::Package { .. } => "exchange.package",
        }
    }
    fn zh(&self) -> String {
        match self {
            ExchangeError::NotExchangeFile => {
                "不是交换文件（首行应为 #SSCARD-EXCHANGE），请确认选择了正确的文件".into()
            }
            ExchangeError::BadHeader { detail } => format!("交换文件首行格式有误（{detail}）"),
            ExchangeError::Unexpected { expected, found } => {
                format!("文件不符：应为 {expected}，实为 {found}")
            }
            ExchangeError::BadSignature => {
                "签名校验失败：文件被改动过，或不是该合作方签发的，已拒绝，未做任何处理".into()
            }
            ExchangeError::RowCount { declared, found } => {
                format!("文件声明 {declared} 条记录，实际 {found} 条，文件可能不完整，请重新获取")
            }
            ExchangeError::BadRow { line, detail } => format!("第 {line} 行记录有误（{detail}）"),
            ExchangeError::UnwritableField { field } => {
                format!("字段“{field}”含有分隔符或换行，无法写入交换文件")
            }
            ExchangeError::Package { detail } => format!("制卡数据包有误（{detail}）"),
        }
    }
    fn en(&self) -> String {
        match self {
            ExchangeError::NotExchangeFile => "not an exchange file (line 1 must start with #SSCARD-EXCHANGE); check the file chosen".into(),
            ExchangeError::BadHeader { detail } => format!("the exchange file's header is malformed ({detail})"),
            ExchangeError::Unexpected { expected, found } => format!("wrong file: expected {expected}, found {found}"),
            ExchangeError::BadSignature => "the signature does not verify: the file was altered or not signed by this partner; refused, nothing done".into(),
            ExchangeError::RowCount { declared, found } => {
                format!("the file declares {declared} records but holds {found}; it may be truncated, fetch it again")
            }
            ExchangeError::BadRow { line, detail } => format!("record on line {line} is malformed ({detail})"),
            ExchangeError::UnwritableField { field } => format!("the field \"{field}\" holds a separator or line break and cannot be written"),
            ExchangeError::Package { detail } => format!("the card-order package is malformed ({detail})"),
        }
    }
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}（{}）", self.zh(), self.en())
    }
}

impl std::error::Error for ExchangeError {}

impl Envelope {
    /// A new file of `kind`.
    pub fn new(kind: Kind, batch: i64, partner: &str, created: &str) -> Envelope {
        Envelope {
            kind,
            batch,
            partner: partner.to_owned(),
            created: created.to_owned(),
            rows: Vec::new(),
        }
    }

    /// The signed bytes.
    pub fn to_bytes(&self, key: &ExchangeKey) -> Result<Vec<u8>, ExchangeError> {
        let mut body = String::new();
        for row in &self.rows {
            for (i, field) in row.iter().enumerate() {
                if field.contains('|') || field.chars().any(char::is_control) {
                    return Err(ExchangeError::UnwritableField {
                        field: self
                            .kind
                            .columns()
                            .get(i)
                            .copied()
                            .unwrap_or("?")
                            .to_owned(),
                    });
                }
                if i > 0 {
                    body.push('|');
                }
                body.push_str(field);
            }
            body.push('\n');
        }
        sign_lines(
            self.kind,
            self.batch,
            &self.partner,
            &self.created,
            self.rows.len(),
            &body,
            key,
        )
    }

    /// Parses and verifies a file signed with `key`. The signature is checked before any record
    /// is looked at.
    pub fn parse(bytes: &[u8], key: &ExchangeKey) -> Result<Envelope, ExchangeError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ExchangeError::NotExchangeFile)?;
        if !text.starts_with(MAGIC) {
            return Err(ExchangeError::NotExchangeFile);
        }
        let sig_at = text
            .rfind(&format!("\n{SIG}"))
            .ok_or(ExchangeError::BadSignature)?
            + 1;
        let (signed, sig_line) = text.split_at(sig_at);
        let given = hex::decode(sig_line[SIG.len()..].trim_end())
            .map_err(|_| ExchangeError::BadSignature)?;
        let expected = key.tag(signed.as_bytes());
        if given.len() != expected.len() || !bool::from(given.as_slice().ct_eq(&expected)) {
            return Err(ExchangeError::BadSignature);
        }
        let mut lines = signed.lines();
        let header = lines.next().unwrap_or_default();
        let parts: Vec<&str> = header.split('|').collect();
        if parts.len() != 7 || parts[1] != VERSION {
            return Err(ExchangeError::BadHeader {
                detail: format!(
                    "{} fields, version {}",
                    parts.len(),
                    parts.get(1).unwrap_or(&"?")
                ),
            });
        }
        let kind = Kind::parse(parts[2]).ok_or_else(|| ExchangeError::BadHeader {
            detail: format!("kind {}", parts[2]),
        })?;
        let value = |i: usize, name: &str| -> Result<String, ExchangeError> {
            parts[i]
                .strip_prefix(name)
                .and_then(|v| v.strip_prefix('='))
                .map(str::to_owned)
                .ok_or_else(|| ExchangeError::BadHeader {
                    detail: format!("{name}="),
                })
        };
        let batch = value(3, "batch")?
            .parse()
            .map_err(|_| ExchangeError::BadHeader {
                detail: "batch".into(),
            })?;
        let partner = value(4, "partner")?;
        let declared: usize = value(5, "rows")?
            .parse()
            .map_err(|_| ExchangeError::BadHeader {
                detail: "rows".into(),
            })?;
        let created = value(6, "created")?;
        let width = kind.columns().len();
        let mut rows = Vec::with_capacity(declared);
        for (i, line) in lines.enumerate() {
            let fields: Vec<String> = line.split('|').map(str::to_owned).collect();
            if fields.len() != width {
                return Err(ExchangeError::BadRow {
                    line: i + 2,
                    detail: format!("{} fields, {width} expected", fields.len()),
                });
            }
            rows.push(fields);
        }
        if rows.len() != declared {
            return Err(ExchangeError::RowCount {
                declared,
                found: rows.len(),
            });
        }
        Ok(Envelope {
            kind,
            batch,
            partner,
            created,
            rows,
        })
    }

    /// Checks the file is the one expected.
    pub fn expect(&self, kind: Kind, batch: i64, partner: &str) -> Result<(), ExchangeError> {
        if self.kind != kind || self.batch != batch || self.partner != partner {
            return Err(ExchangeError::Unexpected {
                expected: format!("{} batch={batch} partner={partner}", kind.as_str()),
                found: format!(
                    "{} batch={} partner={}",
                    self.kind.as_str(),
                    self.batch,
                    self.partner
                ),
            });
        }
        Ok(())
    }
}

/// The signed bytes of a file whose records are already written as `body` (one record a line,
/// each ending in LF, fields separated by `|`): for files of a million rows, written without
/// a record per row in memory. Each line is checked to have the kind's number of fields and no
/// control character, and the lines to number `rows`.
pub fn sign_lines(
    kind: Kind,
    batch: i64,
    partner: &str,
    created: &str,
    rows: usize,
    body: &str,
    key: &ExchangeKey,
) -> Result<Vec<u8>, ExchangeError> {
    let width = kind.columns().len();
    let mut found = 0;
    for (i, line) in body.split_terminator('\n').enumerate() {
        if line.split('|').count() != width {
            return Err(ExchangeError::BadRow {
                line: i + 2,
                detail: format!("{} fields, {width} expected", line.split('|').count()),
            });
        }
        if line.chars().any(char::is_control) {
            return Err(ExchangeError::UnwritableField {
                field: format!("line {}", i + 2),
            });
        }
        found += 1;
    }
    if found != rows || !(body.is_empty() || body.ends_with('\n')) {
        return Err(ExchangeError::RowCount {
            declared: rows,
            found,
        });
    }
    let mut text = format!(
        "{MAGIC}|{VERSION}|{}|batch={batch}|partner={partner}|rows={rows}|created={created}\n",
        kind.as_str()
    );
    text.reserve(body.len() + 80);
    text.push_str(body);
    let tag = key.tag(text.as_bytes());
    let _ = writeln!(text, "{SIG}{}", hex::encode(tag));
    Ok(text.into_bytes())
}

/// The partner a file's header names, read without verifying anything: only to choose the key
/// to verify the file with.
pub fn partner_of(bytes: &[u8]) -> Result<String, ExchangeError> {
    let end = bytes
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(bytes.len());
    let header = std::str::from_utf8(&bytes[..end]).map_err(|_| ExchangeError::NotExchangeFile)?;
    if !header.starts_with(MAGIC) {
        return Err(ExchangeError::NotExchangeFile);
    }
    header
        .split('|')
        .find_map(|f| f.strip_prefix("partner="))
        .map(str::to_owned)
        .ok_or_else(|| ExchangeError::BadHeader {
            detail: "partner=".into(),
        })
}

/// A card order with its photos: `order.txt` (the signed [`Kind::CardOrder`] file) and
/// `photos/<seq>.jpg`.
pub fn pack_card_order(order: &[u8], photos: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("order.txt", opts).expect("in-memory ZIP");
        zip.write_all(order).expect("in-memory ZIP");
        for (seq, jpeg) in photos {
            zip.start_file(format!("photos/{seq}.jpg"), opts)
                .expect("in-memory ZIP");
            zip.write_all(jpeg).expect("in-memory ZIP");
        }
        zip.finish().expect("in-memory ZIP");
    }
    out.into_inner()
}

/// A verified card order and each record's photo (`None`: missing or not the one ordered).
pub type OpenedOrder = (Envelope, Vec<Option<Vec<u8>>>);

/// Opens a card order: verifies `order.txt` with `key`, and returns each record's photo after
/// checking it against the SHA-256 in the signed order (`None` where the photo is missing or
/// does not match).
pub fn open_card_order(zip_bytes: &[u8], key: &ExchangeKey) -> Result<OpenedOrder, ExchangeError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).map_err(|e| {
        ExchangeError::Package {
            detail: e.to_string(),
        }
    })?;
    let read = |zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, name: &str| -> Option<Vec<u8>> {
        let mut entry = zip.by_name(name).ok()?;
        let mut data = Vec::new();
        (&mut entry).take(8 << 20).read_to_end(&mut data).ok()?;
        Some(data)
    };
    let order = read(&mut zip, "order.txt").ok_or_else(|| ExchangeError::Package {
        detail: "order.txt missing".into(),
    })?;
    let envelope = Envelope::parse(&order, key)?;
    if envelope.kind != Kind::CardOrder {
        return Err(ExchangeError::Unexpected {
            expected: Kind::CardOrder.as_str().into(),
            found: envelope.kind.as_str().into(),
        });
    }
    let photos = envelope
        .rows
        .iter()
        .map(|r| {
            let data = read(&mut zip, &format!("photos/{}.jpg", r[0]))?;
            (hex::encode(Sha256::digest(&data)) == r[10]).then_some(data)
        })
        .collect();
    Ok((envelope, photos))
}
