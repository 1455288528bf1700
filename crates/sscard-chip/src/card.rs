//! The card OS: a second/third-generation social security card in software.
//!
//! File structure (ssc-facts §3): MF `3F00` → SSSE (DDF `DDF1`, AID "sx1.sh.社会保障") with EF05
//! (issuer data), EF06 (holder), EF08 (photo, binary) and DF04 (AID `D15600000503`, medical:
//! EF05 base info); beside it the bank application (AID `A000000333010101`) as its own partition
//! with the PAN (SFI 2, tag `5A`) and protected account data (SFI 3, bank PIN).
//!
//! Access conditions: EF05 read free, never updated; EF06 read free, update after external
//! authentication; EF07/EF08 read after external authentication; DF01–DF04 read after the PIN,
//! update after the PIN **and** external authentication; every update also with a MAC (CLA `04`);
//! the bank's SFI 3 only after the bank PIN. Security state belongs to an application (the SSSE
//! with its DFs, or the bank) and is lost on selecting another one.
//!
//! T=0 behaviour: a command that returns data without asking for it (case 4) gets `61xx` and the
//! data waits for GET RESPONSE; a read with the wrong Le gets `6Cxx`.

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use crate::apdu::{Command, Response, sw};
use crate::crypto::{Algorithm, cryptogram, ct_eq, session_mac};
use crate::keys::{KeySet, KeyUsage};

/// AID of the social-security environment: "sx1.sh.社会保障" in GBK.
pub const SSSE_AID: [u8; 15] = [
    0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF,
];
/// AID of `DF04` "社会保险2" (medical).
pub const DF04_AID: [u8; 6] = [0xD1, 0x56, 0x00, 0x00, 0x05, 0x03];
/// AID of `DF0n` (n = 1..4): RID `D156000005` + PIX `00`..`03`.
pub fn df_aid(n: u8) -> [u8; 6] {
    [0xD1, 0x56, 0x00, 0x00, 0x05, n.wrapping_sub(1)]
}
/// AID of the UnionPay debit application (the bank partition).
pub const BANK_AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01];

/// One TLV record: data-item tag and value.
pub type Record = (u8, Vec<u8>);

/// Everything a card holds: files, keys, PINs and counters. Serialisable as a card image.
/// `Debug` shows the layout, never the PINs, keys or holder data; the PINs are zeroized when
/// the image is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct CardImage {
    /// Answer to reset.
    pub atr: Vec<u8>,
    /// SM4 (3rd generation) or 3DES (2nd generation).
    pub alg: Algorithm,
    /// The card's own (card-level) keys.
    pub keys: KeySet,
    /// EF05 issuer data, one TLV per record (tags 01–07).
    pub ef05: Vec<Record>,
    /// EF06 holder data (tags 08, 09, 4E, 0A, 0B, 0C, 0D).
    pub ef06: Vec<Record>,
    /// EF08 photo (JPEG, up to 4,096 bytes).
    pub photo: Vec<u8>,
    /// DF04 EF05 medical-insurance base information.
    pub medical: Vec<Record>,
    /// EF05 of DF01 (public information), DF02 (employment) and DF03 (social insurance 1).
    pub df_records: [Vec<Record>; 3],
    /// EF07 fingerprint template (binary, read after external authentication).
    pub fingerprint: Vec<u8>,
    /// The social-security PIN (digits).
    pub pin: String,
    /// Tries left for the social-security PIN.
    pub pin_tries: u8,
    /// Tries allowed after an unblock.
    pub pin_max_tries: u8,
    /// Tries left for external authentication.
    pub ext_auth_tries: u8,
    /// The bank PAN (digits).
    pub pan: String,
    /// The bank PIN (digits).
    pub bank_pin: String,
    /// Tries left for the bank PIN.
    pub bank_pin_tries: u8,
    /// Protected bank records (SFI 3), readable after the bank PIN.
    pub bank_protected: Vec<Record>,
}

impl std::fmt::Debug for CardImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardImage")
            .field("atr", &hex::encode(&self.atr))
            .field("alg", &self.alg)
            .field("keys", &"***")
            .field("ef05_records", &self.ef05.len())
            .field("ef06_records", &self.ef06.len())
            .field("photo_bytes", &self.photo.len())
            .field("pin", &"***")
            .field("pin_tries", &self.pin_tries)
            .field("pan", &sscard_ids::mask_middle(&self.pan, 6, 4))
            .field("bank_pin", &"***")
            .field("bank_pin_tries", &self.bank_pin_tries)
            .finish_non_exhaustive()
    }
}

impl Drop for CardImage {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.pin.zeroize();
        self.bank_pin.zeroize();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum App {
    Mf,
    Ssse,
    /// DF01..DF04 under the SSSE.
    Df(u8),
    Bank,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ef {
    Ef05,
    Ef06,
    Ef07,
    Ef08,
    /// `EF05` of `DF0n`.
    DfEf05(u8),
}

/// Access condition of a file operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// No condition.
    Free,
    /// The social-security PIN verified.
    Pin,
    /// External authentication with the application's key.
    ExtAuth,
    /// Both the PIN and external authentication.
    PinAndExtAuth,
    /// The bank PIN verified.
    BankPin,
    /// Never (basic application data does not change over the card's life).
    Never,
}

/// A powered card: the image plus volatile state.
#[derive(Debug)]
// The flags are independent pieces of the card's security state and protocol; an enum would
// have to spell out their combinations.
#[allow(clippy::struct_excessive_bools)]
pub struct SoftCard {
    image: CardImage,
    app: App,
    ef: Option<Ef>,
    challenge: Option<[u8; 8]>,
    ext_auth: bool,
    pin_ok: bool,
    bank_pin_ok: bool,
    pending: Vec<u8>,
    t0: bool,
    rng: StdRng,
}

fn bcd_digits(b: &[u8]) -> String {
    let mut s = String::new();
    for byte in b {
        for nibble in [byte >> 4, byte & 0x0F] {
            if nibble < 10 {
                s.push(char::from(b'0' + nibble));
            }
        }
    }
    s
}

impl SoftCard {
    /// Powers a card up (T=0 behaviour, random challenges).
    pub fn new(image: CardImage) -> Self {
        Self::with_seed(image, rand::random())
    }

    /// Powers a card up with a seeded challenge generator (for scripted tests).
    pub fn with_seed(image: CardImage, seed: u64) -> Self {
        Self {
            image,
            app: App::Mf,
            ef: None,
            challenge: None,
            ext_auth: false,
            pin_ok: false,
            bank_pin_ok: false,
            pending: Vec::new(),
            t0: true,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// T=1 behaviour instead: responses come back at once, no `61xx`/`6Cxx`.
    #[must_use]
    pub fn t1(mut self) -> Self {
        self.t0 = false;
        self
    }

    /// The answer to reset.
    pub fn atr(&self) -> &[u8] {
        &self.image.atr
    }

    /// The image with its current counters (for saving back to a file).
    pub fn image(&self) -> &CardImage {
        &self.image
    }

    /// Resets volatile state (a new power-up).
    pub fn reset(&mut self) {
        self.app = App::Mf;
        self.ef = None;
        self.challenge = None;
        self.ext_auth = false;
        self.pin_ok = false;
        self.bank_pin_ok = false;
        self.pending.clear();
    }

    /// Processes one command APDU and returns the response bytes. Never panics on any input.
    pub fn process(&mut self, bytes: &[u8]) -> Vec<u8> {
        let Ok(cmd) = Command::parse(bytes) else {
            return Response::status(sw::WRONG_LENGTH).to_bytes();
        };
        // Anything but GET RESPONSE discards data waiting from a 61xx.
        if cmd.ins != 0xC0 {
            self.pending.clear();
        }
        let r = self.dispatch(&cmd);
        r.to_bytes()
    }

    fn dispatch(&mut self, c: &Command) -> Response {
        if c.cla & 0xF0 != 0x00 && c.cla & 0xF0 != 0x80 {
            return Response::status(sw::BAD_CLA);
        }
        match c.ins {
            0xA4 => self.select(c),
            0xB2 => self.read_record(c),
            0xB0 => self.read_binary(c),
            0xDC => self.update_record(c),
            0x84 => self.get_challenge(c),
            0x88 => self.internal_authenticate(c),
            0x82 => self.external_authenticate(c),
            0x20 => self.verify(c),
            0x5E if c.cla == 0x80 => self.change_pin(c),
            0x24 if c.cla == 0x84 => self.unblock(c),
            0xC0 => self.get_response(c),
            _ => Response::status(sw::BAD_INS),
        }
    }

    /// Data returned by a case-4 command: under T=0 it waits for GET RESPONSE.
    fn case4(&mut self, data: Vec<u8>, le: Option<usize>) -> Response {
        if self.t0 && le.is_none() && !data.is_empty() {
            let n = data.len();
            self.pending = data;
            return Response::status(sw::more(n));
        }
        Response::ok(data)
    }

    /// Data returned by a case-2 read: under T=0 a wrong Le gets `6Cxx`.
    fn case2(&self, data: Vec<u8>, le: Option<usize>) -> Response {
        if self.t0
            && let Some(le) = le
            && le != data.len()
            && data.len() < 256
        {
            return Response::status(sw::wrong_le(data.len()));
        }
        Response::ok(data)
    }

    fn get_response(&mut self, c: &Command) -> Response {
        if self.pending.is_empty() {
            return Response::status(sw::CONDITIONS);
        }
        let n = self.pending.len();
        match c.le {
            Some(le) if le == n || (le == 256 && n == 256) => {
                Response::ok(std::mem::take(&mut self.pending))
            }
            _ => Response::status(sw::wrong_le(n)),
        }
    }

    fn enter(&mut self, app: App) {
        if self.app != app {
            // Security state belongs to one application; the social-security PIN and external
            // authentication at the SSSE level serve all its DFs.
            let ss = |a: App| matches!(a, App::Ssse | App::Df(_));
            let within_ss = ss(self.app) && ss(app);
            self.ext_auth = within_ss && self.ext_auth;
            self.pin_ok = within_ss && self.pin_ok;
            self.bank_pin_ok = false;
            self.challenge = None;
        }
        self.app = app;
        self.ef = None;
    }

    fn fci(&self, aid: &[u8]) -> Vec<u8> {
        // 6F { 84 AID, A5 { 9F0C 03 86 01 alg } }: readers pick the PSAM algorithm from 9F0C.
        let alg = match self.image.alg {
            Algorithm::Sm4 => 0x03,
            Algorithm::Tdes => 0x01,
        };
        let prop = [0x9F, 0x0C, 0x03, 0x86, 0x01, alg];
        let mut inner = vec![0x84, aid.len() as u8];
        inner.extend_from_slice(aid);
        inner.push(0xA5);
        inner.push(prop.len() as u8);
        inner.extend_from_slice(&prop);
        let mut out = vec![0x6F, inner.len() as u8];
        out.extend(inner);
        out
    }

    fn select(&mut self, c: &Command) -> Response {
        match c.p1 {
            0x04 => {
                let (app, aid): (App, &[u8]) = if c.data == SSSE_AID {
                    (App::Ssse, &SSSE_AID)
                } else if let Some(n) = (1..=4u8).find(|n| c.data == df_aid(*n))
                    && matches!(self.app, App::Ssse | App::Df(_))
                {
                    (App::Df(n), &c.data)
                } else if c.data == BANK_AID {
                    (App::Bank, &BANK_AID)
                } else {
                    return Response::status(sw::FILE_NOT_FOUND);
                };
                self.enter(app);
                let fci = self.fci(aid);
                self.case4(fci, c.le)
            }
            0x00 | 0x02 => {
                if c.data.len() != 2 {
                    return Response::status(sw::WRONG_LENGTH);
                }
                let fid = u16::from_be_bytes([c.data[0], c.data[1]]);
                match (self.app, fid) {
                    (_, 0x3F00) => self.enter(App::Mf),
                    (App::Mf | App::Ssse | App::Df(_), 0xDDF1) => self.enter(App::Ssse),
                    (App::Ssse | App::Df(_), 0xDF01..=0xDF04) => {
                        self.enter(App::Df((fid & 0xFF) as u8));
                    }
                    (App::Ssse, 0xEF05) => self.ef = Some(Ef::Ef05),
                    (App::Ssse, 0xEF06) => self.ef = Some(Ef::Ef06),
                    (App::Ssse, 0xEF07) => self.ef = Some(Ef::Ef07),
                    (App::Ssse, 0xEF08) => self.ef = Some(Ef::Ef08),
                    (App::Df(n), 0xEF05) => self.ef = Some(Ef::DfEf05(n)),
                    _ => return Response::status(sw::FILE_NOT_FOUND),
                }
                Response::status(sw::OK)
            }
            _ => Response::status(sw::BAD_P1P2),
        }
    }

    fn granted(&self, access: Access) -> bool {
        match access {
            Access::Free => true,
            Access::Pin => self.pin_ok,
            Access::ExtAuth => self.ext_auth,
            Access::PinAndExtAuth => self.pin_ok && self.ext_auth,
            Access::BankPin => self.bank_pin_ok,
            Access::Never => false,
        }
    }

    /// The records of a record file, its read access and its update access.
    fn record_file(&mut self, sfi: Option<u8>) -> Result<(Ef, Access, Access), u16> {
        let ef = match (self.app, sfi) {
            (App::Ssse, Some(5)) => Ef::Ef05,
            (App::Ssse, Some(6)) => Ef::Ef06,
            (App::Df(n), Some(5)) => Ef::DfEf05(n),
            (_, Some(_)) => return Err(sw::FILE_NOT_FOUND),
            (_, None) => self.ef.ok_or(sw::NO_CURRENT_EF)?,
        };
        if sfi.is_some() {
            self.ef = Some(ef);
        }
        match ef {
            // EF05 is issuer data fixed at personalisation; holder data may be corrected by an
            // authenticated terminal; DF files need the holder's PIN, and updates also the key.
            Ef::Ef05 => Ok((ef, Access::Free, Access::Never)),
            Ef::Ef06 => Ok((ef, Access::Free, Access::ExtAuth)),
            Ef::DfEf05(_) => Ok((ef, Access::Pin, Access::PinAndExtAuth)),
            Ef::Ef07 | Ef::Ef08 => Err(sw::INCOMPATIBLE_FILE),
        }
    }

    fn records(&mut self, ef: Ef) -> &mut Vec<Record> {
        match ef {
            Ef::Ef05 => &mut self.image.ef05,
            Ef::Ef06 => &mut self.image.ef06,
            Ef::DfEf05(4) => &mut self.image.medical,
            Ef::DfEf05(n) => &mut self.image.df_records[usize::from(n.clamp(1, 3)) - 1],
            Ef::Ef07 | Ef::Ef08 => unreachable!("binary file"),
        }
    }

    fn read_record(&mut self, c: &Command) -> Response {
        if self.app == App::Bank {
            return self.read_bank_record(c);
        }
        let sfi = (c.p2 >> 3 != 0).then_some(c.p2 >> 3);
        let (ef, read, _) = match self.record_file(sfi) {
            Ok(v) => v,
            Err(s) => return Response::status(s),
        };
        if !self.granted(read) {
            return Response::status(sw::SECURITY);
        }
        let records = self.records(ef);
        let found = match c.p2 & 0x07 {
            0x04 => records.get(usize::from(c.p1).wrapping_sub(1)),
            0x00 => records.iter().find(|(tag, _)| *tag == c.p1),
            _ => return Response::status(sw::BAD_P1P2),
        };
        let Some((tag, value)) = found else {
            return Response::status(sw::RECORD_NOT_FOUND);
        };
        let mut tlv = vec![*tag, value.len() as u8];
        tlv.extend_from_slice(value);
        self.case2(tlv, c.le)
    }

    fn read_bank_record(&mut self, c: &Command) -> Response {
        let sfi = c.p2 >> 3;
        if c.p2 & 0x07 != 0x04 {
            return Response::status(sw::BAD_P1P2);
        }
        let data = match (sfi, c.p1) {
            // The PAN is readable by any terminal, as in the field.
            (2, 1) => {
                let mut pan = self.image.pan.clone();
                if pan.len() % 2 == 1 {
                    pan.push('F');
                }
                let bytes = hex::decode(&pan).unwrap_or_default();
                let mut inner = vec![0x5A, bytes.len() as u8];
                inner.extend(bytes);
                let mut rec = vec![0x70, inner.len() as u8];
                rec.extend(inner);
                rec
            }
            (3, n) => {
                if !self.granted(Access::BankPin) {
                    return Response::status(sw::SECURITY);
                }
                let Some((tag, v)) = self
                    .image
                    .bank_protected
                    .get(usize::from(n).wrapping_sub(1))
                else {
                    return Response::status(sw::RECORD_NOT_FOUND);
                };
                let mut rec = vec![0x70, (v.len() + 2) as u8, *tag, v.len() as u8];
                rec.extend_from_slice(v);
                rec
            }
            _ => return Response::status(sw::RECORD_NOT_FOUND),
        };
        self.case2(data, c.le)
    }

    fn read_binary(&mut self, c: &Command) -> Response {
        let (offset, ef) = if c.p1 & 0x80 != 0 {
            let ef = match (self.app, c.p1 & 0x1F) {
                (App::Ssse, 7) => Ef::Ef07,
                (App::Ssse, 8) => Ef::Ef08,
                _ => return Response::status(sw::FILE_NOT_FOUND),
            };
            (usize::from(c.p2), ef)
        } else {
            (
                usize::from(u16::from_be_bytes([c.p1, c.p2])),
                match self.ef {
                    Some(ef) => ef,
                    None => return Response::status(sw::NO_CURRENT_EF),
                },
            )
        };
        if !matches!(ef, Ef::Ef07 | Ef::Ef08) {
            return Response::status(sw::INCOMPATIBLE_FILE);
        }
        if !self.granted(Access::ExtAuth) {
            return Response::status(sw::SECURITY);
        }
        let photo = if ef == Ef::Ef07 {
            &self.image.fingerprint
        } else {
            &self.image.photo
        };
        if offset > photo.len() {
            return Response::status(sw::BAD_P1P2);
        }
        let want = c.le.unwrap_or(256);
        let end = (offset + want).min(photo.len());
        Response::ok(photo[offset..end].to_vec())
    }

    fn get_challenge(&mut self, c: &Command) -> Response {
        if c.le != Some(8) {
            return Response::status(sw::WRONG_LENGTH);
        }
        let mut ch = [0u8; 8];
        self.rng.fill_bytes(&mut ch);
        self.challenge = Some(ch);
        Response::ok(ch.to_vec())
    }

    fn usage_key(&self, usage: KeyUsage) -> Option<&crate::crypto::Key16> {
        self.image.keys.get(usage)
    }

    fn internal_authenticate(&mut self, c: &Command) -> Response {
        if c.data.len() != 16 {
            return Response::status(sw::WRONG_LENGTH);
        }
        let usage = if self.app == App::Bank {
            KeyUsage::BankAuth
        } else {
            KeyUsage::InternalAuth
        };
        let Some(key) = self.usage_key(usage) else {
            return Response::status(sw::KEY_NOT_FOUND);
        };
        let factor: [u8; 8] = c.data[..8].try_into().expect("8 bytes");
        let data: [u8; 8] = c.data[8..].try_into().expect("8 bytes");
        let process_key = key.diversify(self.image.alg, &factor);
        let result = cryptogram(self.image.alg, &process_key, &data);
        self.case4(result.to_vec(), c.le)
    }

    fn external_authenticate(&mut self, c: &Command) -> Response {
        let usage = match (self.app, c.p2) {
            (App::Ssse | App::Df(_), 0x0A) => KeyUsage::ExternalAuth,
            (App::Bank, 0x21) => KeyUsage::BankAuth,
            _ => return Response::status(sw::KEY_NOT_FOUND),
        };
        if self.image.ext_auth_tries == 0 {
            return Response::status(sw::BLOCKED);
        }
        let Some(challenge) = self.challenge.take() else {
            return Response::status(sw::DATA_INVALID);
        };
        if c.data.len() != 8 {
            return Response::status(sw::WRONG_LENGTH);
        }
        let Some(key) = self.usage_key(usage) else {
            return Response::status(sw::KEY_NOT_FOUND);
        };
        let expected = cryptogram(self.image.alg, key, &challenge);
        if ct_eq(&expected, &c.data) {
            self.ext_auth = true;
            Response::status(sw::OK)
        } else {
            self.image.ext_auth_tries -= 1;
            self.ext_auth = false;
            if self.image.ext_auth_tries == 0 {
                Response::status(sw::BLOCKED)
            } else {
                Response::status(sw::tries_left(self.image.ext_auth_tries))
            }
        }
    }

    fn verify(&mut self, c: &Command) -> Response {
        let bank = self.app == App::Bank;
        if !bank && !matches!(self.app, App::Ssse | App::Df(_)) {
            return Response::status(sw::CONDITIONS);
        }
        let (pin, tries) = if bank {
            (self.image.bank_pin.clone(), self.image.bank_pin_tries)
        } else {
            (self.image.pin.clone(), self.image.pin_tries)
        };
        if tries == 0 {
            return Response::status(sw::BLOCKED);
        }
        if !(2..=8).contains(&c.data.len()) {
            return Response::status(sw::WRONG_LENGTH);
        }
        let ok = ct_eq(bcd_digits(&c.data).as_bytes(), pin.as_bytes());
        let (flag, counter) = if bank {
            (&mut self.bank_pin_ok, &mut self.image.bank_pin_tries)
        } else {
            (&mut self.pin_ok, &mut self.image.pin_tries)
        };
        if ok {
            *flag = true;
            *counter = self.image.pin_max_tries;
            Response::status(sw::OK)
        } else {
            *flag = false;
            *counter -= 1;
            if *counter == 0 {
                Response::status(sw::BLOCKED)
            } else {
                Response::status(sw::tries_left(*counter))
            }
        }
    }

    fn change_pin(&mut self, c: &Command) -> Response {
        if !matches!(self.app, App::Ssse | App::Df(_)) {
            return Response::status(sw::CONDITIONS);
        }
        let Some(sep) = c.data.iter().position(|b| *b == 0xFF) else {
            return Response::status(sw::BAD_DATA);
        };
        let old = Command::new(0x00, 0x20, 0x00, 0x00).with_data(c.data[..sep].to_vec());
        let r = self.verify(&old);
        if !r.is_ok() {
            return r;
        }
        let new = bcd_digits(&c.data[sep + 1..]);
        if !(4..=16).contains(&new.len()) {
            return Response::status(sw::BAD_DATA);
        }
        self.image.pin = new;
        Response::status(sw::OK)
    }

    fn unblock(&mut self, c: &Command) -> Response {
        let Some(challenge) = self.challenge.take() else {
            return Response::status(sw::DATA_INVALID);
        };
        if c.data.len() != 4 {
            return Response::status(sw::WRONG_LENGTH);
        }
        let Some(key) = self.usage_key(KeyUsage::PinUnblock) else {
            return Response::status(sw::KEY_NOT_FOUND);
        };
        let header = [c.cla, c.ins, c.p1, c.p2, 0x04];
        if !ct_eq(
            &session_mac(self.image.alg, key, &challenge, &header),
            &c.data,
        ) {
            return Response::status(sw::SM_INCORRECT);
        }
        self.image.pin_tries = self.image.pin_max_tries;
        Response::status(sw::OK)
    }

    fn update_record(&mut self, c: &Command) -> Response {
        if self.app == App::Bank {
            return Response::status(sw::CONDITIONS);
        }
        let sfi = (c.p2 >> 3 != 0).then_some(c.p2 >> 3);
        let (ef, _, update) = match self.record_file(sfi) {
            Ok(v) => v,
            Err(s) => return Response::status(s),
        };
        if !self.granted(update) {
            return Response::status(sw::SECURITY);
        }
        // Updates need secure messaging: CLA 04, the last 4 data bytes a MAC over the header and
        // the data, keyed with the update key and the card's fresh challenge (no replays).
        if c.cla != 0x04 {
            return Response::status(sw::SECURITY);
        }
        let Some(challenge) = self.challenge.take() else {
            return Response::status(sw::DATA_INVALID);
        };
        if c.data.len() < 6 {
            return Response::status(sw::WRONG_LENGTH);
        }
        let (body, mac) = c.data.split_at(c.data.len() - 4);
        let Some(key) = self.usage_key(KeyUsage::UpdateMac) else {
            return Response::status(sw::KEY_NOT_FOUND);
        };
        let mut signed = vec![c.cla, c.ins, c.p1, c.p2, c.data.len() as u8];
        signed.extend_from_slice(body);
        if !ct_eq(&session_mac(self.image.alg, key, &challenge, &signed), mac) {
            return Response::status(sw::SM_INCORRECT);
        }
        let (tag, len) = (body[0], usize::from(body[1]));
        if body.len() != len + 2 {
            return Response::status(sw::BAD_DATA);
        }
        let value = body[2..].to_vec();
        let records = self.records(ef);
        let Some(slot) = records.get_mut(usize::from(c.p1).wrapping_sub(1)) else {
            return Response::status(sw::RECORD_NOT_FOUND);
        };
        if slot.0 != tag {
            return Response::status(sw::BAD_DATA);
        }
        slot.1 = value;
        Response::status(sw::OK)
    }
}
