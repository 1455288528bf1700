#![no_main]
//! Every byte string, split into APDUs at 0xFF 0xFF, must get a status word from the card.

use libfuzzer_sys::fuzz_target;
use sscard_chip::card::{CardImage, SoftCard};
use sscard_chip::crypto::Algorithm;
use sscard_chip::keys::test_province_keys;

fuzz_target!(|data: &[u8]| {
    let issue = sscard_chip::issue::IssueData {
        card_id_code: sscard_ids::CardIdCode::new(
            sscard_ids::RegionCode::parse("321202").unwrap(),
            [7; 8],
        ),
        card_number: sscard_ids::CardNumber::parse("X00000019").unwrap(),
        ssn: "32120219880808101X".into(),
        name: sscard_ids::PersonName::parse("张三")
            .unwrap()
            .chip_name()
            .unwrap(),
        sex: '1',
        ethnicity: 1,
        birthplace: 321_202,
        birth_date: "19880808".into(),
        issue_date: "20261128".into(),
        expiry: "20361127".into(),
        institution: "321200000001".into(),
        pan: "6217001234567890123".into(),
        photo: vec![0xAB; 300],
    };
    let mut card = SoftCard::with_seed(
        CardImage::issue(&issue, &test_province_keys(Algorithm::Sm4)),
        1,
    );
    for apdu in data.split(|b| *b == 0xFF) {
        assert!(card.process(apdu).len() >= 2);
    }
});
