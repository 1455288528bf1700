//! A person's name as registered, and its encoding into the chip's GBK name fields
//! (EF06 tag 09, 30 bytes, plus the 20-byte extension tag 4E for long names).

use std::fmt;

use crate::message::{Bilingual, describe_char, display_bilingual};

/// Bytes of the chip's name field (EF06 tag 09).
pub const NAME_FIELD_BYTES: usize = 30;
/// Bytes of the chip's name-extension field (EF06 tag 4E), used by 2.0/3.0 cards for long names.
pub const NAME_EXTENSION_BYTES: usize = 20;
/// Longest name accepted, in characters (longer transliterated names are registered abbreviated).
const MAX_CHARS: usize = 50;

/// The middle dot used between the parts of transliterated minority and foreign names.
const MIDDLE_DOT: char = '\u{00B7}';

/// A registered name: Han characters, Latin letters, and single middle dots or spaces between
/// parts (`买买提·艾力`, `John SMITH`). Middle-dot look-alikes are normalised to U+00B7.
///
/// Names are personal data: `Display` and `Debug` mask all but the first and (for three or more
/// characters) the last character (`张*丰`); the full name only through [`PersonName::expose`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonName(String);

/// A name encoded for the chip: the 30-byte name field and, for long names, the 20-byte extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipName {
    /// GBK bytes for tag 09 (not padded).
    pub name: Vec<u8>,
    /// GBK bytes for tag 4E, when the name does not fit 30 bytes.
    pub extension: Option<Vec<u8>>,
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonNameError {
    /// Nothing but whitespace.
    Empty,
    /// More than 50 characters.
    TooLong { found: usize },
    /// A character not allowed in a name (1-based position).
    Character { position: usize, found: char },
    /// A separator at the start or end, or two in a row.
    Separator { position: usize },
    /// The character cannot be written to a GBK chip field (needs GB 18030's four-byte form).
    OutsideGbk { position: usize, found: char },
    /// The name needs more than the 30 + 20 bytes the chip has.
    TooLongForChip { bytes: usize },
}

impl Bilingual for PersonNameError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "person_name.empty",
            Self::TooLong { .. } => "person_name.too_long",
            Self::Character { .. } => "person_name.character",
            Self::Separator { .. } => "person_name.separator",
            Self::OutsideGbk { .. } => "person_name.outside_gbk",
            Self::TooLongForChip { .. } => "person_name.too_long_for_chip",
        }
    }
    fn zh(&self) -> String {
        match self {
            Self::Empty => "姓名为空，请按身份证填写姓名".into(),
            Self::TooLong { found } => {
                format!("姓名最多 {MAX_CHARS} 个字符，实为 {found} 个，请按证件登记的简写填写")
            }
            Self::Character { position, found } => format!(
                "姓名第 {position} 个字符 {} 不能用于姓名：只允许汉字、拉丁字母和中间点“·”，请按身份证填写",
                describe_char(*found)
            ),
            Self::Separator { position } => format!(
                "姓名第 {position} 个字符处的分隔符（“·”或空格）位置不对：不能在开头、结尾或连续出现"
            ),
            Self::OutsideGbk { position, found } => format!(
                "姓名第 {position} 个字 {} 超出 GBK 字符集，无法写入社保卡芯片；请使用公安部门登记的替代字，或按生僻字流程办理",
                describe_char(*found)
            ),
            Self::TooLongForChip { bytes } => format!(
                "姓名编码后为 {bytes} 字节，超过芯片姓名字段与扩展字段合计 {} 字节，请按证件登记的简写填写",
                NAME_FIELD_BYTES + NAME_EXTENSION_BYTES
            ),
        }
    }
    fn en(&self) -> String {
        match self {
            Self::Empty => "the name is empty; enter the name as on the ID card".into(),
            Self::TooLong { found } => format!(
                "a name has at most {MAX_CHARS} characters, this one has {found}; use the registered short form"
            ),
            Self::Character { position, found } => format!(
                "character {position} {} is not allowed in a name: use Han characters, Latin \
                 letters and the middle dot '·' as on the ID card",
                describe_char(*found)
            ),
            Self::Separator { position } => format!(
                "the separator ('·' or space) at character {position} is misplaced: not at the \
                 start or end, and not two in a row"
            ),
            Self::OutsideGbk { position, found } => format!(
                "character {position} {} is outside GBK and cannot be written to the card chip; \
                 use the substitute registered with the police, or the rare-character procedure",
                describe_char(*found)
            ),
            Self::TooLongForChip { bytes } => format!(
                "the name takes {bytes} bytes, more than the chip's {} bytes of name and \
                 extension; use the registered short form",
                NAME_FIELD_BYTES + NAME_EXTENSION_BYTES
            ),
        }
    }
}
display_bilingual!(PersonNameError);

/// Han ideographs: the URO, extension A, compatibility ideographs and the supplementary planes,
/// plus `〇`.
fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3007 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x2_0000..=0x3_134F)
}

fn is_separator(c: char) -> bool {
    c == MIDDLE_DOT || c == ' '
}

impl PersonName {
    /// Parses a name; surrounding whitespace is trimmed and middle-dot look-alikes
    /// (`•`, `・`, `．`, `∙`) become `·`.
    pub fn parse(s: &str) -> Result<Self, PersonNameError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(PersonNameError::Empty);
        }
        let normalised: String = s
            .chars()
            .map(|c| match c {
                '\u{2022}' | '\u{30FB}' | '\u{FF0E}' | '\u{2219}' | '\u{FF65}' => MIDDLE_DOT,
                '\u{3000}' => ' ',
                c => c,
            })
            .collect();
        let n = normalised.chars().count();
        if n > MAX_CHARS {
            return Err(PersonNameError::TooLong { found: n });
        }
        let mut previous_separator = true; // a separator may not lead
        for (i, c) in normalised.chars().enumerate() {
            if is_separator(c) {
                if previous_separator {
                    return Err(PersonNameError::Separator { position: i + 1 });
                }
                previous_separator = true;
            } else if is_han(c) || c.is_ascii_alphabetic() {
                previous_separator = false;
            } else {
                return Err(PersonNameError::Character {
                    position: i + 1,
                    found: c,
                });
            }
        }
        if previous_separator {
            return Err(PersonNameError::Separator { position: n });
        }
        Ok(Self(normalised))
    }

    /// The full name. Named so that every place that reveals it stands out.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The masked form for screens and logs: `张*`, `张*丰`, `欧**娜`.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        match chars.len() {
            1 => "*".into(),
            2 => format!("{}*", chars[0]),
            n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
        }
    }

    /// Number of characters.
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }

    /// The name encoded in GB 18030 (always possible: GB 18030 covers all of Unicode).
    pub fn gb18030_bytes(&self) -> Vec<u8> {
        encoding_rs::GB18030.encode(&self.0).0.into_owned()
    }

    /// The name as the chip stores it: GBK bytes in the 30-byte field, with the remainder (cut at
    /// a character boundary) in the 20-byte extension.
    pub fn chip_name(&self) -> Result<ChipName, PersonNameError> {
        let mut bytes = Vec::with_capacity(self.0.len());
        let mut boundaries = Vec::with_capacity(self.0.len());
        let mut buf = [0u8; 4];
        for (i, c) in self.0.chars().enumerate() {
            let (encoded, _, unmappable) = encoding_rs::GBK.encode(c.encode_utf8(&mut buf));
            if unmappable {
                return Err(PersonNameError::OutsideGbk {
                    position: i + 1,
                    found: c,
                });
            }
            bytes.extend_from_slice(&encoded);
            boundaries.push(bytes.len());
        }
        if bytes.len() <= NAME_FIELD_BYTES {
            return Ok(ChipName {
                name: bytes,
                extension: None,
            });
        }
        if bytes.len() > NAME_FIELD_BYTES + NAME_EXTENSION_BYTES {
            return Err(PersonNameError::TooLongForChip { bytes: bytes.len() });
        }
        let cut = boundaries
            .iter()
            .copied()
            .filter(|&b| b <= NAME_FIELD_BYTES)
            .max()
            .unwrap_or(0);
        let extension = bytes.split_off(cut);
        if extension.len() > NAME_EXTENSION_BYTES {
            return Err(PersonNameError::TooLongForChip {
                bytes: cut + extension.len(),
            });
        }
        Ok(ChipName {
            name: bytes,
            extension: Some(extension),
        })
    }
}

impl ChipName {
    /// Decodes the chip fields back to text (used by readers).
    pub fn decode(name: &[u8], extension: Option<&[u8]>) -> String {
        let mut all = name.to_vec();
        if let Some(ext) = extension {
            all.extend_from_slice(ext);
        }
        // Fields are padded with 0x00 (an items) or spaces on some cards.
        while all
            .last()
            .is_some_and(|&b| b == 0 || b == b' ' || b == 0xFF)
        {
            all.pop();
        }
        encoding_rs::GBK
            .decode_without_bom_handling(&all)
            .0
            .into_owned()
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}
impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({})", self.masked())
    }
}
impl std::str::FromStr for PersonName {
    type Err = PersonNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("张三", "张*")]
    #[case("张三丰", "张*丰")]
    #[case("欧阳娜娜", "欧**娜")]
    #[case("王", "*")]
    fn masking(#[case] name: &str, #[case] masked: &str) {
        let n = PersonName::parse(name).unwrap();
        assert_eq!(n.to_string(), masked);
        assert_eq!(format!("{n:?}"), format!("PersonName({masked})"));
    }

    #[test]
    fn short_name_fits_the_field() {
        let chip = PersonName::parse("张三").unwrap().chip_name().unwrap();
        assert_eq!(chip.name, vec![0xD5, 0xC5, 0xC8, 0xFD]);
        assert_eq!(chip.extension, None);
        assert_eq!(ChipName::decode(&chip.name, None), "张三");
    }

    #[test]
    fn long_minority_name_uses_the_extension() {
        // 18 Han characters + 2 dots = 38 GBK bytes: 30 in the field, 8 in the extension.
        let name = PersonName::parse("阿卜杜热合曼·买买提明·艾尔肯江阿不都").unwrap();
        let chip = name.chip_name().unwrap();
        assert_eq!(chip.name.len(), 30);
        assert_eq!(chip.extension.as_ref().unwrap().len(), 8);
        assert_eq!(
            ChipName::decode(&chip.name, chip.extension.as_deref()),
            name.expose()
        );
    }

    #[test]
    fn extension_cut_respects_character_boundaries() {
        // "A" + 15 Han = 31 bytes: the cut must fall after 14 Han (29 bytes), not mid-character.
        let name = PersonName::parse("A国国国国国国国国国国国国国国国").unwrap();
        let chip = name.chip_name().unwrap();
        assert_eq!(chip.name.len(), 29);
        assert_eq!(chip.extension.unwrap().len(), 2);
    }

    #[test]
    fn outside_gbk_is_reported_with_position() {
        // 𠮷 (U+20BB7) is GB 18030 four-byte, not GBK.
        let name = PersonName::parse("吉𠮷").unwrap();
        assert_eq!(name.gb18030_bytes().len(), 6);
        let err = name.chip_name().unwrap_err();
        assert_eq!(
            err,
            PersonNameError::OutsideGbk {
                position: 2,
                found: '𠮷'
            }
        );
        assert!(err.zh().contains("GBK"));
    }

    #[test]
    fn too_long_for_chip() {
        let name = PersonName::parse(&"国".repeat(26)).unwrap();
        assert_eq!(
            name.chip_name().unwrap_err(),
            PersonNameError::TooLongForChip { bytes: 52 }
        );
    }

    #[rstest]
    #[case("", "person_name.empty")]
    #[case("张3", "person_name.character")]
    #[case("·张三", "person_name.separator")]
    #[case("张··三", "person_name.separator")]
    #[case("张三·", "person_name.separator")]
    #[case("张\u{0}三", "person_name.character")]
    fn refusals(#[case] input: &str, #[case] code: &str) {
        assert_eq!(PersonName::parse(input).unwrap_err().code(), code);
    }

    #[test]
    fn middle_dot_lookalikes_are_normalised() {
        assert_eq!(
            PersonName::parse("买买提•艾力").unwrap().expose(),
            "买买提·艾力"
        );
    }
}
