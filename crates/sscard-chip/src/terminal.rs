//! A terminal and its PSAM talking to a card over any transport.
//!
//! The PSAM holds **province-level** keys; from the card identification code it derives the
//! card's keys (city from the issuing region, card level from the 8 chip-specific bytes), so any
//! terminal of the province authenticates any card of the province. The terminal handles the
//! T=0 dialogue itself (`61xx` → GET RESPONSE, `6Cxx` → resend with the right Le).

use crate::apdu::{Command, Response, sw};
use crate::card::{DF04_AID, Record, SSSE_AID, SoftCard};
use crate::crypto::{cryptogram, ct_eq, session_mac};
use crate::keys::{KeySet, KeyUsage};

/// Something that carries APDUs to a card: in-process, PC/SC, a vpcd socket.
pub trait Transport {
    /// Sends one command APDU and returns the response bytes.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TerminalError>;
    /// The card's answer to reset.
    fn atr(&mut self) -> Result<Vec<u8>, TerminalError>;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TerminalError> {
        (**self).transmit(apdu)
    }
    fn atr(&mut self) -> Result<Vec<u8>, TerminalError> {
        (**self).atr()
    }
}

/// The in-process transport: a [`SoftCard`] in the same program. Optionally records a trace.
#[derive(Debug)]
pub struct InProcess {
    /// The card.
    pub card: SoftCard,
    /// Every exchange, as (command, response) bytes.
    pub trace: Vec<(Vec<u8>, Vec<u8>)>,
}

impl InProcess {
    /// A transport to a card.
    pub fn new(card: SoftCard) -> Self {
        Self {
            card,
            trace: Vec::new(),
        }
    }
}

impl Transport for InProcess {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TerminalError> {
        let r = self.card.process(apdu);
        self.trace.push((apdu.to_vec(), r.clone()));
        Ok(r)
    }
    fn atr(&mut self) -> Result<Vec<u8>, TerminalError> {
        Ok(self.card.atr().to_vec())
    }
}

/// Why a terminal session failed. Codes follow the national reader interface where one exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalError {
    /// The transport failed.
    Transport(String),
    /// The card answered a status word other than success.
    Status { command: &'static str, sw: u16 },
    /// Internal authentication failed: the card is not genuine (reader code −21).
    NotGenuine,
    /// The card's data could not be understood.
    BadCardData(&'static str),
    /// The PSAM lacks a key it needs (reader code −2203 for the external-auth key).
    PsamKeyMissing(KeyUsage),
    /// PIN refused; tries left (reader code −51), or blocked (−52).
    Pin { tries_left: u8 },
}

impl std::fmt::Display for TerminalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TerminalError::Transport(e) => write!(f, "读卡器通信失败（transport failed）: {e}"),
            TerminalError::Status { command, sw } => {
                write!(f, "{command} 失败（failed）: SW {sw:04X}")
            }
            TerminalError::NotGenuine => f.write_str(
                "内部认证失败，卡片非法（internal authentication failed: card not genuine）",
            ),
            TerminalError::BadCardData(what) => {
                write!(f, "卡内数据无法识别（card data not understood）: {what}")
            }
            TerminalError::PsamKeyMissing(u) => {
                write!(f, "PSAM 缺少密钥（PSAM lacks the key）: {u:?}")
            }
            TerminalError::Pin { tries_left: 0 } => f.write_str("密码已锁定（PIN blocked）"),
            TerminalError::Pin { tries_left } => write!(
                f,
                "密码错误，还可尝试 {tries_left} 次（wrong PIN, {tries_left} tries left）"
            ),
        }
    }
}

impl std::error::Error for TerminalError {}

/// A software PSAM: province keys, terminal identity and a transaction counter.
#[derive(Debug, Clone)]
pub struct Psam {
    /// 12-digit terminal number.
    pub terminal_id: String,
    /// Device number.
    pub device_id: String,
    /// Province-level keys.
    pub keys: KeySet,
    /// Transactions so far.
    pub counter: u32,
}

impl Psam {
    /// The card keys for a card identification code (32 hex characters).
    fn card_keys(&self, card_id_code: &str) -> Result<KeySet, TerminalError> {
        let region: u32 = card_id_code
            .get(..6)
            .and_then(|r| r.parse().ok())
            .ok_or(TerminalError::BadCardData("card id code"))?;
        let chip: [u8; 8] = hex::decode(
            card_id_code
                .get(16..32)
                .ok_or(TerminalError::BadCardData("card id code"))?,
        )
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or(TerminalError::BadCardData("card id code"))?;
        // The city level uses the prefecture code: 3212xx cards are issued under 321200.
        Ok(self.keys.card_keys(region / 100 * 100, chip))
    }

    fn key(
        &self,
        card_id_code: &str,
        usage: KeyUsage,
    ) -> Result<crate::crypto::Key16, TerminalError> {
        self.card_keys(card_id_code)?
            .get(usage)
            .cloned()
            .ok_or(TerminalError::PsamKeyMissing(usage))
    }
}

/// What a terminal needs from its security module: the PSAM's three operations. Implemented by
/// [`Psam`] (keys in the process) and by [`crate::psam::PsamClient`] (a PSAM over APDUs).
pub trait SecurityModule {
    /// The external-authentication cryptogram for a card's challenge.
    fn external_cryptogram(
        &mut self,
        card_id_code: &str,
        challenge: &[u8; 8],
    ) -> Result<[u8; 8], TerminalError>;
    /// The answer a genuine card gives to INTERNAL AUTHENTICATE.
    fn internal_expected(
        &mut self,
        card_id_code: &str,
        factor: &[u8; 8],
        data: &[u8; 8],
    ) -> Result<[u8; 8], TerminalError>;
    /// A secure-messaging MAC with one of the card's keys.
    fn mac(
        &mut self,
        card_id_code: &str,
        usage: KeyUsage,
        challenge: &[u8; 8],
        data: &[u8],
    ) -> Result<[u8; 4], TerminalError>;
    /// Checks that the module holds the card's key of `usage`, without using it (so a module
    /// lacking a key never costs the card a try).
    fn ready(&mut self, card_id_code: &str, usage: KeyUsage) -> Result<(), TerminalError>;
    /// The terminal number for the reader string.
    fn terminal_id(&mut self) -> String;
    /// The device number for the reader string.
    fn device_id(&mut self) -> String;
    /// The algorithm of the module's keys, when it says.
    fn algorithm(&mut self) -> Option<crate::crypto::Algorithm> {
        None
    }
}

impl SecurityModule for Psam {
    fn external_cryptogram(
        &mut self,
        code: &str,
        challenge: &[u8; 8],
    ) -> Result<[u8; 8], TerminalError> {
        let key = self.key(code, KeyUsage::ExternalAuth)?;
        self.counter += 1;
        Ok(cryptogram(self.keys.alg, &key, challenge))
    }
    fn internal_expected(
        &mut self,
        code: &str,
        factor: &[u8; 8],
        data: &[u8; 8],
    ) -> Result<[u8; 8], TerminalError> {
        let key = self.key(code, KeyUsage::InternalAuth)?;
        self.counter += 1;
        Ok(cryptogram(
            self.keys.alg,
            &key.diversify(self.keys.alg, factor),
            data,
        ))
    }
    fn mac(
        &mut self,
        code: &str,
        usage: KeyUsage,
        challenge: &[u8; 8],
        data: &[u8],
    ) -> Result<[u8; 4], TerminalError> {
        let key = self.key(code, usage)?;
        self.counter += 1;
        Ok(session_mac(self.keys.alg, &key, challenge, data))
    }
    fn ready(&mut self, code: &str, usage: KeyUsage) -> Result<(), TerminalError> {
        self.key(code, usage).map(|_| ())
    }
    fn terminal_id(&mut self) -> String {
        self.terminal_id.clone()
    }
    fn device_id(&mut self) -> String {
        self.device_id.clone()
    }
    fn algorithm(&mut self) -> Option<crate::crypto::Algorithm> {
        Some(self.keys.alg)
    }
}

/// What a basic read returns (the fields of `iReadCardBas`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardBasics {
    /// Issuing region code (6 digits).
    pub region: String,
    /// Social security number.
    pub ssn: String,
    /// Card number.
    pub card_number: String,
    /// Card identification code (32 hex).
    pub card_id_code: String,
    /// Name (decoded from GBK).
    pub name: String,
    /// ATR historical bytes (hex).
    pub atr_history: String,
    /// Spec version (`2.00`, `3.00`).
    pub version: String,
    /// Issue date `YYYYMMDD`.
    pub issue_date: String,
    /// Expiry `YYYYMMDD`.
    pub expiry: String,
    /// Sex code (`1`/`2`).
    pub sex: String,
    /// Birth date `YYYYMMDD`.
    pub birth_date: String,
}

impl CardBasics {
    /// The national reader-interface string (`iReadCardBas`): eleven `|`-terminated fields,
    /// the last two the PSAM's terminal number and the reader's device number.
    pub fn reader_string(&self, terminal_id: &str, device_id: &str) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{terminal_id}|{device_id}|",
            self.region,
            self.ssn,
            self.card_number,
            self.card_id_code,
            self.name,
            self.atr_history,
            self.version,
            self.issue_date,
            self.expiry,
        )
    }
}

/// A terminal session with a card.
#[derive(Debug)]
pub struct Terminal<T: Transport, S: SecurityModule = Psam> {
    transport: T,
    psam: S,
    card_id_code: Option<String>,
}

fn find_record(records: &[Record], tag: u8) -> Option<&[u8]> {
    records
        .iter()
        .find(|(t, _)| *t == tag)
        .map(|(_, v)| v.as_slice())
}

fn text(v: &[u8]) -> String {
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    encoding_gbk(&v[..end])
}

fn encoding_gbk(v: &[u8]) -> String {
    // Names are GBK; the other an-items are ASCII, for which GBK decoding is the identity.
    sscard_ids::ChipName::decode(v, None)
}

fn bcd(v: &[u8]) -> String {
    hex::encode_upper(v).trim_end_matches('F').to_owned()
}

impl<T: Transport, S: SecurityModule> Terminal<T, S> {
    /// A terminal with a PSAM over a transport.
    pub fn new(transport: T, psam: S) -> Self {
        Self {
            transport,
            psam,
            card_id_code: None,
        }
    }

    /// The transport (e.g. to read an in-process trace).
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Sends a command, following `61xx` and `6Cxx` as T=0 requires.
    pub fn exchange(&mut self, cmd: &Command) -> Result<Response, TerminalError> {
        let mut r = Response::parse(&self.transport.transmit(&cmd.to_bytes())?)
            .map_err(|e| TerminalError::Transport(e.to_string()))?;
        if r.sw & 0xFF00 == 0x6C00 {
            let resend = cmd.clone().with_le(usize::from((r.sw & 0xFF) as u8));
            r = Response::parse(&self.transport.transmit(&resend.to_bytes())?)
                .map_err(|e| TerminalError::Transport(e.to_string()))?;
        }
        let mut data = Vec::new();
        while r.sw & 0xFF00 == 0x6100 {
            data.extend_from_slice(&r.data);
            let get =
                Command::new(0x00, 0xC0, 0x00, 0x00).with_le(usize::from((r.sw & 0xFF) as u8));
            r = Response::parse(&self.transport.transmit(&get.to_bytes())?)
                .map_err(|e| TerminalError::Transport(e.to_string()))?;
        }
        if !data.is_empty() {
            data.extend_from_slice(&r.data);
            r.data = data;
        }
        Ok(r)
    }

    fn expect_ok(&mut self, name: &'static str, cmd: &Command) -> Result<Vec<u8>, TerminalError> {
        let r = self.exchange(cmd)?;
        if r.sw != sw::OK {
            return Err(TerminalError::Status {
                command: name,
                sw: r.sw,
            });
        }
        Ok(r.data)
    }

    /// SELECT the social-security environment by AID.
    pub fn select_ssse(&mut self) -> Result<Vec<u8>, TerminalError> {
        self.expect_ok(
            "SELECT SSSE",
            &Command::new(0x00, 0xA4, 0x04, 0x00).with_data(SSSE_AID.to_vec()),
        )
    }

    /// The algorithm the card announces in its FCI (`9F0C 03 86 01 xx`: `03` SM4, `01` 3DES;
    /// readers default to `01` when the tag is absent, ssc-facts §3.1).
    pub fn card_algorithm(fci: &[u8]) -> Result<crate::crypto::Algorithm, TerminalError> {
        let objects = crate::tlv::parse_all(fci).map_err(|_| TerminalError::BadCardData("FCI"))?;
        match crate::tlv::find(&objects, 0x9F0C).map(|t| t.value) {
            Some(v) if v.len() == 3 && v[2] == 0x03 => Ok(crate::crypto::Algorithm::Sm4),
            Some(v) if v.len() == 3 && v[2] != 0x01 => {
                Err(TerminalError::BadCardData("algorithm in FCI"))
            }
            _ => Ok(crate::crypto::Algorithm::Tdes),
        }
    }

    /// Reads the records of a file by SFI, record numbers 1.. until "record not found".
    pub fn read_records(&mut self, sfi: u8) -> Result<Vec<Record>, TerminalError> {
        let mut out = Vec::new();
        for n in 1..=32u8 {
            let r = self.exchange(&Command::new(0x00, 0xB2, n, (sfi << 3) | 0x04).with_le(0))?;
            match r.sw {
                sw::OK => {
                    if r.data.len() < 2 || r.data.len() != usize::from(r.data[1]) + 2 {
                        return Err(TerminalError::BadCardData("record TLV"));
                    }
                    out.push((r.data[0], r.data[2..].to_vec()));
                }
                sw::RECORD_NOT_FOUND => break,
                other => {
                    return Err(TerminalError::Status {
                        command: "READ RECORD",
                        sw: other,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Reads EF05 and EF06 (free on 2nd-generation cards) into the basic fields.
    pub fn read_basics(&mut self) -> Result<CardBasics, TerminalError> {
        let fci = self.select_ssse()?;
        let alg = Self::card_algorithm(&fci)?;
        if self.psam.algorithm().is_some_and(|a| a != alg) {
            // Reader code −2202: the PSAM lacks the card's algorithm.
            return Err(TerminalError::BadCardData(
                "the PSAM does not hold this card's algorithm (SM4/3DES)",
            ));
        }
        let ef05 = self.read_records(5)?;
        let ef06 = self.read_records(6)?;
        let get = |r: &[Record], t: u8| {
            find_record(r, t)
                .map(<[u8]>::to_vec)
                .ok_or(TerminalError::BadCardData("missing item"))
        };
        let code = hex::encode_upper(get(&ef05, 0x01)?);
        self.card_id_code = Some(code.clone());
        let atr = self.transport.atr()?;
        let history = if atr.len() >= 17 {
            hex::encode_upper(&atr[4..17])
        } else {
            hex::encode_upper(&atr)
        };
        let mut name = text(&get(&ef06, 0x09)?);
        if let Some(ext) = find_record(&ef06, 0x4E) {
            name.push_str(&text(ext));
        }
        Ok(CardBasics {
            region: code[..6].to_owned(),
            ssn: text(&get(&ef06, 0x08)?),
            card_number: text(&get(&ef05, 0x07)?),
            card_id_code: code,
            name: name.trim_end().to_owned(),
            atr_history: history,
            version: text(&get(&ef05, 0x03)?),
            issue_date: bcd(&get(&ef05, 0x05)?),
            expiry: bcd(&get(&ef05, 0x06)?),
            sex: text(&get(&ef06, 0x0A)?),
            birth_date: bcd(&get(&ef06, 0x0D)?),
        })
    }

    fn code(&self) -> Result<String, TerminalError> {
        self.card_id_code
            .clone()
            .ok_or(TerminalError::BadCardData("read the basics first"))
    }

    /// INTERNAL AUTHENTICATE: the card proves it holds its key; a clone fails here.
    pub fn internal_authenticate(&mut self) -> Result<(), TerminalError> {
        let code = self.code()?;
        let factor: [u8; 8] = rand::random();
        let data: [u8; 8] = rand::random();
        let mut payload = factor.to_vec();
        payload.extend_from_slice(&data);
        let answer = self.expect_ok(
            "INTERNAL AUTHENTICATE",
            &Command::new(0x00, 0x88, 0x00, 0x00).with_data(payload),
        )?;
        let expected = self.psam.internal_expected(&code, &factor, &data)?;
        if ct_eq(&expected, &answer) {
            Ok(())
        } else {
            Err(TerminalError::NotGenuine)
        }
    }

    /// INTERNAL AUTHENTICATE with a given factor and data (an online check's binding): the
    /// card's 8-byte answer, for the platform to verify.
    pub fn card_answer(
        &mut self,
        factor: &[u8; 8],
        data: &[u8; 8],
    ) -> Result<[u8; 8], TerminalError> {
        self.code()?;
        let mut payload = factor.to_vec();
        payload.extend_from_slice(data);
        let answer = self.expect_ok(
            "INTERNAL AUTHENTICATE",
            &Command::new(0x00, 0x88, 0x00, 0x00).with_data(payload),
        )?;
        answer
            .try_into()
            .map_err(|_| TerminalError::BadCardData("internal authentication answer"))
    }

    /// Whether the PSAM agrees with a card's answer to `factor`/`data` (the offline check).
    pub fn psam_agrees(
        &mut self,
        factor: &[u8; 8],
        data: &[u8; 8],
        answer: &[u8; 8],
    ) -> Result<bool, TerminalError> {
        let code = self.code()?;
        let expected = self.psam.internal_expected(&code, factor, data)?;
        Ok(ct_eq(&expected, answer))
    }

    /// The security module (its counter, its terminal number).
    pub fn psam(&mut self) -> &mut S {
        &mut self.psam
    }

    fn challenge(&mut self) -> Result<[u8; 8], TerminalError> {
        let c = self.expect_ok(
            "GET CHALLENGE",
            &Command::new(0x00, 0x84, 0x00, 0x00).with_le(8),
        )?;
        c.try_into()
            .map_err(|_| TerminalError::BadCardData("challenge"))
    }

    /// GET CHALLENGE + EXTERNAL AUTHENTICATE with the PSAM's cryptogram: the terminal proves
    /// itself to the social-security application.
    pub fn external_authenticate(&mut self) -> Result<(), TerminalError> {
        let code = self.code()?;
        // Ask the PSAM first: a PSAM without the key must not cost the card a try.
        self.psam.ready(&code, KeyUsage::ExternalAuth)?;
        let challenge = self.challenge()?;
        let crypt = self.psam.external_cryptogram(&code, &challenge)?;
        self.expect_ok(
            "EXTERNAL AUTHENTICATE",
            &Command::new(0x00, 0x82, 0x00, KeyUsage::ExternalAuth.id()).with_data(crypt.to_vec()),
        )?;
        Ok(())
    }

    /// READ BINARY of EF08 (the photo) in 240-byte chunks, after external authentication.
    pub fn read_photo(&mut self) -> Result<Vec<u8>, TerminalError> {
        self.expect_ok(
            "SELECT EF08",
            &Command::new(0x00, 0xA4, 0x02, 0x00).with_data(vec![0xEF, 0x08]),
        )?;
        let mut photo = Vec::new();
        while photo.len() < 0x1000 {
            let offset = photo.len() as u16;
            let chunk = self.expect_ok(
                "READ BINARY",
                &Command::new(0x00, 0xB0, (offset >> 8) as u8, (offset & 0xFF) as u8).with_le(240),
            )?;
            if chunk.is_empty() {
                break;
            }
            let short = chunk.len() < 240;
            photo.extend(chunk);
            if short {
                break;
            }
        }
        Ok(photo)
    }

    /// VERIFY the social-security PIN.
    pub fn verify_pin(&mut self, pin: &str) -> Result<(), TerminalError> {
        let mut digits = pin.to_owned();
        if digits.len() % 2 == 1 {
            digits.push('F');
        }
        let data = hex::decode(&digits).map_err(|_| TerminalError::BadCardData("PIN digits"))?;
        let r = self.exchange(&Command::new(0x00, 0x20, 0x00, 0x00).with_data(data))?;
        match r.sw {
            sw::OK => Ok(()),
            s if s & 0xFFF0 == 0x63C0 => Err(TerminalError::Pin {
                tries_left: (s & 0x0F) as u8,
            }),
            sw::BLOCKED => Err(TerminalError::Pin { tries_left: 0 }),
            s => Err(TerminalError::Status {
                command: "VERIFY",
                sw: s,
            }),
        }
    }

    /// SELECT DF04 and read its EF05 (medical-insurance base information; needs the PIN).
    pub fn read_medical(&mut self) -> Result<Vec<Record>, TerminalError> {
        self.expect_ok(
            "SELECT DF04",
            &Command::new(0x00, 0xA4, 0x04, 0x00).with_data(DF04_AID.to_vec()),
        )?;
        self.read_records(5)
    }

    /// UPDATE RECORD under secure messaging (CLA 04 + MAC) in the current application.
    pub fn update_record(
        &mut self,
        sfi: u8,
        record: u8,
        tag: u8,
        value: &[u8],
    ) -> Result<(), TerminalError> {
        let code = self.code()?;
        self.psam.ready(&code, KeyUsage::UpdateMac)?;
        let challenge = self.challenge()?;
        let mut body = vec![tag, value.len() as u8];
        body.extend_from_slice(value);
        let p2 = (sfi << 3) | 0x04;
        let lc = body.len() + 4;
        let mut signed = vec![0x04, 0xDC, record, p2, lc as u8];
        signed.extend_from_slice(&body);
        let mac = self
            .psam
            .mac(&code, KeyUsage::UpdateMac, &challenge, &signed)?;
        body.extend_from_slice(&mac);
        self.expect_ok(
            "UPDATE RECORD",
            &Command::new(0x04, 0xDC, record, p2).with_data(body),
        )?;
        Ok(())
    }

    /// The national reader-interface string, exactly as `iReadCardBas` returns it: eleven
    /// `|`-terminated fields.
    pub fn read_card_bas(&mut self) -> Result<String, TerminalError> {
        let b = self.read_basics()?;
        Ok(b.reader_string(&self.psam.terminal_id(), &self.psam.device_id()))
    }
}

/// Convenience: an in-process terminal for a card image.
pub fn in_process(card: SoftCard, psam: Psam) -> Terminal<InProcess, Psam> {
    Terminal::new(InProcess::new(card), psam)
}
