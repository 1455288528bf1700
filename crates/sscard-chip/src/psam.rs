//! The PSAM as a device with its own APDU command set, so a terminal can use a software PSAM
//! over any transport exactly as it would a PSAM card in a SAM slot.
//!
//! Command set (sscard's; modelled on the PBoC-style PSAMs of the field, ssc-facts §4.2):
//!
//! | Command | Bytes | Answer |
//! |---|---|---|
//! | SELECT the PSAM application | `00 A4 04 00 06 D15600000590` | `9000` |
//! | READ terminal number (EF16) | `00 B0 96 00 06` | 6 bytes BCD (12 digits) |
//! | GET counter | `80 CA 00 01 04` | 4 bytes, big-endian |
//! | INIT (derive a card key) | `80 1A <usage id> 00 10 <region code as 6 BCD digits + 00><chip 8>` | `9000` |
//! | CIPHER: external-auth cryptogram | `80 FA 00 00 08 <challenge 8>` | 8 bytes |
//! | CIPHER: expected internal-auth answer | `80 FA 01 00 10 <factor 8><data 8>` | 8 bytes |
//! | CIPHER: MAC | `80 FA 02 00 Lc <challenge 8><data>` | 4 bytes |
//!
//! Usage ids are [`KeyUsage::id`]. INIT derives the card-level key of that usage from the
//! PSAM's province key (city = the region's prefecture, card = the chip bytes); every CIPHER
//! uses the last INIT and counts one transaction. Answers follow T=0 (`61xx` + GET RESPONSE).

use crate::apdu::{Command, Response, sw};
use crate::crypto::{Algorithm, Key16, cryptogram, session_mac};
use crate::keys::KeyUsage;
use crate::terminal::{Psam, TerminalError, Transport};

/// AID of the PSAM application.
pub const PSAM_AID: [u8; 6] = [0xD1, 0x56, 0x00, 0x00, 0x05, 0x90];

/// A software PSAM answering APDUs.
#[derive(Debug)]
pub struct SoftPsam {
    psam: Psam,
    selected: bool,
    working: Option<Key16>,
    pending: Vec<u8>,
}

impl SoftPsam {
    /// A PSAM device for PSAM data (keys, terminal number, counter).
    pub fn new(psam: Psam) -> Self {
        Self {
            psam,
            selected: false,
            working: None,
            pending: Vec::new(),
        }
    }

    /// The counter so far.
    pub fn counter(&self) -> u32 {
        self.psam.counter
    }

    fn answer(&mut self, data: Vec<u8>) -> Response {
        let n = data.len();
        self.pending = data;
        Response::status(sw::more(n))
    }

    /// Processes one command APDU.
    pub fn process(&mut self, bytes: &[u8]) -> Vec<u8> {
        let Ok(c) = Command::parse(bytes) else {
            return Response::status(sw::WRONG_LENGTH).to_bytes();
        };
        if c.ins != 0xC0 {
            self.pending.clear();
        }
        self.dispatch(&c).to_bytes()
    }

    fn dispatch(&mut self, c: &Command) -> Response {
        match (c.cla, c.ins) {
            (0x00, 0xA4) => {
                self.selected = c.p1 == 0x04 && c.data == PSAM_AID;
                self.working = None;
                Response::status(if self.selected {
                    sw::OK
                } else {
                    sw::FILE_NOT_FOUND
                })
            }
            (0x00, 0xC0) => {
                if self.pending.is_empty() {
                    return Response::status(sw::CONDITIONS);
                }
                if c.le != Some(self.pending.len()) {
                    return Response::status(sw::wrong_le(self.pending.len()));
                }
                Response::ok(std::mem::take(&mut self.pending))
            }
            _ if !self.selected => Response::status(sw::CONDITIONS),
            (0x00, 0xB0) if c.p1 == 0x96 => {
                let mut digits = self.psam.terminal_id.clone();
                digits.retain(|ch| ch.is_ascii_digit());
                while digits.len() < 12 {
                    digits.insert(0, '0');
                }
                Response::ok(hex::decode(&digits[digits.len() - 12..]).unwrap_or_default())
            }
            (0x80, 0xCA) if c.p2 == 0x01 => Response::ok(self.psam.counter.to_be_bytes().to_vec()),
            (0x80, 0x1A) => self.init(c),
            (0x80, 0xFA) => self.cipher(c),
            _ => Response::status(sw::BAD_INS),
        }
    }

    fn init(&mut self, c: &Command) -> Response {
        let Some(usage) = KeyUsage::ALL.into_iter().find(|u| u.id() == c.p1) else {
            return Response::status(sw::KEY_NOT_FOUND);
        };
        if c.data.len() != 16 {
            return Response::status(sw::WRONG_LENGTH);
        }
        let region: u32 = hex::encode(&c.data[..3]).parse().unwrap_or(0);
        let chip: [u8; 8] = c.data[8..].try_into().expect("8 bytes");
        match self
            .psam
            .keys
            .card_keys(region / 100 * 100, chip)
            .get(usage)
        {
            Some(k) => {
                self.working = Some(k.clone());
                Response::status(sw::OK)
            }
            None => Response::status(sw::KEY_NOT_FOUND),
        }
    }

    fn cipher(&mut self, c: &Command) -> Response {
        let Some(key) = self.working.clone() else {
            return Response::status(sw::CONDITIONS);
        };
        let alg: Algorithm = self.psam.keys.alg;
        let out = match (c.p1, c.data.len()) {
            (0x00, 8) => cryptogram(alg, &key, &c.data[..8].try_into().expect("8")).to_vec(),
            (0x01, 16) => {
                let factor: [u8; 8] = c.data[..8].try_into().expect("8");
                cryptogram(
                    alg,
                    &key.diversify(alg, &factor),
                    &c.data[8..].try_into().expect("8"),
                )
                .to_vec()
            }
            (0x02, n) if n >= 8 => {
                session_mac(alg, &key, &c.data[..8].try_into().expect("8"), &c.data[8..]).to_vec()
            }
            (0x00..=0x02, _) => return Response::status(sw::WRONG_LENGTH),
            _ => return Response::status(sw::BAD_P1P2),
        };
        self.psam.counter = self.psam.counter.wrapping_add(1);
        self.answer(out)
    }
}

/// The in-process transport to a [`SoftPsam`].
#[derive(Debug)]
pub struct PsamInProcess(pub SoftPsam);

impl Transport for PsamInProcess {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TerminalError> {
        Ok(self.0.process(apdu))
    }
    fn atr(&mut self) -> Result<Vec<u8>, TerminalError> {
        Ok(vec![0x3B, 0x00])
    }
}

/// A terminal's side of the PSAM command set, over any transport.
#[derive(Debug)]
pub struct PsamClient<T: Transport> {
    transport: T,
}

impl<T: Transport> PsamClient<T> {
    /// Selects the PSAM application.
    pub fn open(mut transport: T) -> Result<Self, TerminalError> {
        let mut select = vec![0x00, 0xA4, 0x04, 0x00, 0x06];
        select.extend_from_slice(&PSAM_AID);
        let r = Response::parse(&transport.transmit(&select)?)
            .map_err(|e| TerminalError::Transport(e.to_string()))?;
        if r.sw != sw::OK {
            return Err(TerminalError::Status {
                command: "SELECT PSAM",
                sw: r.sw,
            });
        }
        Ok(Self { transport })
    }

    fn call(&mut self, name: &'static str, cmd: &Command) -> Result<Vec<u8>, TerminalError> {
        let parse =
            |b: Vec<u8>| Response::parse(&b).map_err(|e| TerminalError::Transport(e.to_string()));
        let mut r = parse(self.transport.transmit(&cmd.to_bytes())?)?;
        if r.sw & 0xFF00 == 0x6100 {
            let get =
                Command::new(0x00, 0xC0, 0x00, 0x00).with_le(usize::from((r.sw & 0xFF) as u8));
            r = parse(self.transport.transmit(&get.to_bytes())?)?;
        }
        if r.sw != sw::OK {
            return Err(match r.sw {
                sw::KEY_NOT_FOUND => TerminalError::Status {
                    command: name,
                    sw: r.sw,
                },
                other => TerminalError::Status {
                    command: name,
                    sw: other,
                },
            });
        }
        Ok(r.data)
    }

    /// The terminal number (12 digits).
    pub fn terminal_id(&mut self) -> Result<String, TerminalError> {
        Ok(hex::encode(self.call(
            "READ TERMINAL NUMBER",
            &Command::new(0x00, 0xB0, 0x96, 0x00).with_le(6),
        )?))
    }

    /// The transaction counter.
    pub fn counter(&mut self) -> Result<u32, TerminalError> {
        let b = self.call(
            "GET COUNTER",
            &Command::new(0x80, 0xCA, 0x00, 0x01).with_le(4),
        )?;
        Ok(u32::from_be_bytes(
            b.try_into()
                .map_err(|_| TerminalError::BadCardData("counter"))?,
        ))
    }

    fn init(&mut self, card_id_code: &str, usage: KeyUsage) -> Result<(), TerminalError> {
        let region = card_id_code
            .get(..6)
            .ok_or(TerminalError::BadCardData("card id code"))?;
        let chip = card_id_code
            .get(16..32)
            .ok_or(TerminalError::BadCardData("card id code"))?;
        let data = hex::decode(format!("{region}0000000000{chip}"))
            .map_err(|_| TerminalError::BadCardData("card id code"))?;
        self.call(
            "PSAM INIT",
            &Command::new(0x80, 0x1A, usage.id(), 0x00).with_data(data),
        )?;
        Ok(())
    }

    /// The external-authentication cryptogram for a card's challenge.
    pub fn external_cryptogram(
        &mut self,
        card_id_code: &str,
        challenge: &[u8; 8],
    ) -> Result<[u8; 8], TerminalError> {
        self.init(card_id_code, KeyUsage::ExternalAuth)?;
        let r = self.call(
            "PSAM CIPHER",
            &Command::new(0x80, 0xFA, 0x00, 0x00).with_data(challenge.to_vec()),
        )?;
        r.try_into()
            .map_err(|_| TerminalError::BadCardData("PSAM answer"))
    }

    /// The answer a genuine card gives to INTERNAL AUTHENTICATE with `factor` and `data`.
    pub fn internal_expected(
        &mut self,
        card_id_code: &str,
        factor: &[u8; 8],
        data: &[u8; 8],
    ) -> Result<[u8; 8], TerminalError> {
        self.init(card_id_code, KeyUsage::InternalAuth)?;
        let mut payload = factor.to_vec();
        payload.extend_from_slice(data);
        let r = self.call(
            "PSAM CIPHER",
            &Command::new(0x80, 0xFA, 0x01, 0x00).with_data(payload),
        )?;
        r.try_into()
            .map_err(|_| TerminalError::BadCardData("PSAM answer"))
    }

    /// A secure-messaging MAC with the card's `usage` key.
    pub fn mac(
        &mut self,
        card_id_code: &str,
        usage: KeyUsage,
        challenge: &[u8; 8],
        data: &[u8],
    ) -> Result<[u8; 4], TerminalError> {
        self.init(card_id_code, usage)?;
        let mut payload = challenge.to_vec();
        payload.extend_from_slice(data);
        let r = self.call(
            "PSAM MAC",
            &Command::new(0x80, 0xFA, 0x02, 0x00).with_data(payload),
        )?;
        r.try_into()
            .map_err(|_| TerminalError::BadCardData("PSAM answer"))
    }
}

impl<T: Transport> crate::terminal::SecurityModule for PsamClient<T> {
    fn external_cryptogram(
        &mut self,
        card_id_code: &str,
        challenge: &[u8; 8],
    ) -> Result<[u8; 8], TerminalError> {
        PsamClient::external_cryptogram(self, card_id_code, challenge)
    }
    fn internal_expected(
        &mut self,
        card_id_code: &str,
        factor: &[u8; 8],
        data: &[u8; 8],
    ) -> Result<[u8; 8], TerminalError> {
        PsamClient::internal_expected(self, card_id_code, factor, data)
    }
    fn mac(
        &mut self,
        card_id_code: &str,
        usage: KeyUsage,
        challenge: &[u8; 8],
        data: &[u8],
    ) -> Result<[u8; 4], TerminalError> {
        PsamClient::mac(self, card_id_code, usage, challenge, data)
    }
    fn ready(&mut self, card_id_code: &str, usage: KeyUsage) -> Result<(), TerminalError> {
        self.init(card_id_code, usage)
    }
    fn terminal_id(&mut self) -> String {
        PsamClient::terminal_id(self).unwrap_or_default()
    }
    fn device_id(&mut self) -> String {
        "PSAM".into()
    }
}
