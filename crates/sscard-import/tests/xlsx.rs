//! Workbooks as HR departments send them: merged workshop cells, formulas, empty rows, a
//! header that is not on the first row, wrong headers.

use chrono::NaiveDate;
use rust_xlsxwriter::{Formula, Workbook};
use sscard_ids::{Bilingual, RegionCode, ResidentId};
use sscard_import::parse_xlsx;

fn is_bank(b: &str) -> bool {
    ["CCB", "ABC", "105"].contains(&b)
}

fn id(n: u16) -> String {
    ResidentId::from_parts(
        RegionCode::parse("411526").unwrap(),
        NaiveDate::from_ymd_opt(1990, 3, 3).unwrap(),
        n,
    )
    .unwrap()
    .expose()
    .to_owned()
}

#[test]
fn merged_cells_formulas_and_row_numbers() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    // Row 1 is a title; the header is row 2 (spreadsheet numbering).
    sheet
        .write_string(0, 0, "可胜电子 2026 年社保卡批量申领")
        .unwrap();
    for (c, h) in ["姓名", "身份证号码", "车间", "部门", "合作银行"]
        .iter()
        .enumerate()
    {
        sheet.write_string(1, c as u16, *h).unwrap();
    }
    let rows = [
        ("张伟", id(1), "CCB"),
        ("李娜", id(2), "ABC"),
        ("王芳", id(3), "CCB"),
    ];
    for (i, (name, rid, bank)) in rows.iter().enumerate() {
        let r = 2 + i as u32;
        sheet.write_string(r, 0, *name).unwrap();
        sheet.write_string(r, 1, rid).unwrap();
        sheet.write_string(r, 4, *bank).unwrap();
    }
    // The workshop is merged over the three employees; departments differ.
    sheet
        .merge_range(2, 2, 4, 2, "SMT一车间", &rust_xlsxwriter::Format::new())
        .unwrap();
    sheet.write_string(2, 3, "贴片一组").unwrap();
    sheet.write_string(3, 3, "贴片二组").unwrap();
    // A formula counts by its cached value (a library-written one caches 0, which then fails the
    // bank check visibly).
    sheet
        .write_formula(4, 3, Formula::new("=\"品质\"&\"组\"").set_result("品质组"))
        .unwrap();
    sheet.write_string(6, 0, "赵敏").unwrap();
    sheet.write_string(6, 1, id(4)).unwrap();
    sheet
        .write_formula(6, 4, Formula::new("=UPPER(\"ccb\")"))
        .unwrap();
    let bytes = book.save_to_buffer().unwrap();

    let p = parse_xlsx(&bytes, &is_bank).unwrap();
    let rows: Vec<(usize, &str, Option<&str>, Option<&str>)> = p
        .rows
        .iter()
        .map(|r| {
            (
                r.row,
                r.name.expose(),
                r.workshop.as_deref(),
                r.department.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (3, "张伟", Some("SMT一车间"), Some("贴片一组")),
            (4, "李娜", Some("SMT一车间"), Some("贴片二组")),
            (5, "王芳", Some("SMT一车间"), Some("品质组")),
        ]
    );
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    assert_eq!(
        (p.problems[0].row, p.problems[0].code.as_str()),
        (7, "row.unknown_bank")
    );
    assert!(
        p.problems[0].message.contains("“0”"),
        "{}",
        p.problems[0].message
    );
}

#[test]
fn wrong_headers_and_not_a_workbook() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "名字").unwrap();
    sheet.write_string(0, 1, "身份证号码").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let err = parse_xlsx(&bytes, &is_bank).unwrap_err();
    assert_eq!(err.code(), "file.missing_columns");
    assert!(
        err.zh().contains("姓名") && err.zh().contains("合作银行"),
        "{err}"
    );
    assert_eq!(
        parse_xlsx(b"PK\x03\x04 not really", &is_bank)
            .unwrap_err()
            .code(),
        "file.malformed"
    );
    assert_eq!(
        parse_xlsx(b"", &is_bank).unwrap_err().code(),
        "file.malformed"
    );
}
