//! Bounded versions of the fuzz targets (see `fuzz/`): the card's APDU handler and the
//! terminal's response handling never panic, whatever bytes arrive.

use proptest::prelude::*;
use sscard_chip::card::{CardImage, SoftCard};
use sscard_chip::crypto::Algorithm;
use sscard_chip::keys::test_province_keys;
use sscard_chip::terminal::{Psam, Terminal, TerminalError, Transport};

fn card() -> SoftCard {
    let data = sscard_chip::issue::IssueData {
        photo: vec![0xAB; 300],
        ..sscard_chip::issue::IssueData::demo()
    };
    SoftCard::new(CardImage::issue(&data, &test_province_keys(Algorithm::Sm4)))
}

/// A transport that answers with arbitrary bytes.
struct Chaos(Vec<Vec<u8>>);

impl Transport for Chaos {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TerminalError> {
        Ok(self.0.pop().unwrap_or_else(|| vec![0x90, 0x00]))
    }
    fn atr(&mut self) -> Result<Vec<u8>, TerminalError> {
        Ok(self.0.pop().unwrap_or_default())
    }
}

fn apdu() -> impl Strategy<Value = Vec<u8>> {
    let ins = prop::sample::select(vec![
        0xA4u8, 0xB2, 0xB0, 0xDC, 0x84, 0x88, 0x82, 0x20, 0x5E, 0x24, 0xC0, 0x00,
    ]);
    let cla = prop::sample::select(vec![0x00u8, 0x04, 0x80, 0x84, 0xA0]);
    (
        cla,
        ins,
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(c, i, p1, p2, rest)| {
            let mut v = vec![c, i, p1, p2];
            v.extend(rest);
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_card_answers_every_sequence_with_a_status_word(apdus in prop::collection::vec(apdu(), 1..20)) {
        let mut c = card();
        for a in &apdus {
            let r = c.process(a);
            prop_assert!(r.len() >= 2);
        }
        // Counters never wrap below zero whatever was sent.
        prop_assert!(c.image().pin_tries <= 3 && c.image().ext_auth_tries <= 3);
    }

    #[test]
    fn the_terminal_survives_any_answers(answers in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..30)) {
        let psam = Psam { terminal_id: "1".into(), device_id: "2".into(), keys: test_province_keys(Algorithm::Sm4), counter: 0 };
        let mut t = Terminal::new(Chaos(answers), psam);
        let _ = t.read_card_bas();
        let _ = t.internal_authenticate();
        let _ = t.external_authenticate();
        let _ = t.verify_pin("123456");
        let _ = t.read_medical();
    }
}
