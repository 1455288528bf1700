//! Building a card image (files + diversified keys + ATR) from a person's and a card's data.
//!
//! Record formats follow ssc-facts §3.3: `an` items left-aligned and padded with `00`, `cn`
//! items BCD and padded with `F`.

use sscard_ids::{CardIdCode, CardNumber, ChipName};

use crate::card::CardImage;
use crate::crypto::Algorithm;
use crate::keys::KeySet;

/// What goes onto a card.
#[derive(Debug, Clone)]
pub struct IssueData {
    /// Card identification code (gives the issuing region and the chip-specific bytes).
    pub card_id_code: CardIdCode,
    /// Card number.
    pub card_number: CardNumber,
    /// Social security number (18 characters).
    pub ssn: String,
    /// The name as the chip stores it.
    pub name: ChipName,
    /// `1` male, `2` female.
    pub sex: char,
    /// GB 3304 ethnicity code (`01` Han).
    pub ethnicity: u8,
    /// Birthplace region code (6 digits).
    pub birthplace: u32,
    /// Birth date `YYYYMMDD`.
    pub birth_date: String,
    /// Issue date `YYYYMMDD`.
    pub issue_date: String,
    /// Expiry `YYYYMMDD`.
    pub expiry: String,
    /// Initialising institution (12 digits).
    pub institution: String,
    /// Bank PAN.
    pub pan: String,
    /// JPEG for EF08 (≤ 4,096 bytes).
    pub photo: Vec<u8>,
}

impl IssueData {
    /// The published demo card: a synthetic Taizhou resident, card number `X00000019` (the
    /// specification's sample), on the test keys. Used by `sscard chip image --demo`, the
    /// benchmarks and the fuzz targets.
    pub fn demo() -> IssueData {
        let region = sscard_ids::RegionCode::from_u32(321_202).expect("valid");
        // "Today" far in the future: only the calendar is checked, no clock is read here.
        let id = sscard_ids::ResidentId::parse_on("321202198808081014", chrono::NaiveDate::MAX)
            .expect("a valid synthetic number");
        IssueData {
            card_id_code: CardIdCode::new(region, [0x00, 0xBF, 0x7C, 0x7A, 0x48, 0xFB, 0x49, 0x66]),
            card_number: CardNumber::parse("X00000019").expect("spec sample"),
            ssn: id.expose().to_owned(),
            name: sscard_ids::PersonName::parse("张三")
                .expect("valid")
                .chip_name()
                .expect("GBK"),
            sex: id.sex().gb_code(),
            ethnicity: 1,
            birthplace: 321_202,
            birth_date: "19880808".into(),
            issue_date: "20261128".into(),
            expiry: "20361127".into(),
            institution: "321200000001".into(),
            pan: "6217001234567890123".into(),
            photo: Vec::new(),
        }
    }
}

fn an(value: &[u8], len: usize) -> Vec<u8> {
    let mut v = value.to_vec();
    v.resize(len, 0);
    v
}

fn cn(digits: &str, len: usize) -> Vec<u8> {
    let mut d = digits.to_owned();
    while d.len() < len * 2 {
        d.push('F');
    }
    hex::decode(&d[..len * 2]).unwrap_or_else(|_| vec![0xFF; len])
}

/// The ATR: `3B 6D 00 00` + historical bytes `00 87 BF 10 02 86 49`, the first four digits of
/// the city code in BCD, and the first four chip-specific bytes of the card identification code
/// (ssc-facts §2.2).
pub fn atr_for(code: &CardIdCode) -> Vec<u8> {
    let mut atr = vec![
        0x3B, 0x6D, 0x00, 0x00, 0x00, 0x87, 0xBF, 0x10, 0x02, 0x86, 0x49,
    ];
    atr.extend(cn(&code.as_str()[..4], 2));
    atr.extend_from_slice(&code.chip_specific()[..4]);
    atr
}

impl CardImage {
    /// Issues a card: records from `data`, card keys diversified from the province keys, the
    /// initial PINs `123456` with 3 tries, external authentication with 3 tries.
    pub fn issue(data: &IssueData, province_keys: &KeySet) -> CardImage {
        let code = &data.card_id_code;
        let region = code.issuing_region().value();
        let keys = province_keys.card_keys(region / 100 * 100, code.chip_specific());
        let version: &[u8] = if province_keys.alg == Algorithm::Sm4 {
            b"3.00"
        } else {
            b"2.00"
        };
        let ef05 = vec![
            (0x01, code.to_bytes().to_vec()),
            (0x02, b"3".to_vec()),
            (0x03, version.to_vec()),
            (0x04, cn(&data.institution, 12)),
            (0x05, cn(&data.issue_date, 4)),
            (0x06, cn(&data.expiry, 4)),
            (0x07, an(data.card_number.as_str().as_bytes(), 9)),
        ];
        let mut ef06 = vec![
            (0x08, an(data.ssn.as_bytes(), 18)),
            (0x09, an(&data.name.name, 30)),
        ];
        if let Some(ext) = &data.name.extension {
            ef06.push((0x4E, an(ext, 20)));
        }
        ef06.extend([
            (0x0A, vec![data.sex as u8]),
            (0x0B, cn(&format!("{:02}", data.ethnicity), 1)),
            (0x0C, cn(&format!("{:06}", data.birthplace), 3)),
            (0x0D, cn(&data.birth_date, 4)),
        ]);
        let medical = vec![
            (0x50, an(format!("{region:06}").as_bytes(), 6)),
            (0x51, an(b"310", 3)),
            (0x52, cn(&data.issue_date, 4)),
        ];
        // DF01 EF05 (public information): the household region (tag 0E, 3 bytes cn). The
        // platform holds no household type or address yet, so those items are not written.
        let household = vec![(0x0E, cn(&format!("{:06}", data.birthplace), 3))];
        CardImage {
            atr: atr_for(code),
            alg: province_keys.alg,
            keys,
            ef05,
            ef06,
            photo: data.photo.clone(),
            medical,
            df_records: [household, Vec::new(), Vec::new()],
            fingerprint: Vec::new(),
            pin: "123456".into(),
            pin_tries: 3,
            pin_max_tries: 3,
            ext_auth_tries: 3,
            pan: data.pan.clone(),
            bank_pin: "888888".into(),
            bank_pin_tries: 3,
            bank_protected: vec![(0x9F, b"balance:0.00".to_vec())],
        }
    }
}
