//! Property tests for every identifier: generated valid values parse and print back unchanged,
//! and single-character substitutions are refused wherever the check scheme can detect them.

use chrono::NaiveDate;
use proptest::prelude::*;
use sscard_ids::{
    BankCardNumber, CardIdCode, CardNumber, CardNumberGenerator, ChipName, CreditCode, PersonName,
    RegionCode, ResidentId,
};

const PROVINCES: &[u32] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];
const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const CREDIT: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

fn region() -> impl Strategy<Value = RegionCode> {
    (prop::sample::select(PROVINCES), 0u32..10_000)
        .prop_map(|(p, rest)| RegionCode::from_u32(p * 10_000 + rest).unwrap())
}

fn birth_date() -> impl Strategy<Value = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    let span = (today() - first).num_days();
    (0..=span).prop_map(move |d| first + chrono::Duration::days(d))
}

fn resident_id() -> impl Strategy<Value = ResidentId> {
    (region(), birth_date(), 0u16..1000)
        .prop_map(|(r, d, s)| ResidentId::from_parts(r, d, s).unwrap())
}

fn alnum_value(c: u8) -> u32 {
    ALNUM.iter().position(|&a| a == c).unwrap() as u32
}

fn replace(s: &str, i: usize, c: char) -> String {
    s.chars()
        .enumerate()
        .map(|(j, x)| if j == i { c } else { x })
        .collect()
}

proptest! {
    #[test]
    fn resident_id_round_trips(id in resident_id()) {
        let parsed = ResidentId::parse_on(id.expose(), today()).unwrap();
        prop_assert_eq!(parsed.expose(), id.expose());
        prop_assert_eq!(parsed, id);
        prop_assert_eq!(parsed.sex(), if id.sequence() % 2 == 1 { sscard_ids::Sex::Male } else { sscard_ids::Sex::Female });
    }

    #[test]
    fn resident_id_masks_everything_but_the_ends(id in resident_id()) {
        let shown = format!("{id} {id:?}");
        prop_assert!(!shown.contains(&id.expose()[4..14]));
        prop_assert_eq!(id.masked().len(), 18);
    }

    /// MOD 11-2 detects every single-character substitution.
    #[test]
    fn resident_id_single_substitution_is_refused(id in resident_id(), pos in 0usize..18, k in 1u8..11) {
        let original = id.expose().as_bytes()[pos];
        let alphabet: &[u8] = if pos == 17 { b"0123456789X" } else { b"0123456789" };
        let idx = alphabet.iter().position(|&a| a == original).unwrap();
        let replacement = alphabet[(idx + k as usize) % alphabet.len()];
        prop_assume!(replacement != original);
        let changed = replace(id.expose(), pos, replacement as char);
        prop_assert!(ResidentId::parse_on(&changed, today()).is_err(), "{} accepted", changed);
    }

    #[test]
    fn fifteen_digit_numbers_upgrade(r in region(), days in 0i64..36_524, s in 0u16..1000) {
        // 15-digit numbers were issued to people born in the 1900s.
        let d = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days);
        let fifteen = format!("{r}{}{s:03}", d.format("%y%m%d"));
        let upgraded = ResidentId::parse_on(&fifteen, today()).unwrap();
        prop_assert!(upgraded.upgraded_from_15());
        let expected = ResidentId::from_parts(r, d, s).unwrap();
        prop_assert_eq!(upgraded.expose(), expected.expose());
    }

    #[test]
    fn card_number_round_trips(prefix in "[A-Z0-9]{1,3}", seq in 0u64..100_000) {
        let generator = CardNumberGenerator::new(&prefix).unwrap();
        let n = generator.number(seq).unwrap();
        prop_assert_eq!(CardNumber::parse(n.as_str()).unwrap(), n);
        prop_assert_eq!(n.to_string(), n.as_str());
    }

    /// The weighted MOD 11 check sees a substitution in the body exactly when the two
    /// characters' values differ modulo 11; a changed check character is always seen.
    #[test]
    fn card_number_substitution(body in "[A-Z0-9]{8}", pos in 0usize..9, k in 1usize..36) {
        let n = CardNumber::from_body(&body).unwrap();
        let original = n.as_str().as_bytes()[pos];
        if pos == 8 {
            let alphabet = b"0123456789X";
            let idx = alphabet.iter().position(|&a| a == original).unwrap();
            let replacement = alphabet[(idx + k) % alphabet.len()];
            prop_assume!(replacement != original);
            prop_assert!(CardNumber::parse(&replace(n.as_str(), pos, replacement as char)).is_err());
        } else {
            let replacement = ALNUM[(alnum_value(original) as usize + k) % ALNUM.len()];
            let changed = replace(n.as_str(), pos, replacement as char);
            let detectable = alnum_value(original) % 11 != alnum_value(replacement) % 11;
            prop_assert_eq!(CardNumber::parse(&changed).is_err(), detectable, "{} -> {}", n, changed);
        }
    }

    #[test]
    fn card_id_code_round_trips(r in region(), chip in any::<[u8; 8]>()) {
        let code = CardIdCode::new(r, chip);
        let parsed = CardIdCode::parse(&code.as_str().to_lowercase()).unwrap();
        prop_assert_eq!(parsed, code);
        prop_assert_eq!(parsed.chip_specific(), chip);
        prop_assert_eq!(parsed.issuing_region(), r);
    }

    #[test]
    fn credit_code_round_trips(body in "[0-9A-HJ-NP-RTUW-Y]{17}") {
        let c = CreditCode::from_body(&body).unwrap();
        prop_assert_eq!(CreditCode::parse(c.as_str()).unwrap(), c);
    }

    /// MOD 31 over a prime modulus with non-zero weights detects every single substitution.
    #[test]
    fn credit_code_single_substitution_is_refused(body in "[0-9A-HJ-NP-RTUW-Y]{17}", pos in 0usize..18, k in 1usize..31) {
        let c = CreditCode::from_body(&body).unwrap();
        let original = c.as_str().as_bytes()[pos];
        let idx = CREDIT.iter().position(|&a| a == original).unwrap();
        let changed = replace(c.as_str(), pos, CREDIT[(idx + k) % CREDIT.len()] as char);
        prop_assert!(CreditCode::parse(&changed).is_err());
    }

    #[test]
    fn bank_card_round_trips(payload in "[1-9][0-9]{14,17}") {
        let n = BankCardNumber::from_payload(&payload).unwrap();
        prop_assert_eq!(BankCardNumber::parse(n.expose()).unwrap(), n.clone());
        prop_assert!(!n.to_string().contains(&n.expose()[6..n.expose().len() - 4]));
    }

    /// Luhn detects every single-digit substitution.
    #[test]
    fn bank_card_single_substitution_is_refused(payload in "[1-9][0-9]{14,17}", pos in 0usize..19, k in 1u8..10) {
        let n = BankCardNumber::from_payload(&payload).unwrap();
        let pos = pos % n.expose().len();
        let original = n.expose().as_bytes()[pos] - b'0';
        let changed = replace(n.expose(), pos, (b'0' + (original + k) % 10) as char);
        prop_assert!(BankCardNumber::parse(&changed).is_err());
    }

    #[test]
    fn region_code_round_trips(r in region()) {
        prop_assert_eq!(RegionCode::parse(&r.to_string()).unwrap(), r);
    }

    /// GBK names survive the chip's field + extension split unchanged.
    #[test]
    fn chip_name_round_trips(name in "[\u{4E00}-\u{9FA5}]{1,25}") {
        let n = PersonName::parse(&name).unwrap();
        let chip = n.chip_name().unwrap();
        prop_assert!(chip.name.len() <= 30);
        prop_assert_eq!(ChipName::decode(&chip.name, chip.extension.as_deref()), name);
        prop_assert_eq!(PersonName::parse(n.expose()).unwrap(), n);
    }
}
