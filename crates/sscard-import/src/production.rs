//! The production chain of a batch, with files: account-opening files to the partner banks and
//! their results, the card order (with photos) to the factory and its result, key
//! personalisation of each card made (card images written by `sscard-chip`), and receipt at
//! the outlet. Every file exchanged is signed and checked (`sscard-exchange`); every step can be
//! run again: a second send includes only rows not yet answered or answered with a failure, and
//! a result row for a row not waiting for it is counted as ignored, never applied twice.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};
use sscard_chip::card::CardImage;
use sscard_chip::issue::IssueData;
use sscard_chip::keys::KeySet;
use sscard_exchange::{DEMO_SECRET, Envelope, ExchangeError, ExchangeKey, Kind};
use sscard_ids::{CardIdCode, CardNumber, PersonName};
use sscard_store::{Ctx, ProductionRow, StepReport, StepResult, Store, StoreError};

/// The default card factory's code.
pub const DEFAULT_FACTORY: &str = "FAC01";

/// Why a production step failed. Nothing of a refused file was applied.
#[derive(Debug)]
pub enum ProductionError {
    /// The store refused or failed.
    Store(StoreError),
    /// An exchange file was refused (signature, kind, batch, truncation).
    Exchange(ExchangeError),
    /// A file could not be written or read.
    Io(std::io::Error),
}

impl std::fmt::Display for ProductionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProductionError::Store(e) => write!(f, "{e}"),
            ProductionError::Exchange(e) => write!(f, "{e}"),
            ProductionError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ProductionError {}

impl From<StoreError> for ProductionError {
    fn from(e: StoreError) -> Self {
        ProductionError::Store(e)
    }
}
impl From<ExchangeError> for ProductionError {
    fn from(e: ExchangeError) -> Self {
        ProductionError::Exchange(e)
    }
}
impl From<std::io::Error> for ProductionError {
    fn from(e: std::io::Error) -> Self {
        ProductionError::Io(e)
    }
}

/// The centre's exchange secret, from which every partner's key is derived: read once at start
/// from `SSCARD_EXCHANGE_SECRET` (hex), or the published demo secret when asked for explicitly
/// (`sscard demo`, `--demo-keys`). Zeroized when dropped; `Debug` prints nothing of it.
#[derive(Clone)]
pub struct ExchangeKeys {
    secret: zeroize::Zeroizing<Vec<u8>>,
    /// Whether this is the published demo secret (files prove nothing).
    pub demo: bool,
}

impl std::fmt::Debug for ExchangeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeKeys")
            .field("secret", &"***")
            .field("demo", &self.demo)
            .finish()
    }
}

/// The environment variable with the exchange secret.
pub const EXCHANGE_SECRET_ENV: &str = "SSCARD_EXCHANGE_SECRET";

/// Why the exchange secret cannot be used; the message says how to set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretError {
    /// Not set.
    Missing,
    /// Not hex.
    NotHex,
    /// Shorter than 16 bytes.
    TooShort,
}

impl sscard_ids::Bilingual for SecretError {
    fn code(&self) -> &'static str {
        match self {
            SecretError::Missing => "secret.exchange_missing",
            SecretError::NotHex | SecretError::TooShort => "secret.exchange_malformed",
        }
    }

    fn zh(&self) -> String {
        let what = match self {
            SecretError::Missing => "未设置",
            SecretError::NotHex => "不是十六进制数字",
            SecretError::TooShort => "短于 16 字节（32 位十六进制数字）",
        };
        format!(
            "交换文件密钥 {EXCHANGE_SECRET_ENV} {what}：请设置为至少 32 位十六进制数字（例如 `export {EXCHANGE_SECRET_ENV}=$(openssl rand -hex 32)`，与合作银行、卡厂约定），或仅在演示时加 --demo-keys 使用公开的演示密钥"
        )
    }

    fn en(&self) -> String {
        let what = match self {
            SecretError::Missing => "is not set",
            SecretError::NotHex => "is not hex",
            SecretError::TooShort => "is shorter than 16 bytes (32 hex digits)",
        };
        format!(
            "the exchange secret {EXCHANGE_SECRET_ENV} {what}: set it to at least 32 hex digits (e.g. `export {EXCHANGE_SECRET_ENV}=$(openssl rand -hex 32)`, agreed with the partner banks and the factory), or for a demonstration only pass --demo-keys to use the published demo secret"
        )
    }
}

impl std::fmt::Display for SecretError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use sscard_ids::Bilingual as _;
        write!(f, "{}（{}）", self.zh(), self.en())
    }
}

impl std::error::Error for SecretError {}

impl ExchangeKeys {
    /// The secret from hex text (at least 16 bytes).
    pub fn from_hex(text: &str) -> Result<ExchangeKeys, SecretError> {
        let secret =
            zeroize::Zeroizing::new(hex::decode(text.trim()).map_err(|_| SecretError::NotHex)?);
        if secret.len() < 16 {
            return Err(SecretError::TooShort);
        }
        Ok(ExchangeKeys {
            secret,
            demo: false,
        })
    }

    /// From [`EXCHANGE_SECRET_ENV`]; never falls back to the demo secret.
    pub fn from_env() -> Result<ExchangeKeys, SecretError> {
        let text = zeroize::Zeroizing::new(
            std::env::var(EXCHANGE_SECRET_ENV).map_err(|_| SecretError::Missing)?,
        );
        Self::from_hex(&text)
    }

    /// The demo secret when `demo` is asked for, else the environment's.
    pub fn resolve(demo: bool) -> Result<ExchangeKeys, SecretError> {
        if demo {
            Ok(Self::demo())
        } else {
            Self::from_env()
        }
    }

    /// The published demo secret.
    pub fn demo() -> ExchangeKeys {
        ExchangeKeys {
            secret: zeroize::Zeroizing::new(DEMO_SECRET.to_vec()),
            demo: true,
        }
    }

    /// The key shared with one partner (both directions).
    pub fn partner(&self, code: &str) -> ExchangeKey {
        ExchangeKey::derive(&self.secret, code)
    }
}

fn now_text(ctx: &Ctx) -> String {
    ctx.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Writes one account-opening file per bank for every row now with a bank (new rows and
/// earlier failures are sent; 10 → 20). Returns the files written.
pub async fn send_to_banks(
    store: &Store,
    ctx: &Ctx,
    number: i64,
    keys: &ExchangeKeys,
    out: &Path,
) -> Result<Vec<PathBuf>, ProductionError> {
    let rows = store.send_to_bank(ctx, number).await?;
    std::fs::create_dir_all(out)?;
    let mut banks: Vec<&str> = rows.iter().map(|r| r.bank_code.as_str()).collect();
    banks.dedup();
    let mut written = Vec::new();
    for bank in banks {
        let mut e = Envelope::new(Kind::AccountOpen, number, bank, &now_text(ctx));
        for (i, r) in rows.iter().filter(|r| r.bank_code == bank).enumerate() {
            e.rows.push(vec![
                (i + 1).to_string(),
                r.ssn.clone(),
                r.name.clone(),
                r.sex.to_string(),
                r.birth_date.format("%Y%m%d").to_string(),
                r.phone.clone().unwrap_or_default(),
                r.employer_code.clone(),
                r.employer_name.clone(),
            ]);
        }
        let path = out.join(format!("B{number:06}-{bank}-ACCOUNT-OPEN.txt"));
        std::fs::write(&path, e.to_bytes(&keys.partner(bank))?)?;
        written.push(path);
    }
    Ok(written)
}

fn results_of(e: &Envelope) -> Vec<(String, StepResult)> {
    e.rows
        .iter()
        .map(|r| {
            let result = if r[2] == "OK" {
                StepResult::Ok(r[3].clone())
            } else {
                StepResult::Failed {
                    code: r[3].clone(),
                    reason: r[4].clone(),
                }
            };
            (r[1].clone(), result)
        })
        .collect()
}

/// Applies a bank's signed result file (verified with that bank's key; 20 → 21 when no row
/// waits for a bank any more).
pub async fn record_bank_file(
    store: &Store,
    ctx: &Ctx,
    number: i64,
    keys: &ExchangeKeys,
    file: &[u8],
) -> Result<StepReport, ProductionError> {
    let bank = sscard_exchange::partner_of(file)?;
    let e = Envelope::parse(file, &keys.partner(&bank))?;
    e.expect(Kind::AccountResult, number, &bank)?;
    Ok(store
        .record_bank_results(ctx, number, &bank, &results_of(&e))
        .await?)
}

fn card_dates(ctx: &Ctx) -> (NaiveDate, NaiveDate) {
    let issue = ctx
        .at
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .date_naive();
    let expiry = issue
        .with_year(issue.year() + 10)
        .unwrap_or(issue)
        .pred_opt()
        .unwrap_or(issue);
    (issue, expiry)
}

/// Writes the card order for every row now with the factory (card numbers given; 21 → 30):
/// a ZIP with the signed `order.txt` and each photo. Returns the package's path.
pub async fn send_to_factory(
    store: &Store,
    ctx: &Ctx,
    number: i64,
    keys: &ExchangeKeys,
    factory: &str,
    out: &Path,
) -> Result<PathBuf, ProductionError> {
    store.send_to_factory(ctx, number).await?;
    let rows = store.production_rows(number, &["factory_sent"]).await?;
    let (issue, expiry) = card_dates(ctx);
    let mut e = Envelope::new(Kind::CardOrder, number, factory, &now_text(ctx));
    let mut photos = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let seq = (i + 1).to_string();
        let sha = r
            .photo
            .as_ref()
            .map(|p| hex::encode(Sha256::digest(p)))
            .unwrap_or_default();
        if let Some(p) = &r.photo {
            photos.push((seq.clone(), p.clone()));
        }
        e.rows.push(vec![
            seq,
            r.ssn.clone(),
            r.name.clone(),
            r.sex.to_string(),
            r.birth_date.format("%Y%m%d").to_string(),
            r.card_number.clone().unwrap_or_default(),
            r.bank_code.clone(),
            r.account_number.clone().unwrap_or_default(),
            issue.format("%Y%m%d").to_string(),
            expiry.format("%Y%m%d").to_string(),
            sha,
        ]);
    }
    std::fs::create_dir_all(out)?;
    let path = out.join(format!("B{number:06}-{factory}-CARD-ORDER.zip"));
    std::fs::write(
        &path,
        sscard_exchange::pack_card_order(&e.to_bytes(&keys.partner(factory))?, &photos),
    )?;
    Ok(path)
}

/// Applies the factory's signed result (30 → 31 when no row waits for the factory).
pub async fn record_factory_file(
    store: &Store,
    ctx: &Ctx,
    number: i64,
    keys: &ExchangeKeys,
    file: &[u8],
) -> Result<StepReport, ProductionError> {
    let factory = sscard_exchange::partner_of(file)?;
    let e = Envelope::parse(file, &keys.partner(&factory))?;
    e.expect(Kind::CardResult, number, &factory)?;
    Ok(store
        .record_factory_results(ctx, number, &results_of(&e))
        .await?)
}

/// The data a chip is personalised with, from a made row.
pub fn issue_data(row: &ProductionRow, institution: &str) -> Result<IssueData, String> {
    let id =
        sscard_ids::ResidentId::parse_on(&row.ssn, NaiveDate::MAX).map_err(|e| e.to_string())?;
    let name = PersonName::parse(&row.name).map_err(|e| e.to_string())?;
    let card_number = CardNumber::parse(row.card_number.as_deref().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let card_id_code = CardIdCode::parse(row.card_id_code.as_deref().unwrap_or_default())
        .map_err(|e| format!("card identification code: {e}"))?;
    let (Some(issue), Some(expiry)) = (row.issue_date, row.expiry_date) else {
        return Err("the card is not made yet".into());
    };
    Ok(IssueData {
        card_id_code,
        card_number,
        ssn: id.expose().to_owned(),
        name: name.chip_name().map_err(|e| e.to_string())?,
        sex: id.sex().gb_code(),
        ethnicity: 1,
        birthplace: id.region().value(),
        birth_date: id.birth_date().format("%Y%m%d").to_string(),
        issue_date: issue.format("%Y%m%d").to_string(),
        expiry: expiry.format("%Y%m%d").to_string(),
        institution: institution.to_owned(),
        pan: row.account_number.clone().unwrap_or_default(),
        photo: row.chip_photo.clone().unwrap_or_default(),
    })
}

/// Personalises every made card with the province keys (card keys diversified per card by
/// `sscard-chip`) and writes `out/<card number>.json` card images; 31 → 41.
pub async fn personalise(
    store: &Store,
    ctx: &Ctx,
    number: i64,
    province_keys: &KeySet,
    test_keys: bool,
    out: &Path,
) -> Result<(StepReport, Vec<PathBuf>), ProductionError> {
    let rows = store.production_rows(number, &["made"]).await?;
    std::fs::create_dir_all(out)?;
    let mut cards = Vec::new();
    let mut written = Vec::new();
    for r in &rows {
        let data = issue_data(r, "321200000001").map_err(|detail| {
            ProductionError::Store(StoreError::Database {
                detail: format!("personalisation data: {detail}"),
            })
        })?;
        let image = CardImage::issue(&data, province_keys);
        let path = out.join(format!("{}.json", data.card_number.as_str()));
        std::fs::write(&path, sscard_chip::file::image_to_json(&image, test_keys))?;
        cards.push(data.card_number);
        written.push(path);
    }
    let report = store.record_personalised(ctx, number, &cards).await?;
    Ok((report, written))
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn the_secret_never_prints_and_a_bad_one_is_refused() {
        let keys = ExchangeKeys::from_hex(&"5a".repeat(32)).expect("valid");
        let debug = format!("{keys:?}");
        assert!(!debug.contains("5a5a"), "{debug}");
        assert_eq!(
            ExchangeKeys::from_hex("zz").map(|_| ()),
            Err(SecretError::NotHex)
        );
        assert_eq!(
            ExchangeKeys::from_hex("abcd").map(|_| ()),
            Err(SecretError::TooShort)
        );
        assert!(ExchangeKeys::resolve(true).expect("demo").demo);
    }
}
