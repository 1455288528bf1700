#![no_main]
//! A terminal fed arbitrary card answers must fail cleanly, never panic.

use libfuzzer_sys::fuzz_target;
use sscard_chip::crypto::Algorithm;
use sscard_chip::keys::test_province_keys;
use sscard_chip::terminal::{Psam, Terminal, TerminalError, Transport};

struct Replay(Vec<Vec<u8>>);

impl Transport for Replay {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TerminalError> {
        Ok(self.0.pop().unwrap_or_else(|| vec![0x90, 0x00]))
    }
    fn atr(&mut self) -> Result<Vec<u8>, TerminalError> {
        Ok(self.0.pop().unwrap_or_default())
    }
}

fuzz_target!(|data: &[u8]| {
    let answers: Vec<Vec<u8>> = data.split(|b| *b == 0xFF).map(<[u8]>::to_vec).collect();
    let psam = Psam {
        terminal_id: "1".into(),
        device_id: "2".into(),
        keys: test_province_keys(Algorithm::Sm4),
        counter: 0,
    };
    let mut t = Terminal::new(Replay(answers), psam);
    let _ = t.read_card_bas();
    let _ = t.internal_authenticate();
    let _ = t.external_authenticate();
    let _ = t.verify_pin("123456");
    let _ = t.read_medical();
});
