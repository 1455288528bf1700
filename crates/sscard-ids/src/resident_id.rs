//! The citizen identity number (公民身份号码, GB 11643-1999), which is also the social security
//! number (Social Insurance Law art. 58).

use std::fmt;

use chrono::{Datelike, FixedOffset, NaiveDate, Utc};

use crate::checksum::mod11_2;
use crate::mask::mask_middle;
use crate::message::{Bilingual, describe_char, display_bilingual};
use crate::region::{RegionCode, province_by_code};

/// Birth years before this are refused as implausible for a living card holder (the standard's
/// own worked example is born in 1880).
const EARLIEST_BIRTH_YEAR: i32 = 1850;

/// Today's date in China (UTC+8), the reference for "not in the future".
pub fn china_today() -> NaiveDate {
    let offset = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    Utc::now().with_timezone(&offset).date_naive()
}

/// Sex as encoded by the parity of the sequence code (odd male, even female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// 男
    Male,
    /// 女
    Female,
}

impl Sex {
    /// The GB/T 2261.1 code used on the chip (EF06 tag 0A): `1` male, `2` female.
    pub fn gb_code(self) -> char {
        match self {
            Sex::Male => '1',
            Sex::Female => '2',
        }
    }
    /// `male` / `female`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
    /// `男` / `女`.
    pub fn zh(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// A valid 18-character resident ID number.
///
/// `Display` and `Debug` are masked (`3212**********123X`); the full number only comes from
/// [`ResidentId::expose`], whose name makes every use visible in review.
#[derive(Clone, Copy)]
pub struct ResidentId {
    chars: [u8; 18],
    upgraded_from_15: bool,
}

/// Why a resident ID number was refused. Each variant has its own stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResidentIdError {
    /// Nothing was given.
    Empty,
    /// Neither 18 nor (legacy) 15 characters.
    Length { found: usize },
    /// A character that may not stand at this position (1-based).
    Character { position: usize, found: char },
    /// The first two digits are not a province-level code.
    UnknownProvince { code: String },
    /// The birth date (positions 7–14) does not exist in the calendar.
    InvalidBirthDate { date: String },
    /// The birth date lies after today.
    FutureBirthDate { date: String },
    /// The birth year is before 1850.
    BirthDateTooEarly { date: String },
    /// The check character (position 18) does not match the first 17.
    CheckCharacter { expected: char, found: char },
}

impl Bilingual for ResidentIdError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "resident_id.empty",
            Self::Length { .. } => "resident_id.length",
            Self::Character { .. } => "resident_id.character",
            Self::UnknownProvince { .. } => "resident_id.unknown_province",
            Self::InvalidBirthDate { .. } => "resident_id.invalid_birth_date",
            Self::FutureBirthDate { .. } => "resident_id.future_birth_date",
            Self::BirthDateTooEarly { .. } => "resident_id.birth_date_too_early",
            Self::CheckCharacter { .. } => "resident_id.check_character",
        }
    }

    fn zh(&self) -> String {
        match self {
            Self::Empty => "身份证号码为空，请填写 18 位公民身份号码".into(),
            Self::Length { found } => {
                format!(
                    "身份证号码应为 18 位（旧号码 15 位），实为 {found} 位，请核对是否漏位或多位"
                )
            }
            Self::Character { position, found } => {
                if *position == 18 {
                    format!(
                        "身份证号码第 18 位应为数字或 X，实为 {}",
                        describe_char(*found)
                    )
                } else {
                    format!(
                        "身份证号码第 {position} 位应为数字，实为 {}",
                        describe_char(*found)
                    )
                }
            }
            Self::UnknownProvince { code } => {
                format!("身份证号码前两位“{code}”不是省级行政区划代码，请核对")
            }
            Self::InvalidBirthDate { date } => {
                format!("身份证号码中的出生日期 {date} 不存在，请核对第 7–14 位")
            }
            Self::FutureBirthDate { date } => {
                format!("身份证号码中的出生日期 {date} 晚于今天，请核对第 7–14 位")
            }
            Self::BirthDateTooEarly { date } => {
                format!(
                    "身份证号码中的出生日期 {date} 早于 {EARLIEST_BIRTH_YEAR} 年，请核对第 7–14 位"
                )
            }
            Self::CheckCharacter { expected, found } => format!(
                "身份证号码校验码错误：第 18 位按前 17 位应为 {expected}，实为 {found}，请核对各位数字"
            ),
        }
    }

    fn en(&self) -> String {
        match self {
            Self::Empty => {
                "the ID number is empty; enter the 18-character resident ID number".into()
            }
            Self::Length { found } => format!(
                "an ID number has 18 characters (15 for the old format), this one has {found}; \
                 check for a missing or extra digit"
            ),
            Self::Character { position, found } => {
                if *position == 18 {
                    format!(
                        "character 18 of the ID number must be a digit or X, found {}",
                        describe_char(*found)
                    )
                } else {
                    format!(
                        "character {position} of the ID number must be a digit, found {}",
                        describe_char(*found)
                    )
                }
            }
            Self::UnknownProvince { code } => format!(
                "the first two digits \"{code}\" of the ID number are not a province-level code"
            ),
            Self::InvalidBirthDate { date } => format!(
                "the birth date {date} in the ID number does not exist; check characters 7-14"
            ),
            Self::FutureBirthDate { date } => format!(
                "the birth date {date} in the ID number is in the future; check characters 7-14"
            ),
            Self::BirthDateTooEarly { date } => format!(
                "the birth date {date} in the ID number is before {EARLIEST_BIRTH_YEAR}; \
                 check characters 7-14"
            ),
            Self::CheckCharacter { expected, found } => format!(
                "wrong check character: from the first 17 characters, character 18 must be \
                 {expected}, found {found}; check every digit"
            ),
        }
    }
}
display_bilingual!(ResidentIdError);

impl ResidentId {
    /// Parses an 18-character number, or a 15-digit legacy number which is upgraded to 18
    /// characters. Surrounding whitespace is ignored; a lower-case `x` is accepted and normalised.
    /// Birth dates are checked against today's date in China.
    pub fn parse(s: &str) -> Result<Self, ResidentIdError> {
        Self::parse_on(s, china_today())
    }

    /// As [`ResidentId::parse`], with "today" given explicitly.
    pub fn parse_on(s: &str, today: NaiveDate) -> Result<Self, ResidentIdError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ResidentIdError::Empty);
        }
        let chars: Vec<char> = s.chars().collect();
        match chars.len() {
            18 => Self::parse18(&chars, today),
            15 => Self::parse15(&chars, today),
            n => Err(ResidentIdError::Length { found: n }),
        }
    }

    fn parse18(chars: &[char], today: NaiveDate) -> Result<Self, ResidentIdError> {
        let mut out = [0u8; 18];
        for (i, &c) in chars.iter().enumerate() {
            out[i] = match c {
                '0'..='9' => c as u8,
                'X' | 'x' if i == 17 => b'X',
                _ => {
                    return Err(ResidentIdError::Character {
                        position: i + 1,
                        found: c,
                    });
                }
            };
        }
        let body: [u8; 17] = out[..17].try_into().expect("17 bytes");
        check_body(&body, today)?;
        let expected = mod11_2(&body);
        if out[17] != expected {
            return Err(ResidentIdError::CheckCharacter {
                expected: expected as char,
                found: out[17] as char,
            });
        }
        Ok(Self {
            chars: out,
            upgraded_from_15: false,
        })
    }

    fn parse15(chars: &[char], today: NaiveDate) -> Result<Self, ResidentIdError> {
        if let Some((i, &c)) = chars.iter().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(ResidentIdError::Character {
                position: i + 1,
                found: c,
            });
        }
        // Insert "19" before the two-digit year (positions 7-8), then append the check.
        let mut body = [0u8; 17];
        for (i, &c) in chars[..6].iter().enumerate() {
            body[i] = c as u8;
        }
        body[6] = b'1';
        body[7] = b'9';
        for (i, &c) in chars[6..].iter().enumerate() {
            body[8 + i] = c as u8;
        }
        check_body(&body, today)?;
        let mut out = [0u8; 18];
        out[..17].copy_from_slice(&body);
        out[17] = mod11_2(&body);
        Ok(Self {
            chars: out,
            upgraded_from_15: true,
        })
    }

    /// Builds a number from its parts, computing the check character. Used by generators
    /// (demo data, tests); the sequence code is 0–999 and its parity is the sex.
    pub fn from_parts(
        region: RegionCode,
        birth_date: NaiveDate,
        sequence: u16,
    ) -> Result<Self, ResidentIdError> {
        let text = format!(
            "{region}{}{:03}",
            birth_date.format("%Y%m%d"),
            sequence % 1000
        );
        let mut body = [0u8; 17];
        body.copy_from_slice(text.as_bytes());
        let mut out = [0u8; 18];
        out[..17].copy_from_slice(&body);
        out[17] = mod11_2(&body);
        let id = Self {
            chars: out,
            upgraded_from_15: false,
        };
        // Re-parse against a far-future "today" so only calendar rules apply.
        Self::parse_on(id.expose(), NaiveDate::MAX).map(|_| id)
    }

    /// The full 18-character number. Named so that every place that reveals it stands out.
    pub fn expose(&self) -> &str {
        std::str::from_utf8(&self.chars).expect("ASCII by construction")
    }

    /// The masked form `3212**********123X` for screens, logs and errors.
    pub fn masked(&self) -> String {
        mask_middle(self.expose(), 4, 4)
    }

    /// Whether this number was given in the 15-digit legacy form.
    pub fn upgraded_from_15(&self) -> bool {
        self.upgraded_from_15
    }

    /// The address code (household registration county).
    pub fn region(&self) -> RegionCode {
        RegionCode::from_u32(parse_u32(&self.chars[..6])).expect("province checked")
    }

    /// The birth date.
    pub fn birth_date(&self) -> NaiveDate {
        birth_date_of(&self.chars[6..14]).expect("checked at parse")
    }

    /// The sequence code (positions 15–17).
    pub fn sequence(&self) -> u16 {
        parse_u32(&self.chars[14..17]) as u16
    }

    /// Sex from the parity of position 17.
    pub fn sex(&self) -> Sex {
        if (self.chars[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Age in completed years on `date` (0 before the first birthday; 0 if `date` precedes birth).
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        let birth = self.birth_date();
        if date < birth {
            return 0;
        }
        let mut age = date.year() - birth.year();
        if (date.month(), date.day()) < (birth.month(), birth.day()) {
            age -= 1;
        }
        age as u32
    }
}

fn parse_u32(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
}

fn birth_date_of(digits: &[u8]) -> Option<NaiveDate> {
    let year = parse_u32(&digits[..4]) as i32;
    let month = parse_u32(&digits[4..6]);
    let day = parse_u32(&digits[6..8]);
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Checks province and birth date of the 17-digit body.
fn check_body(body: &[u8; 17], today: NaiveDate) -> Result<(), ResidentIdError> {
    let province = parse_u32(&body[..2]) as u8;
    if province_by_code(province).is_none() {
        return Err(ResidentIdError::UnknownProvince {
            code: String::from_utf8_lossy(&body[..2]).into_owned(),
        });
    }
    let date_text = String::from_utf8_lossy(&body[6..14]).into_owned();
    let Some(date) = birth_date_of(&body[6..14]) else {
        return Err(ResidentIdError::InvalidBirthDate { date: date_text });
    };
    if date > today {
        return Err(ResidentIdError::FutureBirthDate { date: date_text });
    }
    if date.year() < EARLIEST_BIRTH_YEAR {
        return Err(ResidentIdError::BirthDateTooEarly { date: date_text });
    }
    Ok(())
}

impl PartialEq for ResidentId {
    fn eq(&self, other: &Self) -> bool {
        self.chars == other.chars
    }
}
impl Eq for ResidentId {}
impl std::hash::Hash for ResidentId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.chars.hash(state);
    }
}
impl PartialOrd for ResidentId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ResidentId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.chars.cmp(&other.chars)
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

impl std::str::FromStr for ResidentId {
    type Err = ResidentIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    #[test]
    fn standard_examples_parse() {
        let a = ResidentId::parse_on("11010519491231002X", today()).unwrap();
        assert_eq!(a.region().value(), 110_105);
        assert_eq!(
            a.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(a.sex(), Sex::Female);
        let b = ResidentId::parse_on("440524188001010014", today()).unwrap();
        assert_eq!(b.sex(), Sex::Male);
        assert_eq!(b.age_on(today()), 146);
    }

    #[test]
    fn lower_case_x_is_normalised() {
        let a = ResidentId::parse_on("11010519491231002x", today()).unwrap();
        assert_eq!(a.expose(), "11010519491231002X");
    }

    #[test]
    fn fifteen_digits_upgrade() {
        // 110105491231002 is the 15-digit form of the standard's example.
        let a = ResidentId::parse_on("110105491231002", today()).unwrap();
        assert_eq!(a.expose(), "11010519491231002X");
        assert!(a.upgraded_from_15());
        assert_eq!(
            a,
            ResidentId::parse_on("11010519491231002X", today()).unwrap()
        );
    }

    #[test]
    fn display_and_debug_are_masked() {
        let a = ResidentId::parse_on("11010519491231002X", today()).unwrap();
        assert_eq!(a.to_string(), "1101**********002X");
        assert_eq!(format!("{a:?}"), "ResidentId(1101**********002X)");
    }

    #[rstest]
    #[case("", "resident_id.empty")]
    #[case("1101051949123100", "resident_id.length")]
    #[case("11010519491231002Y", "resident_id.character")]
    #[case("1101051949123100X2", "resident_id.character")]
    #[case("110105194912310021", "resident_id.check_character")]
    #[case("990105194912310021", "resident_id.unknown_province")]
    #[case("110105199902290021", "resident_id.invalid_birth_date")]
    #[case("110105199913010021", "resident_id.invalid_birth_date")]
    #[case("110105203001010021", "resident_id.future_birth_date")]
    #[case("110105170001010021", "resident_id.birth_date_too_early")]
    #[case("11010549123100", "resident_id.length")]
    #[case("11010549123a002", "resident_id.character")]
    fn refusals(#[case] input: &str, #[case] code: &str) {
        let err = ResidentId::parse_on(input, today()).unwrap_err();
        assert_eq!(err.code(), code, "{input}: {err}");
    }

    #[test]
    fn check_character_error_names_the_expected_one() {
        let err = ResidentId::parse_on("110105194912310021", today()).unwrap_err();
        assert_eq!(
            err,
            ResidentIdError::CheckCharacter {
                expected: 'X',
                found: '1'
            }
        );
        assert!(err.zh().contains("应为 X"));
        assert!(err.en().contains("must be X"));
    }

    #[test]
    fn leap_day_exists_in_leap_years_only() {
        let leap = ResidentId::from_parts(
            RegionCode::parse("321202").unwrap(),
            NaiveDate::from_ymd_opt(2000, 2, 29).unwrap(),
            123,
        )
        .unwrap();
        assert_eq!(leap.birth_date().to_string(), "2000-02-29");
        assert_eq!(
            ResidentId::parse_on("321202190002290010", today())
                .unwrap_err()
                .code(),
            "resident_id.invalid_birth_date"
        );
    }

    #[test]
    fn age_counts_completed_years() {
        let id = ResidentId::parse_on("11010519491231002X", today()).unwrap();
        assert_eq!(
            id.age_on(NaiveDate::from_ymd_opt(2026, 12, 30).unwrap()),
            76
        );
        assert_eq!(
            id.age_on(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
            77
        );
    }
}
