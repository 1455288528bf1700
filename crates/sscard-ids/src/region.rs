//! Administrative-division codes (GB/T 2260) as far as the card programme needs them, and the
//! named service areas that are not divisions.
//!
//! The table is deliberately small: every province-level code of China (plus 81/82/83 as used by
//! the residence permits of Hong Kong, Macao and Taiwan residents), Jiangsu's 13 prefecture-level
//! cities, and Taizhou's districts and county-level cities. Division codes change over time and
//! old codes stay valid inside issued ID numbers, so an unknown city or county is *not* an error:
//! lookups simply return fewer names.

use serde::{Serialize, Serializer};

use crate::message::{Bilingual, describe_char, display_bilingual};

/// A province-level division.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Province {
    /// The two leading digits.
    pub code: u8,
    /// Official name in Chinese, e.g. `江苏省`.
    pub zh: &'static str,
    /// English name, e.g. `Jiangsu`.
    pub en: &'static str,
}

const fn p(code: u8, zh: &'static str, en: &'static str) -> Province {
    Province { code, zh, en }
}

/// Every province-level code accepted in the first two digits of a resident ID number.
pub(crate) const PROVINCES: &[Province] = &[
    p(11, "北京市", "Beijing"),
    p(12, "天津市", "Tianjin"),
    p(13, "河北省", "Hebei"),
    p(14, "山西省", "Shanxi"),
    p(15, "内蒙古自治区", "Inner Mongolia"),
    p(21, "辽宁省", "Liaoning"),
    p(22, "吉林省", "Jilin"),
    p(23, "黑龙江省", "Heilongjiang"),
    p(31, "上海市", "Shanghai"),
    p(32, "江苏省", "Jiangsu"),
    p(33, "浙江省", "Zhejiang"),
    p(34, "安徽省", "Anhui"),
    p(35, "福建省", "Fujian"),
    p(36, "江西省", "Jiangxi"),
    p(37, "山东省", "Shandong"),
    p(41, "河南省", "Henan"),
    p(42, "湖北省", "Hubei"),
    p(43, "湖南省", "Hunan"),
    p(44, "广东省", "Guangdong"),
    p(45, "广西壮族自治区", "Guangxi"),
    p(46, "海南省", "Hainan"),
    p(50, "重庆市", "Chongqing"),
    p(51, "四川省", "Sichuan"),
    p(52, "贵州省", "Guizhou"),
    p(53, "云南省", "Yunnan"),
    p(54, "西藏自治区", "Xizang"),
    p(61, "陕西省", "Shaanxi"),
    p(62, "甘肃省", "Gansu"),
    p(63, "青海省", "Qinghai"),
    p(64, "宁夏回族自治区", "Ningxia"),
    p(65, "新疆维吾尔自治区", "Xinjiang"),
    p(71, "台湾省", "Taiwan"),
    p(
        81,
        "香港特别行政区（居住证）",
        "Hong Kong (residence permit)",
    ),
    p(82, "澳门特别行政区（居住证）", "Macao (residence permit)"),
    p(
        83,
        "台湾居民（居住证）",
        "Taiwan residents (residence permit)",
    ),
];

/// A division below province level that the table knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Division {
    code: u32,
    zh: &'static str,
    en: &'static str,
}

const fn d(code: u32, zh: &'static str, en: &'static str) -> Division {
    Division { code, zh, en }
}

/// Jiangsu's 13 prefecture-level cities (the insured cities of the provincial card).
pub const JIANGSU_CITIES: [(u32, &str, &str); 13] = [
    (320_100, "南京市", "Nanjing"),
    (320_200, "无锡市", "Wuxi"),
    (320_300, "徐州市", "Xuzhou"),
    (320_400, "常州市", "Changzhou"),
    (320_500, "苏州市", "Suzhou"),
    (320_600, "南通市", "Nantong"),
    (320_700, "连云港市", "Lianyungang"),
    (320_800, "淮安市", "Huai'an"),
    (320_900, "盐城市", "Yancheng"),
    (321_000, "扬州市", "Yangzhou"),
    (321_100, "镇江市", "Zhenjiang"),
    (321_200, "泰州市", "Taizhou"),
    (321_300, "宿迁市", "Suqian"),
];

/// County-level divisions known by name: Taizhou's districts and county-level cities, plus the
/// county codes of the standard's worked examples. Former codes are kept because they remain
/// valid inside ID numbers issued before the change.
const COUNTIES: &[Division] = &[
    d(321_202, "海陵区", "Hailing District"),
    d(321_203, "高港区", "Gaogang District"),
    d(321_204, "姜堰区", "Jiangyan District"),
    d(321_281, "兴化市", "Xinghua"),
    d(321_282, "靖江市", "Jingjiang"),
    d(321_283, "泰兴市", "Taixing"),
    d(
        321_284,
        "姜堰市（2012 年改设姜堰区）",
        "Jiangyan (county-level city until 2012)",
    ),
    d(110_105, "朝阳区", "Chaoyang District"),
];

/// A named service area that is not an administrative division (a development zone, a
/// high-tech park) mapped to the division that hosts it. Service points and rollout phases may
/// name it; ID numbers never contain it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceArea {
    /// Stable key used in configuration files and URLs.
    pub key: &'static str,
    /// Name in Chinese.
    pub zh: &'static str,
    /// Name in English.
    pub en: &'static str,
    /// Code of the hosting division (county level).
    pub host: u32,
}

/// Known service areas. The medical high-tech zone (China Medical City) has been run together
/// with Gaogang district ("区政合一") since 2021, so Gaogang hosts it.
pub const SERVICE_AREAS: &[ServiceArea] = &[ServiceArea {
    key: "taizhou-medical-hitech",
    zh: "泰州医药高新区",
    en: "Taizhou Medical High-tech Zone",
    host: 321_203,
}];

/// A six-digit administrative-division code whose first two digits are a known province.
///
/// Only the province is required to be known; city and county digits are looked up for display.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(u32);

/// Why a region code was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionCodeError {
    /// Not exactly six characters.
    Length { found: usize },
    /// A character other than a digit.
    NotDigit { position: usize, found: char },
    /// The first two digits are not a province-level code.
    UnknownProvince { code: String },
}

impl Bilingual for RegionCodeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length { .. } => "region.length",
            Self::NotDigit { .. } => "region.not_digit",
            Self::UnknownProvince { .. } => "region.unknown_province",
        }
    }
    fn zh(&self) -> String {
        match self {
            Self::Length { found } => format!("行政区划代码应为 6 位数字，实为 {found} 位"),
            Self::NotDigit { position, found } => {
                format!(
                    "行政区划代码第 {position} 位应为数字，实为 {}",
                    describe_char(*found)
                )
            }
            Self::UnknownProvince { code } => {
                format!("“{code}”不是省级行政区划代码，请核对前两位")
            }
        }
    }
    fn en(&self) -> String {
        match self {
            Self::Length { found } => {
                format!("a region code has 6 digits, this one has {found}")
            }
            Self::NotDigit { position, found } => format!(
                "character {position} of the region code must be a digit, found {}",
                describe_char(*found)
            ),
            Self::UnknownProvince { code } => format!(
                "\"{code}\" is not a province-level division code; check the first two digits"
            ),
        }
    }
}
display_bilingual!(RegionCodeError);

/// Names of a region code as far as the table knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionInfo {
    /// Always known.
    pub province: Province,
    /// `(zh, en)` of the prefecture-level city, when known.
    pub city: Option<(&'static str, &'static str)>,
    /// `(zh, en)` of the county-level division, when known.
    pub county: Option<(&'static str, &'static str)>,
}

impl RegionCode {
    /// Parses six ASCII digits whose first two are a province-level code.
    pub fn parse(s: &str) -> Result<Self, RegionCodeError> {
        let n = s.chars().count();
        if n != 6 {
            return Err(RegionCodeError::Length { found: n });
        }
        if let Some((i, c)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(RegionCodeError::NotDigit {
                position: i + 1,
                found: c,
            });
        }
        let value: u32 = s.parse().unwrap_or_default();
        Self::from_u32(value).ok_or_else(|| RegionCodeError::UnknownProvince { code: s.to_owned() })
    }

    /// Builds a code from its numeric value if the province is known.
    pub fn from_u32(value: u32) -> Option<Self> {
        if value >= 1_000_000 {
            return None;
        }
        province_by_code((value / 10_000) as u8).map(|_| Self(value))
    }

    /// The numeric value, e.g. `321202`.
    pub fn value(self) -> u32 {
        self.0
    }

    /// The province (always known for a parsed code).
    pub fn province(self) -> Province {
        province_by_code((self.0 / 10_000) as u8).expect("checked at construction")
    }

    /// The code of the prefecture level (`3212xx` → `321200`).
    pub fn city_code(self) -> u32 {
        self.0 / 100 * 100
    }

    /// Whether the code is in Jiangsu.
    pub fn is_jiangsu(self) -> bool {
        self.0 / 10_000 == 32
    }

    /// Names looked up in the table; unknown levels are `None`.
    pub fn info(self) -> RegionInfo {
        let city = JIANGSU_CITIES
            .iter()
            .find(|(c, _, _)| *c == self.city_code())
            .map(|(_, zh, en)| (*zh, *en));
        let county = COUNTIES
            .iter()
            .find(|dv| dv.code == self.0)
            .map(|dv| (dv.zh, dv.en));
        RegionInfo {
            province: self.province(),
            city,
            county,
        }
    }

    /// Human-readable name in Chinese, e.g. `江苏省泰州市海陵区`; unknown levels are left out.
    pub fn name_zh(self) -> String {
        let i = self.info();
        let mut s = i.province.zh.to_owned();
        if let Some((zh, _)) = i.city {
            s.push_str(zh);
        }
        if let Some((zh, _)) = i.county {
            s.push_str(zh);
        }
        s
    }

    /// Human-readable name in English, most specific first, e.g. `Hailing District, Taizhou, Jiangsu`.
    pub fn name_en(self) -> String {
        let i = self.info();
        let mut parts = Vec::with_capacity(3);
        if let Some((_, en)) = i.county {
            parts.push(en);
        }
        if let Some((_, en)) = i.city {
            parts.push(en);
        }
        parts.push(i.province.en);
        parts.join(", ")
    }

    /// Service areas hosted by this division.
    pub fn service_areas(self) -> impl Iterator<Item = &'static ServiceArea> {
        SERVICE_AREAS.iter().filter(move |a| a.host == self.0)
    }
}

impl ServiceArea {
    /// Looks a service area up by its key.
    pub fn by_key(key: &str) -> Option<&'static ServiceArea> {
        SERVICE_AREAS.iter().find(|a| a.key == key)
    }

    /// The hosting division.
    pub fn host_region(&self) -> RegionCode {
        RegionCode::from_u32(self.host).expect("table entries are valid")
    }
}

pub(crate) fn province_by_code(code: u8) -> Option<Province> {
    PROVINCES.iter().copied().find(|p| p.code == code)
}

impl std::fmt::Display for RegionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl std::fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RegionCode({:06})", self.0)
    }
}

impl std::str::FromStr for RegionCode {
    type Err = RegionCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for RegionCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("321202", "江苏省泰州市海陵区", "Hailing District, Taizhou, Jiangsu")]
    #[case("321283", "江苏省泰州市泰兴市", "Taixing, Taizhou, Jiangsu")]
    #[case(
        "321284",
        "江苏省泰州市姜堰市（2012 年改设姜堰区）",
        "Jiangyan (county-level city until 2012), Taizhou, Jiangsu"
    )]
    #[case("320200", "江苏省无锡市", "Wuxi, Jiangsu")]
    #[case("440524", "广东省", "Guangdong")]
    #[case("810000", "香港特别行政区（居住证）", "Hong Kong (residence permit)")]
    fn names(#[case] code: &str, #[case] zh: &str, #[case] en: &str) {
        let r = RegionCode::parse(code).unwrap();
        assert_eq!(r.name_zh(), zh);
        assert_eq!(r.name_en(), en);
        assert_eq!(r.to_string(), code);
    }

    #[rstest]
    #[case("991234", "region.unknown_province")]
    #[case("001234", "region.unknown_province")]
    #[case("32120", "region.length")]
    #[case("3212a2", "region.not_digit")]
    fn refused(#[case] code: &str, #[case] expected: &str) {
        assert_eq!(RegionCode::parse(code).unwrap_err().code(), expected);
    }

    #[test]
    fn all_provinces_unique_and_thirteen_jiangsu_cities() {
        let mut codes: Vec<u8> = PROVINCES.iter().map(|p| p.code).collect();
        codes.dedup();
        assert_eq!(codes.len(), PROVINCES.len());
        assert_eq!(PROVINCES.len(), 35);
        assert!(JIANGSU_CITIES.iter().all(|(c, _, _)| c / 10_000 == 32));
    }

    #[test]
    fn medical_zone_is_hosted_by_gaogang() {
        let zone = ServiceArea::by_key("taizhou-medical-hitech").unwrap();
        assert_eq!(zone.host_region().name_zh(), "江苏省泰州市高港区");
        assert_eq!(
            RegionCode::parse("321203").unwrap().service_areas().count(),
            1
        );
    }
}
