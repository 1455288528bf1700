//! Card images and PSAMs as JSON files.
//!
//! A card image is the whole card — files, counters **and the card's own keys** — so it is as
//! secret as the card itself. Files built from the published test key set say so in
//! `"test_keys": true`, and every tool that loads one prints a warning.

use serde::{Deserialize, Serialize};

use crate::card::{CardImage, Record};
use crate::crypto::{Algorithm, Key16};
use crate::keys::{KeySet, KeyUsage};
use crate::terminal::Psam;

const IMAGE_FORMAT: &str = "sscard-card-image/1";
const PSAM_FORMAT: &str = "sscard-psam/1";

#[derive(Serialize, Deserialize)]
struct KeyFile {
    usage: String,
    key: String,
}

#[derive(Serialize, Deserialize)]
struct ImageFile {
    format: String,
    test_keys: bool,
    alg: String,
    atr: String,
    keys: Vec<KeyFile>,
    ef05: Vec<(String, String)>,
    ef06: Vec<(String, String)>,
    photo: String,
    medical: Vec<(String, String)>,
    #[serde(default)]
    df_records: Vec<Vec<(String, String)>>,
    #[serde(default)]
    fingerprint: String,
    pin: String,
    pin_tries: u8,
    pin_max_tries: u8,
    ext_auth_tries: u8,
    pan: String,
    bank_pin: String,
    bank_pin_tries: u8,
    bank_protected: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct PsamFile {
    format: String,
    test_keys: bool,
    alg: String,
    terminal_id: String,
    device_id: String,
    keys: Vec<KeyFile>,
    counter: u32,
}

/// Why a file could not be read.
#[derive(Debug)]
pub struct FileError(pub String);

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FileError {}

fn bad(what: &str) -> FileError {
    FileError(format!("文件内容有误（file not understood）: {what}"))
}

fn alg_name(a: Algorithm) -> &'static str {
    match a {
        Algorithm::Sm4 => "sm4",
        Algorithm::Tdes => "3des",
    }
}

fn alg_of(s: &str) -> Result<Algorithm, FileError> {
    match s {
        "sm4" => Ok(Algorithm::Sm4),
        "3des" => Ok(Algorithm::Tdes),
        _ => Err(bad("alg")),
    }
}

fn usage_name(u: KeyUsage) -> &'static str {
    match u {
        KeyUsage::InternalAuth => "internal_auth",
        KeyUsage::ExternalAuth => "external_auth",
        KeyUsage::PinUnblock => "pin_unblock",
        KeyUsage::UpdateMac => "update_mac",
        KeyUsage::BankAuth => "bank_auth",
    }
}

fn keys_out(k: &KeySet) -> Vec<KeyFile> {
    k.usages()
        .map(|u| KeyFile {
            usage: usage_name(u).into(),
            key: hex::encode_upper(k.get(u).expect("held").expose()),
        })
        .collect()
}

fn keys_in(alg: Algorithm, v: &[KeyFile]) -> Result<KeySet, FileError> {
    let mut keys = Vec::new();
    for k in v {
        let usage = KeyUsage::ALL
            .into_iter()
            .find(|u| usage_name(*u) == k.usage)
            .ok_or_else(|| bad("key usage"))?;
        keys.push((usage, Key16::from_hex(&k.key).ok_or_else(|| bad("key"))?));
    }
    Ok(KeySet::new(alg, keys))
}

fn records_out(r: &[Record]) -> Vec<(String, String)> {
    r.iter()
        .map(|(t, v)| (format!("{t:02X}"), hex::encode_upper(v)))
        .collect()
}

fn records_in(r: &[(String, String)]) -> Result<Vec<Record>, FileError> {
    r.iter()
        .map(|(t, v)| {
            Ok((
                u8::from_str_radix(t, 16).map_err(|_| bad("tag"))?,
                hex::decode(v).map_err(|_| bad("record"))?,
            ))
        })
        .collect()
}

/// A card image as JSON.
pub fn image_to_json(image: &CardImage, test_keys: bool) -> String {
    let f = ImageFile {
        format: IMAGE_FORMAT.into(),
        test_keys,
        alg: alg_name(image.alg).into(),
        atr: hex::encode_upper(&image.atr),
        keys: keys_out(&image.keys),
        ef05: records_out(&image.ef05),
        ef06: records_out(&image.ef06),
        photo: hex::encode_upper(&image.photo),
        medical: records_out(&image.medical),
        df_records: image.df_records.iter().map(|r| records_out(r)).collect(),
        fingerprint: hex::encode_upper(&image.fingerprint),
        pin: image.pin.clone(),
        pin_tries: image.pin_tries,
        pin_max_tries: image.pin_max_tries,
        ext_auth_tries: image.ext_auth_tries,
        pan: image.pan.clone(),
        bank_pin: image.bank_pin.clone(),
        bank_pin_tries: image.bank_pin_tries,
        bank_protected: records_out(&image.bank_protected),
    };
    serde_json::to_string_pretty(&f).expect("serialisable")
}

/// A card image from JSON; also says whether it uses the test keys.
pub fn image_from_json(text: &str) -> Result<(CardImage, bool), FileError> {
    let f: ImageFile = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    if f.format != IMAGE_FORMAT {
        return Err(bad("not a card image (format)"));
    }
    let alg = alg_of(&f.alg)?;
    let image = CardImage {
        atr: hex::decode(&f.atr).map_err(|_| bad("atr"))?,
        alg,
        keys: keys_in(alg, &f.keys)?,
        ef05: records_in(&f.ef05)?,
        ef06: records_in(&f.ef06)?,
        photo: hex::decode(&f.photo).map_err(|_| bad("photo"))?,
        medical: records_in(&f.medical)?,
        df_records: {
            let mut dfs: [Vec<Record>; 3] = Default::default();
            for (slot, r) in dfs.iter_mut().zip(&f.df_records) {
                *slot = records_in(r)?;
            }
            dfs
        },
        fingerprint: hex::decode(&f.fingerprint).map_err(|_| bad("fingerprint"))?,
        pin: f.pin,
        pin_tries: f.pin_tries,
        pin_max_tries: f.pin_max_tries,
        ext_auth_tries: f.ext_auth_tries,
        pan: f.pan,
        bank_pin: f.bank_pin,
        bank_pin_tries: f.bank_pin_tries,
        bank_protected: records_in(&f.bank_protected)?,
    };
    Ok((image, f.test_keys))
}

/// A PSAM as JSON.
pub fn psam_to_json(psam: &Psam, test_keys: bool) -> String {
    let f = PsamFile {
        format: PSAM_FORMAT.into(),
        test_keys,
        alg: alg_name(psam.keys.alg).into(),
        terminal_id: psam.terminal_id.clone(),
        device_id: psam.device_id.clone(),
        keys: keys_out(&psam.keys),
        counter: psam.counter,
    };
    serde_json::to_string_pretty(&f).expect("serialisable")
}

/// A PSAM from JSON; also says whether it uses the test keys.
pub fn psam_from_json(text: &str) -> Result<(Psam, bool), FileError> {
    let f: PsamFile = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    if f.format != PSAM_FORMAT {
        return Err(bad("not a PSAM (format)"));
    }
    let alg = alg_of(&f.alg)?;
    Ok((
        Psam {
            terminal_id: f.terminal_id,
            device_id: f.device_id,
            keys: keys_in(alg, &f.keys)?,
            counter: f.counter,
        },
        f.test_keys,
    ))
}
