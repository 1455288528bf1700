//! The online card check's cryptography, shared by the terminal and the platform, and the key
//! service that holds the province keys.
//!
//! A check binds three things in one request:
//!
//! - **the card**: the terminal sends INTERNAL AUTHENTICATE with a factor and data derived from
//!   [`CheckBinding`] (the terminal number, its counter and the time); the card answers with its
//!   cryptogram, which only a card holding its diversified internal-authentication key can
//!   compute. The platform derives the same card key from the [`KeyService`] and compares. A
//!   clone — the same files on a card without the keys — cannot answer.
//! - **the terminal**: the request's [`request_mac`] is computed with the terminal's own
//!   authentication key, which the key service derives from its terminal master key and the
//!   terminal number (nothing secret is stored in the database). Changing any field breaks it.
//! - **the moment**: the counter only goes up (a request sent again is a replay) and the time
//!   must be close to the platform's clock.

use serde::{Deserialize, Serialize};
use sm3::{Digest, Sm3};
use zeroize::Zeroize;

use crate::card::CardImage;
use crate::crypto::{Algorithm, DiversificationFactor, Key16, cryptogram, ct_eq, sm4_cbc_mac};
use crate::issue::IssueData;
use crate::keys::{KeySet, KeyUsage, test_root_keys};
use crate::terminal::Psam;

const KEY_STORE_FORMAT: &str = "sscard-key-store/1";

/// The environment variable naming the key-store file of a deployment.
pub const KEY_STORE_ENV: &str = "SSCARD_KEY_STORE";

/// The keys of one province's card programme: the province keys of both algorithms (what a
/// PSAM is loaded with) and the master of the terminals' authentication keys. In production
/// this sits in a hardware security module; here it is a file readable only by the platform.
/// `Debug` prints no key.
#[derive(Clone)]
pub struct KeyService {
    province: u8,
    sm4: KeySet,
    tdes: KeySet,
    terminal_master: Key16,
    test: bool,
}

impl std::fmt::Debug for KeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyService")
            .field("province", &self.province)
            .field("test", &self.test)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct KeyStoreFile {
    format: String,
    test_keys: bool,
    province: u8,
    sm4: Vec<(String, String)>,
    tdes: Vec<(String, String)>,
    terminal_master: String,
}

/// Why a key store could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStoreError(pub String);

impl std::fmt::Display for KeyStoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyStoreError {}

fn usage_of(name: &str) -> Option<KeyUsage> {
    KeyUsage::ALL
        .into_iter()
        .find(|u| format!("{:02X}", u.id()) == name)
}

fn key_list(set: &KeySet) -> Vec<(String, String)> {
    set.usages()
        .map(|u| {
            (
                format!("{:02X}", u.id()),
                hex::encode_upper(set.get(u).expect("held").expose()),
            )
        })
        .collect()
}

fn key_set(alg: Algorithm, list: &[(String, String)]) -> Result<KeySet, KeyStoreError> {
    let bad = || KeyStoreError("密钥库内容有误（the key store is not understood）: keys".into());
    let mut keys = Vec::new();
    for (usage, key) in list {
        keys.push((
            usage_of(usage).ok_or_else(bad)?,
            Key16::from_hex(key).ok_or_else(bad)?,
        ));
    }
    Ok(KeySet::new(alg, keys))
}

impl KeyService {
    /// **TEST KEYS — NOT FOR PRODUCTION**: Jiangsu's province keys of the published test key
    /// set ([`test_root_keys`]) and a published terminal master.
    pub fn test() -> Self {
        let mut master = [0u8; 16];
        master.copy_from_slice(&Sm3::digest(b"sscard published test terminal master")[..16]);
        Self::from_roots(
            32,
            &test_root_keys(Algorithm::Sm4),
            &test_root_keys(Algorithm::Tdes),
            Key16::new(master),
            true,
        )
    }

    /// Fresh random keys for `province` (what `sscard keys generate` writes).
    pub fn generate(province: u8) -> Self {
        let random_set = |alg| {
            KeySet::new(
                alg,
                KeyUsage::ALL
                    .into_iter()
                    .map(|u| (u, Key16::new(rand::random())))
                    .collect(),
            )
        };
        Self::from_roots(
            province,
            &random_set(Algorithm::Sm4),
            &random_set(Algorithm::Tdes),
            Key16::new(rand::random()),
            false,
        )
    }

    fn from_roots(
        province: u8,
        sm4_root: &KeySet,
        tdes_root: &KeySet,
        terminal_master: Key16,
        test: bool,
    ) -> Self {
        let factor = DiversificationFactor::Province(province);
        Self {
            province,
            sm4: sm4_root.diversify(&factor),
            tdes: tdes_root.diversify(&factor),
            terminal_master,
            test,
        }
    }

    /// Whether these are the published test keys.
    pub fn is_test(&self) -> bool {
        self.test
    }

    /// The province code (32 for Jiangsu).
    pub fn province(&self) -> u8 {
        self.province
    }

    /// The province keys of an algorithm (every usage).
    pub fn province_keys(&self, alg: Algorithm) -> &KeySet {
        match alg {
            Algorithm::Sm4 => &self.sm4,
            Algorithm::Tdes => &self.tdes,
        }
    }

    /// A social-security PSAM for a terminal: the province's social-security keys (never the
    /// bank's), its terminal number and device number, counter at zero.
    pub fn psam(&self, alg: Algorithm, terminal_id: &str, device_id: &str) -> Psam {
        Psam {
            terminal_id: terminal_id.to_owned(),
            device_id: device_id.to_owned(),
            keys: self.province_keys(alg).only(&KeyUsage::SOCIAL_SECURITY),
            counter: 0,
        }
    }

    /// A terminal's own authentication key (SM4), derived from the terminal master and the
    /// terminal number: the platform never stores it.
    pub fn terminal_key(&self, terminal_number: &str) -> Key16 {
        let digest = Sm3::digest(format!("terminal:{terminal_number}").as_bytes());
        let factor: [u8; 8] = digest[..8].try_into().expect("8 bytes");
        self.terminal_master.diversify(Algorithm::Sm4, &factor)
    }

    /// Whether `cryptogram` is what the card `card_id_code` (of `alg`) answers to the
    /// INTERNAL AUTHENTICATE of `binding`.
    pub fn card_answer_ok(
        &self,
        alg: Algorithm,
        card_id_code: &str,
        binding: &CheckBinding,
        answer: &[u8],
    ) -> bool {
        let Some(expected) = expected_answer(self.province_keys(alg), card_id_code, binding) else {
            return false;
        };
        ct_eq(&expected, answer)
    }

    /// The platform's test card (the published specification sample, 张三 `X00000019`), issued
    /// on this key service's province keys: what `sscard terminal selftest` reads.
    pub fn test_card(&self) -> CardImage {
        CardImage::issue(&IssueData::demo(), &self.sm4)
    }

    /// The key store as JSON (secret: write it with owner-only permissions).
    pub fn to_json(&self) -> String {
        // Province keys are stored as such; the file holds no roots.
        let f = KeyStoreFile {
            format: KEY_STORE_FORMAT.into(),
            test_keys: self.test,
            province: self.province,
            sm4: key_list(&self.sm4),
            tdes: key_list(&self.tdes),
            terminal_master: hex::encode_upper(self.terminal_master.expose()),
        };
        serde_json::to_string_pretty(&f).expect("serialisable")
    }

    /// A key store from JSON.
    pub fn from_json(text: &str) -> Result<Self, KeyStoreError> {
        let mut f: KeyStoreFile = serde_json::from_str(text).map_err(|e| {
            KeyStoreError(format!(
                "密钥库内容有误（the key store is not understood）: {e}"
            ))
        })?;
        if f.format != KEY_STORE_FORMAT {
            return Err(KeyStoreError(
                "不是 sscard 密钥库（not an sscard key store: format）".into(),
            ));
        }
        let service = Self {
            province: f.province,
            sm4: key_set(Algorithm::Sm4, &f.sm4)?,
            tdes: key_set(Algorithm::Tdes, &f.tdes)?,
            terminal_master: Key16::from_hex(&f.terminal_master).ok_or_else(|| {
                KeyStoreError(
                    "密钥库内容有误（the key store is not understood）: terminal_master".into(),
                )
            })?,
            test: f.test_keys,
        };
        f.terminal_master.zeroize();
        for (_, k) in f.sm4.iter_mut().chain(f.tdes.iter_mut()) {
            k.zeroize();
        }
        Ok(service)
    }
}

fn expected_answer(
    province: &KeySet,
    card_id_code: &str,
    binding: &CheckBinding,
) -> Option<[u8; 8]> {
    let code = sscard_ids::CardIdCode::parse(card_id_code).ok()?;
    // The city level uses the prefecture: 3212xx cards are issued under 321200.
    let city = code.issuing_region().value() / 100 * 100;
    let keys = province.card_keys(city, code.chip_specific());
    let key = keys.get(KeyUsage::InternalAuth)?;
    Some(cryptogram(
        province.alg,
        &key.diversify(province.alg, &binding.factor()),
        &binding.data(),
    ))
}

/// What one check's INTERNAL AUTHENTICATE is bound to: the terminal, its counter, the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckBinding {
    digest: [u8; 32],
}

impl CheckBinding {
    /// The binding of terminal `terminal_number`'s check number `counter` at `time` (Unix
    /// seconds).
    pub fn new(terminal_number: &str, counter: u64, time: i64) -> Self {
        let mut h = Sm3::new();
        h.update(b"sscard-check/1|");
        h.update(terminal_number.as_bytes());
        h.update(b"|");
        h.update(counter.to_be_bytes());
        h.update(time.to_be_bytes());
        Self {
            digest: h.finalize().into(),
        }
    }

    /// The 8-byte diversification factor sent to the card.
    pub fn factor(&self) -> [u8; 8] {
        self.digest[..8].try_into().expect("8 bytes")
    }

    /// The 8 bytes the card encrypts.
    pub fn data(&self) -> [u8; 8] {
        self.digest[8..16].try_into().expect("8 bytes")
    }
}

/// The text a check request's MAC covers: every field, in order, `|`-separated.
pub fn request_text(
    terminal_number: &str,
    institution: &str,
    counter: u64,
    time: i64,
    card_number: &str,
    card_id_code: &str,
    card_cryptogram_hex: &str,
) -> String {
    format!(
        "{terminal_number}|{institution}|{counter}|{time}|{card_number}|{card_id_code}|{}",
        card_cryptogram_hex.to_ascii_uppercase()
    )
}

/// The terminal's MAC of a request text: SM4-CBC-MAC (zero IV, padding method 2) under the
/// terminal key, left 8 bytes.
pub fn request_mac(terminal_key: &Key16, text: &str) -> [u8; 8] {
    sm4_cbc_mac(terminal_key, &[0; 16], text.as_bytes())[..8]
        .try_into()
        .expect("8 bytes")
}

/// Whether `mac` is the terminal's MAC of `text`.
pub fn request_mac_ok(terminal_key: &Key16, text: &str, mac: &[u8]) -> bool {
    ct_eq(&request_mac(terminal_key, text), mac)
}

/// The body of `POST /api/v1/terminal/checks` (and `/selftest`): what the terminal read from
/// the card, the card's answer and the terminal's MAC, hex in upper case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckBody {
    /// Terminal number (12 digits).
    pub terminal: String,
    /// The institution the terminal is installed at (`fixmedins_code`).
    pub institution: String,
    /// The terminal's counter, above every counter it used before.
    pub counter: u64,
    /// The terminal's clock, Unix seconds.
    pub time: i64,
    /// Card number (EF05).
    pub card_number: String,
    /// Card identification code (EF05).
    pub card_id_code: String,
    /// The card's answer to the bound INTERNAL AUTHENTICATE (16 hex digits).
    pub card_cryptogram: String,
    /// The terminal's MAC of [`request_text`] (16 hex digits).
    pub mac: String,
    /// Self-test only: the PSAM's answer to the same INTERNAL AUTHENTICATE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psam_answer: Option<String>,
}

impl CheckBody {
    /// The text the MAC covers.
    pub fn mac_text(&self) -> String {
        request_text(
            &self.terminal,
            &self.institution,
            self.counter,
            self.time,
            &self.card_number,
            &self.card_id_code,
            &self.card_cryptogram,
        )
    }

    /// What the card's INTERNAL AUTHENTICATE was bound to.
    pub fn binding(&self) -> CheckBinding {
        CheckBinding::new(&self.terminal, self.counter, self.time)
    }
}

/// What a terminal read for one check.
#[derive(Debug, Clone)]
pub struct CardRead {
    /// The basic fields (`iReadCardBas`).
    pub basics: crate::terminal::CardBasics,
    /// The card's answer to the bound INTERNAL AUTHENTICATE.
    pub answer: [u8; 8],
    /// Whether the terminal's PSAM agrees with the answer (what an offline check relies on).
    pub psam_agrees: bool,
    /// The PSAM's own answer (for the self-test), when it could compute one.
    pub psam_answer: Option<[u8; 8]>,
}

/// Reads a card for a check: SELECT, EF05/EF06, INTERNAL AUTHENTICATE over the binding of
/// `terminal_number`, `counter` and `time`, and the PSAM's view of the answer.
pub fn read_for_check<T: crate::terminal::Transport, S: crate::terminal::SecurityModule>(
    terminal: &mut crate::terminal::Terminal<T, S>,
    terminal_number: &str,
    counter: u64,
    time: i64,
) -> Result<CardRead, crate::terminal::TerminalError> {
    let basics = terminal.read_basics()?;
    let binding = CheckBinding::new(terminal_number, counter, time);
    let answer = terminal.card_answer(&binding.factor(), &binding.data())?;
    let psam_answer = terminal
        .psam()
        .internal_expected(&basics.card_id_code, &binding.factor(), &binding.data())
        .ok();
    Ok(CardRead {
        psam_agrees: psam_answer.is_some_and(|p| ct_eq(&p, &answer)),
        psam_answer,
        basics,
        answer,
    })
}

/// The signed request body for a card read.
pub fn sign_check(
    terminal_key: &Key16,
    terminal_number: &str,
    institution: &str,
    counter: u64,
    time: i64,
    read: &CardRead,
) -> CheckBody {
    let mut body = CheckBody {
        terminal: terminal_number.to_owned(),
        institution: institution.to_owned(),
        counter,
        time,
        card_number: read.basics.card_number.clone(),
        card_id_code: read.basics.card_id_code.clone(),
        card_cryptogram: hex::encode_upper(read.answer),
        mac: String::new(),
        psam_answer: None,
    };
    body.mac = hex::encode_upper(request_mac(terminal_key, &body.mac_text()));
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::SoftCard;
    use crate::terminal::in_process;

    fn answer_of(image: CardImage, binding: &CheckBinding) -> Vec<u8> {
        let psam = KeyService::test().psam(Algorithm::Sm4, "321202000001", "T");
        let mut t = in_process(SoftCard::new(image), psam);
        t.read_basics().expect("basics");
        t.card_answer(&binding.factor(), &binding.data())
            .expect("answer")
            .to_vec()
    }

    #[test]
    fn the_platform_tells_a_genuine_card_from_a_clone() {
        let service = KeyService::test();
        let binding = CheckBinding::new("321202000001", 7, 1_800_000_000);
        let genuine = service.test_card();
        let code = hex::encode_upper(&genuine.ef05[0].1);
        let answer = answer_of(genuine.clone(), &binding);
        assert!(service.card_answer_ok(Algorithm::Sm4, &code, &binding, &answer));
        // Another counter, another answer: an old answer proves nothing.
        let later = CheckBinding::new("321202000001", 8, 1_800_000_000);
        assert!(!service.card_answer_ok(Algorithm::Sm4, &code, &later, &answer));
        // The same files on a card with other keys.
        let other = KeyService::generate(32);
        let clone = CardImage::issue(&IssueData::demo(), other.province_keys(Algorithm::Sm4));
        assert_eq!(clone.ef05, genuine.ef05);
        let forged = answer_of(clone, &binding);
        assert!(!service.card_answer_ok(Algorithm::Sm4, &code, &binding, &forged));
    }

    #[test]
    fn a_request_mac_covers_every_field() {
        let service = KeyService::test();
        let key = service.terminal_key("321202000001");
        let text = request_text(
            "321202000001",
            "H32120200001",
            1,
            2,
            "X00000019",
            "AB",
            "0011",
        );
        let mac = request_mac(&key, &text);
        assert!(request_mac_ok(&key, &text, &mac));
        let changed = request_text(
            "321202000001",
            "H32120200001",
            1,
            2,
            "X00000018",
            "AB",
            "0011",
        );
        assert!(!request_mac_ok(&key, &changed, &mac));
        assert!(!request_mac_ok(
            &service.terminal_key("321202000002"),
            &text,
            &mac
        ));
    }

    #[test]
    fn a_key_store_round_trips_without_printing_keys() {
        let service = KeyService::generate(32);
        let back = KeyService::from_json(&service.to_json()).expect("round trip");
        assert_eq!(back.to_json(), service.to_json());
        assert!(!back.is_test());
        let debug = format!("{back:?}");
        let master = hex::encode_upper(back.terminal_master.expose());
        assert!(!debug.contains(&master[..8]));
    }
}
