#![no_main]
//! Every byte string, split into APDUs at 0xFF 0xFF, must get a status word from the card.

use libfuzzer_sys::fuzz_target;
use sscard_chip::card::{CardImage, SoftCard};
use sscard_chip::crypto::Algorithm;
use sscard_chip::keys::test_province_keys;

fuzz_target!(|data: &[u8]| {
    let issue = sscard_chip::issue::IssueData {
        photo: vec![0xAB; 300],
        ..sscard_chip::issue::IssueData::demo()
    };
    let mut card = SoftCard::with_seed(
        CardImage::issue(&issue, &test_province_keys(Algorithm::Sm4)),
        1,
    );
    for apdu in data.split(|b| *b == 0xFF) {
        assert!(card.process(apdu).len() >= 2);
    }
});
