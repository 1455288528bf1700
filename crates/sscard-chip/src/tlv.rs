//! BER-TLV (ISO 7816-4 / EMV): multi-byte tags, short and long lengths, constructed data
//! objects. The card's record files use the simpler one-byte-tag TLV of ssc-facts §3.2, one per
//! record; this module is for FCIs and the bank application's templates.

/// One data object: tag (1–3 bytes), value, and its children when constructed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// The tag as an integer (`0x9F0C`).
    pub tag: u32,
    /// The value bytes.
    pub value: Vec<u8>,
}

/// Why bytes are not BER-TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlvError {
    /// Offset of the problem.
    pub at: usize,
}

impl std::fmt::Display for TlvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BER-TLV 数据有误（malformed BER-TLV） at byte {}",
            self.at
        )
    }
}

impl std::error::Error for TlvError {}

impl Tlv {
    /// Whether the tag marks a constructed object (bit 6 of the first byte).
    pub fn is_constructed(&self) -> bool {
        let first = if self.tag > 0xFFFF {
            self.tag >> 16
        } else if self.tag > 0xFF {
            self.tag >> 8
        } else {
            self.tag
        };
        first & 0x20 != 0
    }

    /// The children of a constructed object.
    pub fn children(&self) -> Result<Vec<Tlv>, TlvError> {
        parse_all(&self.value)
    }

    /// Encodes the object.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let tag = self.tag.to_be_bytes();
        let skip = tag.iter().take_while(|b| **b == 0).count().min(3);
        out.extend_from_slice(&tag[skip..]);
        let n = self.value.len();
        if n < 0x80 {
            out.push(n as u8);
        } else if n <= 0xFF {
            out.extend_from_slice(&[0x81, n as u8]);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        out.extend_from_slice(&self.value);
        out
    }
}

/// Parses a sequence of data objects (padding bytes `00`/`FF` between them are skipped).
pub fn parse_all(b: &[u8]) -> Result<Vec<Tlv>, TlvError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == 0x00 || b[i] == 0xFF {
            i += 1;
            continue;
        }
        let start = i;
        let mut tag = u32::from(b[i]);
        if b[i] & 0x1F == 0x1F {
            loop {
                i += 1;
                let byte = *b.get(i).ok_or(TlvError { at: i })?;
                tag = (tag << 8) | u32::from(byte);
                if byte & 0x80 == 0 {
                    break;
                }
                if tag > 0xFF_FFFF {
                    return Err(TlvError { at: start });
                }
            }
        }
        i += 1;
        let first = *b.get(i).ok_or(TlvError { at: i })?;
        i += 1;
        let len = match first {
            0x00..=0x7F => usize::from(first),
            0x81 => {
                let l = *b.get(i).ok_or(TlvError { at: i })?;
                i += 1;
                usize::from(l)
            }
            0x82 => {
                let hi = *b.get(i).ok_or(TlvError { at: i })?;
                let lo = *b.get(i + 1).ok_or(TlvError { at: i + 1 })?;
                i += 2;
                usize::from(u16::from_be_bytes([hi, lo]))
            }
            _ => return Err(TlvError { at: i - 1 }),
        };
        let value = b.get(i..i + len).ok_or(TlvError { at: i })?.to_vec();
        i += len;
        out.push(Tlv { tag, value });
    }
    Ok(out)
}

/// Finds the first object with `tag`, searching constructed objects depth-first.
pub fn find(objects: &[Tlv], tag: u32) -> Option<Tlv> {
    for o in objects {
        if o.tag == tag {
            return Some(o.clone());
        }
        if o.is_constructed()
            && let Ok(children) = o.children()
            && let Some(found) = find(&children, tag)
        {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fci_of_the_ssse() {
        let fci = hex::decode("6F19840F7378312E73682EC9E7BBE1B1A3D5CFA5069F0C03860103").unwrap();
        let objects = parse_all(&fci).unwrap();
        assert_eq!(objects[0].tag, 0x6F);
        assert_eq!(
            find(&objects, 0x84).unwrap().value,
            crate::card::SSSE_AID.to_vec()
        );
        assert_eq!(
            find(&objects, 0x9F0C).unwrap().value,
            vec![0x86, 0x01, 0x03]
        );
    }

    #[test]
    fn pan_record_and_long_lengths() {
        let rec = hex::decode("700C5A0A6217001234567890123F").unwrap();
        assert_eq!(
            find(&parse_all(&rec).unwrap(), 0x5A).unwrap().value.len(),
            10
        );
        let long = Tlv {
            tag: 0x5F2D,
            value: vec![7; 300],
        };
        assert_eq!(parse_all(&long.to_bytes()).unwrap(), vec![long]);
        assert!(parse_all(&[0x9F]).is_err());
        assert!(parse_all(&[0x5A, 0x05, 1, 2]).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(objects) = parse_all(&bytes) {
                let _ = find(&objects, 0x9F0C);
            }
        }
    }
}
