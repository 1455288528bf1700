//! The settlement's configuration files, in the formats of `settlement-rules.md` §1: policies
//! (TOML, `[[policy]]` tables of an insured place) and catalogues (CSV of a treatment place,
//! UTF-8 or GBK). A file with any bad entry is refused whole, every problem named with its line
//! and field in Chinese and English; nothing is loaded half.

use std::collections::HashMap;

use sscard_core::money::{Fixed4, Money};
use sscard_core::settlement::{CatalogueItem, ItemClass, Policy, is_city_code};
use sscard_ids::Bilingual;
use sscard_store::insurance::{CatalogueRow as CatalogueEntry, PolicyRow as PolicyEntry};

use crate::{FileError, RowProblem, read_csv_grid};

/// The insutypes: employees' (310) and residents' (390) basic medical insurance.
pub const INSUTYPES: [&str; 2] = ["310", "390"];
/// The `med_type`s a policy may be given for: outpatient, emergency, inpatient, pharmacy.
pub const MED_TYPES: [&str; 4] = ["11", "13", "21", "41"];

use crate::row_problem as problem;

/// A city code: six digits ending in `00` (Jiangsu's 13 cities are `3201xx00`… `321300`).
fn city(row: usize, column: &str, text: &str, problems: &mut Vec<RowProblem>) -> String {
    let t = text.trim();
    if !is_city_code(t) {
        problems.push(problem(
            row,
            column,
            "settlement.region",
            format!("“{t}”不是城市行政区划代码（6 位数字，以 00 结尾，如 321200）"),
            format!("\"{t}\" is not a city code (six digits ending in 00, e.g. 321200)"),
        ));
    }
    t.to_owned()
}

fn money(row: usize, column: &str, text: &str, problems: &mut Vec<RowProblem>) -> Money {
    Money::parse(text).unwrap_or_else(|e| {
        problems.push(problem(row, column, e.code(), e.zh(), e.en()));
        Money::ZERO
    })
}

fn ratio(row: usize, column: &str, text: &str, problems: &mut Vec<RowProblem>) -> Fixed4 {
    match Fixed4::parse(text) {
        Ok(r) if r > Fixed4::ZERO && r <= Fixed4::ONE => r,
        Ok(_) => {
            problems.push(problem(
                row,
                column,
                "settlement.ratio",
                format!("比例 {text} 应大于 0 且不超过 1"),
                format!("the ratio {text} must be above 0 and at most 1"),
            ));
            Fixed4::ZERO
        }
        Err(e) => {
            problems.push(problem(row, column, e.code(), e.zh(), e.en()));
            Fixed4::ZERO
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    region: String,
    year: i32,
    insutype: String,
    med_type: String,
    deductible: String,
    ratio: HashMap<String, String>,
    pool_cap: String,
    second_tier_ratio: String,
    second_tier_cap: String,
    unfiled_reduction: String,
    account: bool,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicies {
    policy: Vec<toml::Spanned<RawPolicy>>,
}

fn line_of(text: &str, at: usize) -> usize {
    1 + text[..at.min(text.len())].matches('\n').count()
}

/// Reads a policy file.
///
/// # Errors
/// Every problem, with the line of its `[[policy]]` table and the field.
pub fn parse_policies(text: &str) -> Result<Vec<PolicyEntry>, Vec<RowProblem>> {
    let raw: RawPolicies = toml::from_str(text).map_err(|e| {
        let row = e.span().map_or(1, |s| line_of(text, s.start));
        vec![problem(
            row,
            "",
            "policy.syntax",
            format!("政策文件格式有误：{}", e.message()),
            format!("the policy file is not understood: {}", e.message()),
        )]
    })?;
    let mut problems = Vec::new();
    let mut out: Vec<(usize, PolicyEntry)> = Vec::new();
    for spanned in &raw.policy {
        let row = line_of(text, spanned.span().start);
        let p = spanned.get_ref();
        let region = city(row, "region", &p.region, &mut problems);
        if !(2000..=2100).contains(&p.year) {
            problems.push(problem(
                row,
                "year",
                "policy.year",
                format!("年度 {} 不合理", p.year),
                format!("the year {} is not plausible", p.year),
            ));
        }
        for (field, value, allowed) in [
            ("insutype", &p.insutype, &INSUTYPES[..]),
            ("med_type", &p.med_type, &MED_TYPES[..]),
        ] {
            if !allowed.contains(&value.as_str()) {
                problems.push(problem(
                    row,
                    field,
                    "policy.code",
                    format!("{field} “{value}” 应为 {} 之一", allowed.join("、")),
                    format!("{field} \"{value}\" must be one of {}", allowed.join(", ")),
                ));
            }
        }
        let mut ratio_of = |key: &str| {
            if let Some(v) = p.ratio.get(key) {
                ratio(row, &format!("ratio.{key}"), v, &mut problems)
            } else {
                problems.push(problem(
                    row,
                    "ratio",
                    "policy.ratio_missing",
                    format!("ratio 缺少“{key}”（应有 1、2、3 与 pharmacy）"),
                    format!("ratio lacks \"{key}\" (1, 2, 3 and pharmacy are needed)"),
                ));
                Fixed4::ZERO
            }
        };
        let ratio_by_level = [ratio_of("1"), ratio_of("2"), ratio_of("3")];
        let ratio_pharmacy = ratio_of("pharmacy");
        let unfiled_reduction = Fixed4::parse(&p.unfiled_reduction).unwrap_or_else(|e| {
            problems.push(problem(row, "unfiled_reduction", e.code(), e.zh(), e.en()));
            Fixed4::ZERO
        });
        let policy = Policy {
            deductible: money(row, "deductible", &p.deductible, &mut problems),
            ratio_by_level,
            ratio_pharmacy,
            pool_cap: money(row, "pool_cap", &p.pool_cap, &mut problems),
            second_tier_ratio: ratio(
                row,
                "second_tier_ratio",
                &p.second_tier_ratio,
                &mut problems,
            ),
            second_tier_cap: money(row, "second_tier_cap", &p.second_tier_cap, &mut problems),
            unfiled_reduction,
            account: p.account,
        };
        let entry = PolicyEntry {
            region,
            year: p.year,
            insutype: p.insutype.clone(),
            med_type: p.med_type.clone(),
            policy,
        };
        check_against_earlier(row, &entry, &out, &mut problems);
        out.push((row, entry));
    }
    if problems.is_empty() {
        Ok(out.into_iter().map(|(_, e)| e).collect())
    } else {
        Err(problems)
    }
}

/// A table repeated, or one whose region-wide numbers differ from another of its insutype.
fn check_against_earlier(
    row: usize,
    e: &PolicyEntry,
    earlier: &[(usize, PolicyEntry)],
    problems: &mut Vec<RowProblem>,
) {
    let same_insutype =
        |o: &PolicyEntry| o.region == e.region && o.year == e.year && o.insutype == e.insutype;
    if let Some((first, _)) = earlier
        .iter()
        .find(|(_, o)| same_insutype(o) && o.med_type == e.med_type)
    {
        problems.push(problem(
            row,
            "med_type",
            "row.duplicate",
            format!("与第 {first} 行的政策重复（同一地区、年度、险种、医疗类别）"),
            format!("repeats the policy of line {first} (same region, year, insutype, med_type)"),
        ));
    } else if let Some((first, o)) = earlier.iter().find(|(_, o)| same_insutype(o)) {
        let (a, b) = (&o.policy, &e.policy);
        if (
            a.pool_cap,
            a.second_tier_ratio,
            a.second_tier_cap,
            a.unfiled_reduction,
            a.account,
        ) != (
            b.pool_cap,
            b.second_tier_ratio,
            b.second_tier_cap,
            b.unfiled_reduction,
            b.account,
        ) {
            problems.push(problem(
                row,
                "pool_cap",
                "policy.inconsistent",
                format!(
                    "pool_cap、second_tier_*、unfiled_reduction、account 属于地区、年度与险种，应与第 {first} 行相同"
                ),
                format!(
                    "pool_cap, second_tier_*, unfiled_reduction and account belong to the region, year and insutype: they must equal line {first}'s"
                ),
            ));
        }
    }
}

/// The catalogue's columns.
pub const CATALOGUE_HEADER: [&str; 6] = [
    "region",
    "code",
    "name",
    "class",
    "selfpay_prop",
    "price_cap",
];

/// Reads a catalogue file.
///
/// # Errors
/// The file's own problem, or every bad line with its column.
pub fn parse_catalogue(bytes: &[u8]) -> Result<Vec<CatalogueEntry>, Vec<RowProblem>> {
    let file_problem = |e: FileError| vec![problem(1, "", e.code(), e.zh(), e.en())];
    let (_, grid) = read_csv_grid(bytes).map_err(file_problem)?;
    let Some(((_, header), rows)) = grid.split_first() else {
        return Err(file_problem(FileError::Empty));
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    if header != CATALOGUE_HEADER {
        return Err(vec![problem(
            1,
            "",
            "file.header",
            format!("表头应为 {}", CATALOGUE_HEADER.join(",")),
            format!("the header must be {}", CATALOGUE_HEADER.join(",")),
        )]);
    }
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (row, cells) in rows {
        let row = *row;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |i: usize| cells.get(i).map_or("", |c| c.trim());
        let region = city(row, "region", cell(0), &mut problems);
        let code = cell(1).to_owned();
        let name = cell(2).to_owned();
        if code.is_empty() || code.len() > 50 || name.is_empty() {
            problems.push(problem(
                row,
                if code.is_empty() { "code" } else { "name" },
                "catalogue.item",
                "项目编码与名称不能为空（编码不超过 50 个字符）".into(),
                "the item's code and name must be given (the code at most 50 characters)".into(),
            ));
        }
        let Some(class) = ItemClass::from_code(cell(3)) else {
            problems.push(problem(
                row,
                "class",
                "catalogue.class",
                format!("类别“{}”应为 01（甲）、02（乙）或 03（丙）", cell(3)),
                format!("class \"{}\" must be 01 (甲), 02 (乙) or 03 (丙)", cell(3)),
            ));
            continue;
        };
        let selfpay_prop = match (class, cell(4)) {
            (ItemClass::B, text) => ratio(row, "selfpay_prop", text, &mut problems),
            (_, "" | "0") | (ItemClass::C, _) => Fixed4::ZERO,
            (ItemClass::A, text) => {
                problems.push(problem(
                    row,
                    "selfpay_prop",
                    "catalogue.selfpay_prop",
                    format!("甲类项目没有先行自付比例（应为 0，而不是 {text}）"),
                    format!("a class 01 item has no pay-first share (0, not {text})"),
                ));
                Fixed4::ZERO
            }
        };
        let price_cap = match cell(5) {
            "" => None,
            text => Some(money(row, "price_cap", text, &mut problems)),
        };
        if let Some(first) = seen.insert((region.clone(), code.clone()), row) {
            problems.push(problem(
                row,
                "code",
                "row.duplicate",
                format!("项目编码 {code} 与第 {first} 行重复"),
                format!("item code {code} repeats line {first}"),
            ));
        }
        out.push(CatalogueEntry {
            region,
            code,
            name,
            item: CatalogueItem {
                class,
                selfpay_prop,
                price_cap,
            },
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = include_str!("../../../docs/examples/policy-321200-2026.toml");

    #[test]
    fn a_policy_file_is_read_exactly() {
        let list = parse_policies(POLICY).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].policy.deductible.to_string(), "1200.00");
        assert_eq!(
            list[0].policy.ratio_by_level[2],
            Fixed4::parse("0.8").unwrap()
        );
    }

    #[test]
    fn a_bad_policy_file_is_refused_with_lines() {
        let bad = POLICY
            .replacen("deductible = \"1200.00\"", "deductible = \"1200.001\"", 1)
            .replacen("\"2\" = \"0.90\"", "\"2\" = \"1.5\"", 1);
        let problems = parse_policies(&bad).unwrap_err();
        let fields: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_str()))
            .collect();
        assert_eq!(fields.len(), 2, "{fields:?}");
        assert!(fields.iter().any(|f| f.1 == "deductible"), "{fields:?}");
        assert!(fields.iter().any(|f| f.1 == "ratio.2"), "{fields:?}");
        // Both on the second table, which starts on line 17.
        assert!(
            fields.iter().all(|f| (17..=18).contains(&f.0)),
            "{fields:?}"
        );
        // Region-wide numbers that differ between two tables of one insutype.
        let at = POLICY.rfind("pool_cap = \"300000.00\"").unwrap();
        let mut changed = POLICY.to_owned();
        changed.replace_range(at..at + 22, "pool_cap = \"250000.00\"");
        assert_eq!(
            parse_policies(&changed).unwrap_err()[0].code,
            "policy.inconsistent"
        );
        // The same table twice.
        let second = POLICY.find("\n[[policy]]\nregion = \"321200\"\nyear = 2026\ninsutype = \"310\"\nmed_type = \"21\"").unwrap();
        let doubled = format!("{POLICY}{}", &POLICY[..second]);
        assert_eq!(
            parse_policies(&doubled).unwrap_err()[0].code,
            "row.duplicate"
        );
        // Not TOML, or an unknown field: the line is said.
        let unknown = POLICY.replacen("account = true", "acount = true", 1);
        let p = parse_policies(&unknown).unwrap_err();
        assert_eq!(p[0].code, "policy.syntax");
    }

    #[test]
    fn a_catalogue_is_read_and_a_bad_one_refused_whole() {
        let good = "region,code,name,class,selfpay_prop,price_cap\n\
                    321200,XB01AAA001,阿莫西林胶囊,01,0,\n\
                    321200,XB02BBB002,头孢克肟片,02,0.10,30.00\n\
                    321200,F0003,特需病房床位费,03,,\n";
        let list = parse_catalogue(good.as_bytes()).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[1].item.price_cap, Some(Money::parse("30").unwrap()));
        let bad = format!("{good}32120,X1,名称,04,,\n321200,XB01AAA001,重复,01,0.2,abc\n");
        let problems = parse_catalogue(bad.as_bytes()).unwrap_err();
        let got: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_str()))
            .collect();
        assert!(
            got.contains(&(5, "region")) && got.contains(&(5, "class")),
            "{got:?}"
        );
        assert!(
            got.contains(&(6, "selfpay_prop")) && got.contains(&(6, "price_cap")),
            "{got:?}"
        );
        assert!(got.contains(&(6, "code")), "{got:?}");
    }
}
