//! ISO 7816-4 APDUs: commands and responses in short and extended length, and the status words
//! of the social security card (ssc-facts §4.6).

use std::fmt;

/// A command APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte (`00`; `04` with secure messaging; `80`/`84` proprietary).
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (Lc is its length).
    pub data: Vec<u8>,
    /// Expected response length: `None` for none, `Some(0)` for "as much as there is"
    /// (256 short, 65 536 extended).
    pub le: Option<usize>,
}

/// Why bytes are not a command APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApduError {
    /// Fewer than 4 bytes.
    TooShort { len: usize },
    /// Lc and the bytes present disagree.
    BadLength { len: usize },
    /// A response without its two status bytes.
    NoStatus,
}

impl fmt::Display for ApduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApduError::TooShort { len } => {
                write!(f, "APDU 过短（too short）: {len} bytes, at least 4")
            }
            ApduError::BadLength { len } => {
                write!(
                    f,
                    "APDU 长度字段与数据不符（length field and data disagree）: {len} bytes"
                )
            }
            ApduError::NoStatus => f.write_str("响应缺少状态字（response without status word）"),
        }
    }
}

impl std::error::Error for ApduError {}

impl Command {
    /// A command without data or Le.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// With command data.
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// With an expected length (0 = all available).
    #[must_use]
    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// Whether encoding needs the extended-length form.
    pub fn is_extended(&self) -> bool {
        self.data.len() > 255 || self.le.is_some_and(|le| le > 256)
    }

    /// The bytes on the wire (cases 1–4, short or extended).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        let extended = self.is_extended();
        if !self.data.is_empty() {
            if extended {
                out.push(0);
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
            } else {
                out.push(self.data.len() as u8);
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            if extended {
                if self.data.is_empty() {
                    out.push(0);
                }
                out.extend_from_slice(&((le % 65_536) as u16).to_be_bytes());
            } else {
                out.push((le % 256) as u8);
            }
        }
        out
    }

    /// Parses a command APDU in any of the seven encodings (short and extended cases).
    pub fn parse(b: &[u8]) -> Result<Command, ApduError> {
        if b.len() < 4 {
            return Err(ApduError::TooShort { len: b.len() });
        }
        let mut c = Command::new(b[0], b[1], b[2], b[3]);
        let body = &b[4..];
        let bad = || ApduError::BadLength { len: b.len() };
        match body.len() {
            0 => {}
            1 => c.le = Some(if body[0] == 0 { 256 } else { body[0] as usize }),
            _ if body[0] != 0 => {
                let lc = body[0] as usize;
                match body.len() - 1 {
                    n if n == lc => c.data = body[1..].to_vec(),
                    n if n == lc + 1 => {
                        c.data = body[1..=lc].to_vec();
                        let le = body[lc + 1] as usize;
                        c.le = Some(if le == 0 { 256 } else { le });
                    }
                    _ => return Err(bad()),
                }
            }
            // `00 xx`: neither a short Lc (which is never 0) nor an extended length field.
            2 => return Err(bad()),
            3 => {
                let le = u16::from_be_bytes([body[1], body[2]]) as usize;
                c.le = Some(if le == 0 { 65_536 } else { le });
            }
            _ => {
                let lc = u16::from_be_bytes([body[1], body[2]]) as usize;
                let rest = &body[3..];
                match rest.len() {
                    n if n == lc => c.data = rest.to_vec(),
                    n if n == lc + 2 => {
                        c.data = rest[..lc].to_vec();
                        let le = u16::from_be_bytes([rest[lc], rest[lc + 1]]) as usize;
                        c.le = Some(if le == 0 { 65_536 } else { le });
                    }
                    _ => return Err(bad()),
                }
            }
        }
        Ok(c)
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode_upper(self.to_bytes()))
    }
}

/// A response APDU: data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data.
    pub data: Vec<u8>,
    /// Status word (`9000` success).
    pub sw: u16,
}

impl Response {
    /// Success with data.
    pub fn ok(data: impl Into<Vec<u8>>) -> Self {
        Self {
            data: data.into(),
            sw: sw::OK,
        }
    }

    /// A bare status word.
    pub fn status(sw: u16) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }

    /// Whether the status is `9000`.
    pub fn is_ok(&self) -> bool {
        self.sw == sw::OK
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = self.data.clone();
        v.extend_from_slice(&self.sw.to_be_bytes());
        v
    }

    /// Parses data + SW1 SW2.
    pub fn parse(b: &[u8]) -> Result<Response, ApduError> {
        if b.len() < 2 {
            return Err(ApduError::NoStatus);
        }
        let (data, sw) = b.split_at(b.len() - 2);
        Ok(Response {
            data: data.to_vec(),
            sw: u16::from_be_bytes([sw[0], sw[1]]),
        })
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:04X}", hex::encode_upper(&self.data), self.sw)
    }
}

/// Status words used by the card (ssc-facts §4.6).
pub mod sw {
    /// Success.
    pub const OK: u16 = 0x9000;
    /// Wrong length (P1/P2/Lc inconsistent).
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// Memory error.
    pub const MEMORY: u16 = 0x6581;
    /// Command incompatible with file structure.
    pub const INCOMPATIBLE_FILE: u16 = 0x6981;
    /// Security status not satisfied.
    pub const SECURITY: u16 = 0x6982;
    /// Authentication method blocked.
    pub const BLOCKED: u16 = 0x6983;
    /// Referenced data invalid (e.g. no challenge).
    pub const DATA_INVALID: u16 = 0x6984;
    /// Conditions of use not satisfied.
    pub const CONDITIONS: u16 = 0x6985;
    /// Command not allowed (no current EF).
    pub const NO_CURRENT_EF: u16 = 0x6986;
    /// Secure-messaging data incorrect (bad MAC).
    pub const SM_INCORRECT: u16 = 0x6988;
    /// Wrong data field.
    pub const BAD_DATA: u16 = 0x6A80;
    /// Function not supported.
    pub const NOT_SUPPORTED: u16 = 0x6A81;
    /// File not found.
    pub const FILE_NOT_FOUND: u16 = 0x6A82;
    /// Record not found.
    pub const RECORD_NOT_FOUND: u16 = 0x6A83;
    /// Wrong P1/P2.
    pub const BAD_P1P2: u16 = 0x6A86;
    /// Key / reference data not found.
    pub const KEY_NOT_FOUND: u16 = 0x6A88;
    /// Instruction not supported.
    pub const BAD_INS: u16 = 0x6D00;
    /// Class not supported.
    pub const BAD_CLA: u16 = 0x6E00;

    /// `61xx`: `xx` more bytes are waiting for GET RESPONSE.
    pub fn more(n: usize) -> u16 {
        0x6100 | (n.min(255) as u16)
    }
    /// `6Cxx`: wrong Le, resend with Le = `xx`.
    pub fn wrong_le(n: usize) -> u16 {
        0x6C00 | (n.min(255) as u16)
    }
    /// `63Cx`: verification failed, `x` tries left.
    pub fn tries_left(n: u8) -> u16 {
        0x63C0 | u16::from(n.min(15))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn select_ssse_encodes_as_in_the_field() {
        let aid = hex::decode("7378312E73682EC9E7BBE1B1A3D5CF").unwrap();
        let c = Command::new(0x00, 0xA4, 0x04, 0x00).with_data(aid);
        assert_eq!(
            hex::encode_upper(c.to_bytes()),
            "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"
        );
        assert_eq!(Command::parse(&c.to_bytes()).unwrap(), c);
    }

    #[test]
    fn the_short_and_extended_cases() {
        for (hex_text, data_len, le) in [
            ("00A40000", 0, None),
            ("00B2072C0B", 0, Some(11)),
            ("00B2072C00", 0, Some(256)),
            ("00A4000002EF05", 2, None),
            ("0088000010000102030405060708090A0B0C0D0E0F08", 16, Some(8)),
            ("00B0000000FFFF", 0, Some(65_535)),
            ("00B00000000000", 0, Some(65_536)),
        ] {
            let bytes = hex::decode(hex_text).unwrap();
            let c = Command::parse(&bytes).unwrap();
            assert_eq!((c.data.len(), c.le), (data_len, le), "{hex_text}");
            assert_eq!(hex::encode_upper(c.to_bytes()), hex_text, "re-encoded");
        }
    }

    #[test]
    fn extended_photo_update_round_trips() {
        let c = Command::new(0x00, 0xD6, 0x00, 0x00).with_data(vec![0xAB; 4096]);
        let b = c.to_bytes();
        assert_eq!(&b[4..7], &[0x00, 0x10, 0x00]);
        assert_eq!(Command::parse(&b).unwrap(), c);
    }

    #[test]
    fn bad_lengths_are_refused() {
        // Found by the robustness property test: a 2-byte body starting with 00 used to panic.
        assert!(matches!(
            Command::parse(&hex::decode("00A4000000AB").unwrap()),
            Err(ApduError::BadLength { .. })
        ));
        assert_eq!(
            Command::parse(&[0, 0xA4]).unwrap_err(),
            ApduError::TooShort { len: 2 }
        );
        assert!(matches!(
            Command::parse(&hex::decode("00A4000005EF05").unwrap()),
            Err(ApduError::BadLength { .. })
        ));
        assert_eq!(Response::parse(&[0x90]).unwrap_err(), ApduError::NoStatus);
    }

    #[test]
    fn status_word_helpers() {
        assert_eq!(sw::more(0x1C), 0x611C);
        assert_eq!(sw::wrong_le(0x0B), 0x6C0B);
        assert_eq!(sw::tries_left(2), 0x63C2);
        assert_eq!(
            Response::parse(&[1, 2, 0x90, 0]).unwrap(),
            Response::ok(vec![1, 2])
        );
    }

    proptest! {
        #[test]
        fn commands_round_trip(cla in any::<u8>(), ins in any::<u8>(), p1 in any::<u8>(), p2 in any::<u8>(),
                               data in prop::collection::vec(any::<u8>(), 0..600), le in prop::option::of(1usize..=65_536)) {
            let c = Command { cla, ins, p1, p2, data, le };
            prop_assert_eq!(Command::parse(&c.to_bytes()).unwrap(), c);
        }

        #[test]
        fn parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = Command::parse(&bytes);
            let _ = Response::parse(&bytes);
        }
    }
}
