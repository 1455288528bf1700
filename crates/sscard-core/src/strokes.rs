//! Surname stroke order (姓氏笔画排序) for distribution lists.
//!
//! Names are ordered by the surname first, character by character, each character by its total
//! stroke count and then stroke by stroke in the order 横 竖 撇 点 折 (so the first stroke
//! decides between characters of equal count, then the second, …). A shorter surname that is a
//! prefix of a longer one comes first. Compound surnames (欧阳, 司马, 诸葛, 上官, …) are one
//! surname: every 欧 comes before every 欧阳. Then the given name, compared the same way.
//! Characters without stroke data (rare ideographs outside the table, Latin letters) come after
//! those with it, in code-point order; the full name in code-point order breaks the last ties so
//! the order is total.
//!
//! The stroke table (`data/strokes.bin`) and its provenance are described in `data/README.md`.

use std::cmp::Ordering;

static TABLE: &[u8] = include_bytes!("../data/strokes.bin");
const FIRST: u32 = 0x3400;
const LAST: u32 = 0x9FFF;

/// Common compound surnames (复姓), longest match first is not needed: all have two characters.
pub const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "独孤", "南宫", "西门", "端木", "百里", "呼延", "万俟", "澹台", "公冶",
    "宗政", "濮阳", "太史", "申屠", "钟离", "闻人", "赫连", "拓跋", "司空", "左丘", "东郭", "第五",
    "梁丘", "乐正", "羊舌", "微生", "公羊", "谷梁", "闾丘", "单于", "仲孙", "淳于", "鲜于", "司寇",
];

/// One of the five stroke classes, in sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stroke {
    /// 横 (includes 提)
    Heng = 1,
    /// 竖
    Shu = 2,
    /// 撇
    Pie = 3,
    /// 点 (includes 捺)
    Dian = 4,
    /// 折 (every turning stroke)
    Zhe = 5,
}

impl Stroke {
    /// The stroke's name in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            Stroke::Heng => "横",
            Stroke::Shu => "竖",
            Stroke::Pie => "撇",
            Stroke::Dian => "点",
            Stroke::Zhe => "折",
        }
    }
}

fn entry(c: char) -> Option<u32> {
    let cp = c as u32;
    if !(FIRST..=LAST).contains(&cp) {
        return None;
    }
    let i = (cp - FIRST) as usize * 4;
    let v = u32::from_le_bytes(TABLE[i..i + 4].try_into().expect("4 bytes"));
    (v >> 24 != 0).then_some(v)
}

/// Total stroke count of a character, if the table knows it.
pub fn total_strokes(c: char) -> Option<u8> {
    entry(c).map(|v| (v >> 24) as u8)
}

/// The first strokes of a character (up to eight), if the table knows them.
pub fn strokes(c: char) -> Vec<Stroke> {
    let Some(v) = entry(c) else { return Vec::new() };
    (0..8)
        .map(|i| (v >> (3 * (7 - i))) & 7)
        .take_while(|&s| s != 0)
        .map(|s| match s {
            1 => Stroke::Heng,
            2 => Stroke::Shu,
            3 => Stroke::Pie,
            4 => Stroke::Dian,
            _ => Stroke::Zhe,
        })
        .collect()
}

/// The first stroke of a character (起笔), if known.
pub fn first_stroke(c: char) -> Option<Stroke> {
    strokes(c).first().copied()
}

/// Sort key of one character: known characters by (strokes, stroke sequence), then unknown
/// ones by code point.
fn char_key(c: char) -> (u8, u32, u32) {
    match entry(c) {
        Some(v) => (0, v, c as u32),
        None => (1, 0, c as u32),
    }
}

/// Splits a full name into surname and given name, treating compound surnames as one.
pub fn split_surname(name: &str) -> (&str, &str) {
    if let Some(compound) = COMPOUND_SURNAMES.iter().find(|s| name.starts_with(**s))
        && name.len() > compound.len()
    {
        return name.split_at(compound.len());
    }
    match name.char_indices().nth(1) {
        Some((i, _)) => name.split_at(i),
        None => (name, ""),
    }
}

fn compare_chars(a: &str, b: &str) -> Ordering {
    let mut ai = a.chars();
    let mut bi = b.chars();
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match char_key(x).cmp(&char_key(y)) {
                Ordering::Equal => {}
                other => return other,
            },
        }
    }
}

/// Compares two texts (workshop or department names) character by character in stroke order:
/// fewer strokes first, then the stroke sequence; characters the table lacks (Latin letters,
/// digits) after the Chinese ones, in code-point order.
pub fn compare_text(a: &str, b: &str) -> Ordering {
    compare_chars(a, b).then_with(|| a.cmp(b))
}

/// Compares two full names in surname stroke order. A total order: equal only for equal strings.
pub fn compare_names(a: &str, b: &str) -> Ordering {
    let (sa, ga) = split_surname(a);
    let (sb, gb) = split_surname(b);
    compare_chars(sa, sb)
        .then_with(|| compare_chars(ga, gb))
        .then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_basics() {
        assert_eq!(total_strokes('王'), Some(4));
        assert_eq!(
            strokes('王'),
            vec![Stroke::Heng, Stroke::Heng, Stroke::Shu, Stroke::Heng]
        );
        assert_eq!(first_stroke('刁'), Some(Stroke::Zhe));
        assert_eq!(total_strokes('A'), None);
        // 刘 in mainland order: 点 横 撇 点 竖 竖 (the CNS table differs in the last stroke).
        assert_eq!(strokes('刘').last(), Some(&Stroke::Shu));
    }

    #[test]
    fn compound_surnames_split() {
        assert_eq!(split_surname("欧阳娜娜"), ("欧阳", "娜娜"));
        assert_eq!(split_surname("欧琳"), ("欧", "琳"));
        assert_eq!(split_surname("司马"), ("司", "马"));
        assert_eq!(split_surname("王"), ("王", ""));
    }

    #[test]
    fn compound_surname_sorts_after_every_single_one() {
        // 阳 (6) is fewer strokes than 琳 (12): a plain character comparison would put 欧阳明 first.
        assert_eq!(compare_names("欧琳", "欧阳明"), Ordering::Less);
    }

    #[test]
    fn order_is_total() {
        assert_eq!(compare_names("王芳", "王芳"), Ordering::Equal);
        assert_ne!(compare_names("王芳", "王芳 "), Ordering::Equal);
    }
}
