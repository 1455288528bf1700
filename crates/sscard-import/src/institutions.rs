//! The list of designated medical institutions (定点医药机构) the centre keeps: a CSV file with
//! the header `code,name,kind,level,region,networked` (or 机构编码,机构名称,类别,等级,所属区县,
//! 异地联网), UTF-8 or GBK. Every bad row is reported with its row, column and reason; a file
//! with any bad row is refused whole, so the registry is never half-imported.

use std::collections::HashMap;

use sscard_ids::{Bilingual, InstitutionCode, InstitutionKind, RegionCode};
use sscard_store::InstitutionInput;

use crate::{FileError, RowProblem, read_csv_grid};

/// The columns, as `(English header, Chinese header, required)`.
pub const COLUMNS: [(&str, &str, bool); 6] = [
    ("code", "机构编码", true),
    ("name", "机构名称", true),
    ("kind", "类别", true),
    ("level", "等级", false),
    ("region", "所属区县", true),
    ("networked", "异地联网", false),
];

/// Why an institution file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstitutionFileError {
    /// The file cannot be read as CSV at all.
    File(FileError),
    /// These rows (or the header, row 1) are wrong; nothing was imported.
    Rows(Vec<RowProblem>),
}

use crate::row_problem as problem;

fn typed(row: usize, column: &str, e: &impl Bilingual) -> RowProblem {
    problem(row, column, e.code(), e.zh(), e.en())
}

/// One row's values checked together: the kind agrees with the code's letter, a level only for
/// hospitals, the district inside the code's city.
///
/// # Errors
/// Each problem with the column it concerns.
pub fn check(
    row: usize,
    code: &str,
    name: &str,
    kind: &str,
    level: &str,
    region: &str,
    networked: &str,
) -> Result<InstitutionInput, Vec<RowProblem>> {
    let mut problems = Vec::new();
    let code = InstitutionCode::parse(code)
        .map_err(|e| problems.push(typed(row, "code", &e)))
        .ok();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        problems.push(problem(
            row,
            "name",
            "institution.name",
            "机构名称不能为空，且不超过 100 个字".into(),
            "the institution's name must be given, at most 100 characters".into(),
        ));
    }
    let kind = InstitutionKind::parse(kind);
    match (kind, &code) {
        (None, _) => problems.push(problem(
            row,
            "kind",
            "institution.kind",
            "类别应为 hospital（医疗机构）或 pharmacy（药店）".into(),
            "kind must be hospital or pharmacy".into(),
        )),
        (Some(k), Some(c)) if c.kind() != k => problems.push(problem(
            row,
            "kind",
            "institution.kind_mismatch",
            format!(
                "类别为{}，但编码以 {} 开头：医疗机构编码以 H 开头，药店以 P 开头",
                k.zh(),
                c.kind().letter()
            ),
            format!(
                "kind is {} but the code starts with {}: hospital codes start with H, pharmacy codes with P",
                k.as_str(),
                c.kind().letter()
            ),
        )),
        _ => {}
    }
    let level = parse_level(row, level, kind, &mut problems);
    let region = match RegionCode::parse(region.trim()) {
        Ok(r) => {
            if let Some(c) = &code
                && c.region().city_code() != r.city_code()
            {
                problems.push(problem(
                    row,
                    "region",
                    "institution.region_mismatch",
                    format!("所属区县 {r} 与编码中的区划 {} 不在同一城市", c.region()),
                    format!(
                        "district {r} is not in the city of the code's region {}",
                        c.region()
                    ),
                ));
            }
            Some(r)
        }
        Err(e) => {
            problems.push(typed(row, "region", &e));
            None
        }
    };
    let networked = match networked.trim() {
        "" | "0" | "false" | "no" | "否" | "N" | "n" => Some(false),
        "1" | "true" | "yes" | "是" | "Y" | "y" => Some(true),
        _ => {
            problems.push(problem(
                row,
                "networked",
                "institution.networked",
                "异地联网应为 是/否（true/false、1/0）".into(),
                "networked is yes or no (true/false, 1/0)".into(),
            ));
            None
        }
    };
    match (code, region, networked) {
        (Some(code), Some(region), Some(networked)) if problems.is_empty() => {
            Ok(InstitutionInput {
                code,
                name: name.to_owned(),
                level,
                region,
                networked,
            })
        }
        _ => Err(problems),
    }
}

fn parse_level(
    row: usize,
    level: &str,
    kind: Option<InstitutionKind>,
    problems: &mut Vec<RowProblem>,
) -> Option<u8> {
    match level.trim() {
        "" => None,
        "1" | "2" | "3" if kind == Some(InstitutionKind::Pharmacy) => {
            problems.push(problem(
                row,
                "level",
                "institution.level_pharmacy",
                "药店没有医院等级（hosp_lv），请留空".into(),
                "a pharmacy has no hospital level (hosp_lv); leave it empty".into(),
            ));
            None
        }
        l @ ("1" | "2" | "3") => l.parse().ok(),
        _ => {
            problems.push(problem(
                row,
                "level",
                "institution.level",
                "医院等级应为 1、2 或 3（一级、二级、三级），或留空".into(),
                "the hospital level is 1, 2 or 3, or empty".into(),
            ));
            None
        }
    }
}

/// Parses the whole file.
///
/// # Errors
/// [`InstitutionFileError::File`] when the CSV cannot be read, [`InstitutionFileError::Rows`]
/// with every problem when any row (or the header) is wrong.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<InstitutionInput>, InstitutionFileError> {
    let (_, grid) = read_csv_grid(bytes).map_err(InstitutionFileError::File)?;
    let Some(((_, header), rows)) = grid.split_first() else {
        return Err(InstitutionFileError::File(FileError::Empty));
    };
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}');
        if let Some((en, _, _)) = COLUMNS.iter().find(|(en, zh, _)| *en == h || *zh == h) {
            at.insert(en, i);
        }
    }
    let missing: Vec<RowProblem> = COLUMNS
        .iter()
        .filter(|(en, _, required)| *required && !at.contains_key(en))
        .map(|(en, zh, _)| {
            problem(
                1,
                en,
                "file.missing_columns",
                format!("表头缺少“{zh}”（{en}）列；表头应为 code,name,kind,level,region,networked"),
                format!("the header lacks the column \"{en}\"; it is code,name,kind,level,region,networked"),
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(InstitutionFileError::Rows(missing));
    }
    let mut problems = Vec::new();
    let mut inputs = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (row, cells) in rows {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |name: &str| {
            at.get(name)
                .and_then(|i| cells.get(*i))
                .map_or("", String::as_str)
        };
        match check(
            *row,
            cell("code"),
            cell("name"),
            cell("kind"),
            cell("level"),
            cell("region"),
            cell("networked"),
        ) {
            Ok(input) => {
                if let Some(first) = seen.insert(input.code.to_string(), *row) {
                    problems.push(problem(
                        *row,
                        "code",
                        "row.duplicate",
                        format!("机构编码 {} 与第 {first} 行重复", input.code),
                        format!("institution code {} repeats row {first}", input.code),
                    ));
                } else {
                    inputs.push(input);
                }
            }
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(inputs)
    } else {
        Err(InstitutionFileError::Rows(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_file_in_gbk_with_chinese_headers() {
        let text = "机构编码,机构名称,类别,等级,所属区县,异地联网\r\n\
                    H32120200001,泰州市人民医院,hospital,3,321202,是\r\n\
                    P32120400017,海陵大药房,药店,,321204,否\r\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let list = parse_csv(&gbk).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name, "泰州市人民医院");
        assert_eq!((list[0].level, list[0].networked), (Some(3), true));
        assert_eq!((list[1].level, list[1].networked), (None, false));
    }

    #[test]
    fn every_bad_row_is_reported_and_nothing_is_taken() {
        let text = "code,name,kind,level,region,networked\n\
                    H32120200001,人民医院,hospital,3,321202,true\n\
                    P32120200002,药房,hospital,,321202,false\n\
                    H32120200003,,hospital,4,321202,maybe\n\
                    P32120400017,药房,pharmacy,2,320102,false\n\
                    H32120200001,人民医院,hospital,3,321202,true\n";
        let Err(InstitutionFileError::Rows(p)) = parse_csv(text.as_bytes()) else {
            panic!("refused")
        };
        let got: Vec<(usize, &str, &str)> = p
            .iter()
            .map(|p| (p.row, p.column.as_str(), p.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (3, "kind", "institution.kind_mismatch"),
                (4, "name", "institution.name"),
                (4, "level", "institution.level"),
                (4, "networked", "institution.networked"),
                (5, "level", "institution.level_pharmacy"),
                (5, "region", "institution.region_mismatch"),
                (6, "code", "row.duplicate"),
            ]
        );
        assert!(
            p.iter()
                .all(|p| !p.message.is_empty() && !p.message_en.is_empty())
        );
        let Err(InstitutionFileError::Rows(p)) = parse_csv(b"code,name\nH32120200001,x\n") else {
            panic!("refused")
        };
        assert_eq!(p[0].row, 1);
        assert_eq!(p[0].code, "file.missing_columns");
    }
}
