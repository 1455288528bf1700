//! Malformed and hostile employee lists: every bad row named, every good row kept, a refused
//! file refused whole.

use std::fmt::Write as _;

use chrono::NaiveDate;
use sscard_ids::{Bilingual, RegionCode, ResidentId};
use sscard_import::{FileError, MAX_CELL_CHARS, parse_csv};

fn is_bank(b: &str) -> bool {
    ["CCB", "ABC", "BOCOM", "TZRCB", "105", "103", "301", "314"].contains(&b)
}

fn id(n: u16) -> String {
    ResidentId::from_parts(
        RegionCode::parse("341221").unwrap(),
        NaiveDate::from_ymd_opt(1995, 5, 5).unwrap(),
        n,
    )
    .unwrap()
    .expose()
    .to_owned()
}

#[test]
fn good_and_bad_rows_side_by_side() {
    let csv = format!(
        "姓名,身份证号码,手机号码,车间,部门,合作银行\n\
         张伟,{},13912345678,SMT一车间,贴片一组,CCB\n\
         李娜,110105194912310021,13912345679,SMT一车间,贴片一组,CCB\n\
         ,{},,,,\n\
         王芳,{},1391234,组装车间,总装线A,XYZ\n\
         \n\
         赵敏,{},,测试车间,,105\n\
         钱𠮷,{},,测试车间,,105\n\
         孙强,{},,测试车间,,ABC\n",
        id(11),
        id(12),
        id(13),
        id(14),
        id(15),
        id(11),
    );
    let p = parse_csv(csv.as_bytes(), &is_bank).unwrap();
    assert_eq!(p.encoding, "UTF-8");
    let good: Vec<usize> = p.rows.iter().map(|r| r.row).collect();
    assert_eq!(good, [2, 7], "rows 2 and 7 are fine");
    let codes: Vec<(usize, &str, &str)> = p
        .problems
        .iter()
        .map(|q| (q.row, q.column.as_str(), q.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            (3, "身份证号码", "resident_id.check_character"),
            (4, "姓名", "person_name.empty"),
            (4, "合作银行", "row.unknown_bank"),
            (5, "合作银行", "row.unknown_bank"),
            (5, "手机号码", "row.phone"),
            (8, "姓名", "person_name.outside_gbk"),
            (9, "身份证号码", "row.duplicate"),
        ]
    );
    assert!(
        p.problems
            .iter()
            .all(|q| !q.message.is_empty() && !q.message_en.is_empty())
    );
    assert!(
        p.problems.last().unwrap().message.contains("第 2 行"),
        "the duplicate names the first row"
    );
    // Messages never carry the full ID number.
    assert!(
        p.problems
            .iter()
            .all(|q| !q.message.contains("110105194912310021"))
    );
}

#[test]
fn gbk_and_bom_and_english_headers() {
    let text = format!("姓名,身份证号码,合作银行\n张伟,{},CCB\n", id(21));
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let p = parse_csv(&gbk, &is_bank).unwrap();
    assert_eq!(p.encoding, "GB18030");
    assert_eq!(p.rows[0].name.expose(), "张伟");
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(
        format!("Name,ID Number,Bank,Workshop\n李娜,{},abc,X\n", id(22)).as_bytes(),
    );
    let p = parse_csv(&bom, &|b| is_bank(&b.to_uppercase())).unwrap();
    assert_eq!(p.encoding, "UTF-8");
    assert_eq!(p.rows.len(), 1);
    assert_eq!(p.rows[0].workshop.as_deref(), Some("X"));
}

#[test]
fn refused_files() {
    assert_eq!(parse_csv(b"", &is_bank).unwrap_err(), FileError::Empty);
    assert_eq!(
        parse_csv(b"\n\n,,\n", &is_bank).unwrap_err(),
        FileError::Empty
    );
    let err = parse_csv("姓名,证件号,银行\n张伟,x,CCB\n".as_bytes(), &is_bank).unwrap_err();
    assert_eq!(err.code(), "file.missing_columns");
    assert!(
        err.zh().contains("身份证号码") && err.zh().contains("证件号"),
        "{err}"
    );
    let err = parse_csv("姓名,身份证号码,合作银行,姓名\n".as_bytes(), &is_bank).unwrap_err();
    assert_eq!(err.code(), "file.duplicate_column");
    let err = parse_csv(
        format!("姓名,身份证号码,合作银行\n\"张伟,{},CCB\n", id(1)).as_bytes(),
        &is_bank,
    );
    // An unclosed quote swallows the rest of the file into one cell: refused or reported, never panics.
    assert!(err.is_err() || !err.unwrap().problems.is_empty());
}

#[test]
fn huge_cells_and_ten_thousand_rows() {
    let huge = "长".repeat(MAX_CELL_CHARS + 1);
    let csv = format!(
        "姓名,身份证号码,合作银行,部门\n张伟,{},CCB,{huge}\n",
        id(31)
    );
    let p = parse_csv(csv.as_bytes(), &is_bank).unwrap();
    assert_eq!(p.rows.len(), 0);
    assert_eq!(p.problems[0].code, "row.cell_too_long");
    assert_eq!(p.problems[0].column, "部门");

    let mut big = String::from("姓名,身份证号码,合作银行\n");
    for i in 0..10_000u32 {
        let d = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
            + chrono::Duration::days(i64::from(i / 1000));
        let rid =
            ResidentId::from_parts(RegionCode::parse("321202").unwrap(), d, (i % 1000) as u16)
                .unwrap();
        writeln!(
            big,
            "王{},{},CCB",
            ["伟", "芳", "娜"][(i % 3) as usize],
            rid.expose()
        )
        .unwrap();
    }
    let p = parse_csv(big.as_bytes(), &is_bank).unwrap();
    assert_eq!(p.rows.len(), 10_000);
    assert!(p.problems.is_empty());
    assert_eq!(p.rows.last().unwrap().row, 10_001);
}
