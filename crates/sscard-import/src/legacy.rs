//! The old city system's card file (存量卡): CSV in UTF-8 or GBK/GB18030 with a Chinese or an
//! English header, `卡号,社会保障号码,姓名,发卡日期,卡状态,开户银行,银行账号,所属区县` /
//! `card_number,ssn,name,issue_date,status,bank,account,district`. Every row is checked — the
//! card number, the ID number (15-digit ones upgraded to 18), the name, the date, the status
//! (正常/挂失/注销 or normal/lost/cancelled), a known bank, the account, a district of the city —
//! and every bad row is reported with its row, column and reason in Chinese and English; the
//! good rows are returned for the store.

use std::collections::HashMap;

use chrono::NaiveDate;
use sscard_ids::{BankCardNumber, Bilingual, CardNumber, PersonName, RegionCode, ResidentId};
use sscard_store::bank::{LegacyCardInput, LegacyStatus};

use crate::{FileError, RowProblem, read_csv_grid_up_to};

/// The most rows one legacy file may hold (a city's cards in one file).
pub const MAX_LEGACY_ROWS: usize = 5_000_000;

const ZH: [&str; 8] = [
    "卡号",
    "社会保障号码",
    "姓名",
    "发卡日期",
    "卡状态",
    "开户银行",
    "银行账号",
    "所属区县",
];
const EN: [&str; 8] = [
    "card_number",
    "ssn",
    "name",
    "issue_date",
    "status",
    "bank",
    "account",
    "district",
];

/// The optional ninth column: the card identification code (卡识别码) the old system issued
/// the card with, which terminals check the card against.
const CODE_COLUMN: [&str; 2] = ["卡识别码", "card_id_code"];

/// A bank the file may name: by code, short name or Chinese name.
#[derive(Debug, Clone)]
pub struct KnownBank {
    /// PBoC code (`403`).
    pub code: String,
    /// Short name (`PSBC`).
    pub short_name: String,
    /// Chinese name (`中国邮政储蓄银行`).
    pub name_zh: String,
}

/// One good row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyRow {
    /// The row in the file (header = 1).
    pub row: usize,
    /// The card, ready for the store.
    pub card: LegacyCardInput,
    /// The district it belongs to.
    pub district: RegionCode,
    /// The ID number was a 15-digit one.
    pub upgraded: bool,
}

/// The file read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LegacyFile {
    /// Rows read (header excluded, blank lines skipped).
    pub rows: usize,
    /// The good rows, in file order.
    pub lines: Vec<LegacyRow>,
    /// The bad rows.
    pub rejected: Vec<RowProblem>,
}

use crate::row_problem as problem;

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y%m%d"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y/%m/%d"))
        .ok()
}

fn status(s: &str) -> Option<LegacyStatus> {
    match s {
        "正常" | "normal" => Some(LegacyStatus::Normal),
        "挂失" | "lost" => Some(LegacyStatus::Lost),
        "注销" | "cancelled" => Some(LegacyStatus::Cancelled),
        _ => None,
    }
}

/// Checks one row's cells; the first problem of each cell is reported.
#[allow(clippy::too_many_lines)] // one check per column, in the file's order
fn check_row(
    row: usize,
    cells: &[String],
    header: &[&str; 8],
    code_column: Option<&str>,
    banks: &[KnownBank],
    city: &str,
    out: &mut Vec<RowProblem>,
) -> Option<LegacyRow> {
    let cell = |i: usize| cells.get(i).map_or("", |c| c.trim());
    let before = out.len();
    let card = match CardNumber::parse(cell(0)) {
        Ok(c) => Some(c),
        Err(e) => {
            out.push(problem(row, header[0], e.code(), e.zh(), e.en()));
            None
        }
    };
    let id = match ResidentId::parse(cell(1)) {
        Ok(id) => Some(id),
        Err(e) => {
            out.push(problem(row, header[1], e.code(), e.zh(), e.en()));
            None
        }
    };
    let name = match PersonName::parse(cell(2)) {
        Ok(n) => Some(n),
        Err(e) => {
            out.push(problem(row, header[2], e.code(), e.zh(), e.en()));
            None
        }
    };
    let issued = date(cell(3)).filter(|d| *d <= sscard_ids::china_today());
    if issued.is_none() {
        out.push(problem(
            row,
            header[3],
            "legacy.issue_date",
            format!("发卡日期“{}”应为 YYYY-MM-DD 且不晚于今天", cell(3)),
            format!(
                "the issue date \"{}\" must be YYYY-MM-DD and not in the future",
                cell(3)
            ),
        ));
    }
    let st = status(cell(4));
    if st.is_none() {
        out.push(problem(
            row,
            header[4],
            "legacy.status",
            format!("卡状态“{}”应为 正常、挂失 或 注销", cell(4)),
            format!(
                "the status \"{}\" must be 正常/normal, 挂失/lost or 注销/cancelled",
                cell(4)
            ),
        ));
    }
    let bank = banks.iter().find(|b| {
        let v = cell(5);
        b.code == v || b.short_name.eq_ignore_ascii_case(v) || b.name_zh == v
    });
    if bank.is_none() {
        out.push(problem(
            row,
            header[5],
            "legacy.bank",
            format!("开户银行“{}”不是合作银行（代码、简称或中文名称）", cell(5)),
            format!(
                "the bank \"{}\" is not a partner bank (code, short or Chinese name)",
                cell(5)
            ),
        ));
    }
    let account = match BankCardNumber::parse(cell(6)) {
        Ok(a) => Some(a),
        Err(e) => {
            out.push(problem(row, header[6], e.code(), e.zh(), e.en()));
            None
        }
    };
    let district = RegionCode::parse(cell(7))
        .ok()
        .filter(|r| r.to_string().starts_with(city) && r.to_string() != format!("{city}00"));
    if district.is_none() {
        out.push(problem(
            row,
            header[7],
            "legacy.district",
            format!("所属区县“{}”不是本市（{city}）的区县代码", cell(7)),
            format!(
                "the district \"{}\" is not a district code of this city ({city})",
                cell(7)
            ),
        ));
    }
    let card_id_code = match code_column.map(|_| cell(8)).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => match sscard_ids::CardIdCode::parse(c) {
            Ok(code) => Some(code.as_str().to_owned()),
            Err(e) => {
                out.push(problem(
                    row,
                    code_column.unwrap_or(""),
                    e.code(),
                    e.zh(),
                    e.en(),
                ));
                None
            }
        },
    };
    if out.len() > before {
        return None;
    }
    let id = id?;
    Some(LegacyRow {
        row,
        card: LegacyCardInput {
            id,
            name: name?,
            card: card?,
            bank: bank?.code.clone(),
            account: account?.expose().to_owned(),
            issue_date: issued?,
            status: st?,
            district: district.map(|d| d.to_string()),
            card_id_code,
        },
        district: district?,
        upgraded: id.upgraded_from_15(),
    })
}

/// Reads a legacy card file of the city whose code starts with `city` (`3212`).
///
/// # Errors
/// The file's own problem (encoding, no rows, the header), as one problem of row 1.
pub fn parse_legacy_file(
    bytes: &[u8],
    banks: &[KnownBank],
    city: &str,
) -> Result<LegacyFile, RowProblem> {
    let file_problem = |e: FileError| problem(1, "", e.code(), e.zh(), e.en());
    let (_, grid) = read_csv_grid_up_to(bytes, MAX_LEGACY_ROWS).map_err(file_problem)?;
    let Some(((_, header), rows)) = grid.split_first() else {
        return Err(file_problem(FileError::Empty));
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    let names = if header.iter().take(8).eq(ZH.iter()) {
        &ZH
    } else if header.iter().take(8).eq(EN.iter()) {
        &EN
    } else {
        return Err(problem(
            1,
            "",
            "file.header",
            format!("表头应为 {}", ZH.join(",")),
            format!("the header must be {} (or the Chinese one)", EN.join(",")),
        ));
    };
    let code_column = header
        .get(8)
        .and_then(|h| CODE_COLUMN.iter().find(|c| **c == h.as_str()))
        .copied();
    let mut out = LegacyFile::default();
    let mut seen: HashMap<CardNumber, usize> = HashMap::new();
    for (row, cells) in rows {
        let row = *row;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.rows += 1;
        let Some(line) = check_row(
            row,
            cells,
            names,
            code_column,
            banks,
            city,
            &mut out.rejected,
        ) else {
            continue;
        };
        if let Some(first) = seen.insert(line.card.card, row) {
            out.rejected.push(problem(
                row,
                names[0],
                "row.duplicate",
                format!("卡号 {} 已在第 {first} 行", line.card.card),
                format!("card {} is already on row {first}", line.card.card),
            ));
            continue;
        }
        out.lines.push(line);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn banks() -> Vec<KnownBank> {
        vec![KnownBank {
            code: "403".into(),
            short_name: "PSBC".into(),
            name_zh: "中国邮政储蓄银行".into(),
        }]
    }

    #[test]
    fn every_bad_cell_is_named_and_the_good_rows_kept() {
        let account = BankCardNumber::from_payload("621799000000000001").unwrap();
        let a = account.expose();
        let card = |n: u32| CardNumber::from_body(&format!("L{n:07}")).unwrap();
        let (c1, c2) = (card(1), card(2));
        let text = format!(
            "卡号,社会保障号码,姓名,发卡日期,卡状态,开户银行,银行账号,所属区县\n\
             {c1},321202198808081014,张三,2012-03-01,正常,403,{a},321202\n\
             {c2},321204750615202,李四,20100501,挂失,PSBC,{a},321204\n\
             L0000003Z,321202198808081015,王五,2099-01-01,冻结,ICBC,123,320102\n\
             {c1},320102199003071116,赵六,2012-03-01,注销,中国邮政储蓄银行,{a},321281\n"
        );
        let f = parse_legacy_file(text.as_bytes(), &banks(), "3212").unwrap();
        assert_eq!(f.rows, 4);
        assert_eq!(f.lines.len(), 2);
        assert!(f.lines[1].upgraded, "the 15-digit number, upgraded");
        assert_eq!(f.lines[1].card.status, LegacyStatus::Lost);
        let columns: Vec<(usize, &str)> = f
            .rejected
            .iter()
            .map(|p| (p.row, p.column.as_str()))
            .collect();
        assert_eq!(
            columns,
            [
                (4, "卡号"),
                (4, "社会保障号码"),
                (4, "发卡日期"),
                (4, "卡状态"),
                (4, "开户银行"),
                (4, "银行账号"),
                (4, "所属区县"),
                (5, "卡号"),
            ],
            "{:?}",
            f.rejected
        );
        assert_eq!(f.rejected[7].code, "row.duplicate");
    }

    #[test]
    fn the_optional_identification_code_column_is_read_and_checked() {
        let a = BankCardNumber::from_payload("621799000000000001").unwrap();
        let a = a.expose();
        let code = sscard_ids::CardIdCode::new(
            RegionCode::parse("321200").unwrap(),
            [0, 1, 2, 3, 4, 5, 6, 7],
        );
        let card = |n: u32| CardNumber::from_body(&format!("L{n:07}")).unwrap();
        let text = format!(
            "card_number,ssn,name,issue_date,status,bank,account,district,card_id_code\n\
             {},321202198808081014,张三,2012-03-01,normal,403,{a},321202,{}\n\
             {},320102199003071116,赵六,2012-03-01,normal,403,{a},321281,\n\
             {},321204197506152022,王芳,2012-03-01,normal,403,{a},321204,XYZ\n",
            card(1),
            code.as_str(),
            card(2),
            card(3),
        );
        let f = parse_legacy_file(text.as_bytes(), &banks(), "3212").unwrap();
        assert_eq!(f.lines.len(), 2);
        assert_eq!(f.lines[0].card.card_id_code.as_deref(), Some(code.as_str()));
        assert_eq!(
            f.lines[1].card.card_id_code, None,
            "an empty cell: not given"
        );
        assert_eq!(
            (f.rejected[0].row, f.rejected[0].column.as_str()),
            (4, "card_id_code")
        );
    }

    #[test]
    fn an_english_header_in_gbk_is_read_and_a_wrong_header_refused() {
        let a = BankCardNumber::from_payload("621799000000000001").unwrap();
        let text = format!(
            "card_number,ssn,name,issue_date,status,bank,account,district\n\
             {},321202198808081014,张三,2012-03-01,normal,403,{},321202\n",
            CardNumber::from_body("L0000001").unwrap(),
            a.expose()
        );
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        let f = parse_legacy_file(&gbk, &banks(), "3212").unwrap();
        assert_eq!(f.lines.len(), 1, "{:?}", f.rejected);
        assert_eq!(f.lines[0].card.name.expose(), "张三");
        let e = parse_legacy_file(b"card,ssn\n", &banks(), "3212").unwrap_err();
        assert_eq!(e.code, "file.header");
    }
}
