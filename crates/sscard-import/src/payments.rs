//! A benefit payment file (代发): CSV `id_number,amount` (or `身份证号码,金额`), UTF-8 or
//! GBK/GB18030. Every row is checked — the ID number (15-digit numbers upgraded), the amount
//! (a positive exact decimal of at most two places, at most 1,000,000.00), a person once — and
//! every bad row is reported with its row, column and reason in Chinese and English; the good
//! rows are returned for one batch.

use std::collections::HashMap;

use sscard_core::money::Money;
use sscard_ids::{Bilingual, ResidentId};

use crate::{FileError, RowProblem, read_csv_grid_up_to};

/// The most rows one payment file may hold (a city's pensioners in one file).
pub const MAX_PAYMENT_ROWS: usize = 5_000_000;

/// The largest single payment accepted.
pub const MAX_AMOUNT_CENTS: i64 = 100_000_000;

/// One good row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLine {
    /// The row in the file (header = 1).
    pub row: usize,
    /// Who is paid.
    pub id: ResidentId,
    /// How much.
    pub amount: Money,
}

/// The file read: the good rows and every bad one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentFile {
    /// Rows read (header excluded, blank lines skipped).
    pub rows: usize,
    /// The good rows, in file order.
    pub lines: Vec<PaymentLine>,
    /// The bad rows.
    pub rejected: Vec<RowProblem>,
}

use crate::row_problem as problem;

/// Reads a payment file.
///
/// # Errors
/// The file's own problem (encoding, no rows, the header), as one problem of row 1.
pub fn parse_payment_file(bytes: &[u8]) -> Result<PaymentFile, RowProblem> {
    let file_problem = |e: FileError| problem(1, "", e.code(), e.zh(), e.en());
    let (_, grid) = read_csv_grid_up_to(bytes, MAX_PAYMENT_ROWS).map_err(file_problem)?;
    let Some(((_, header), rows)) = grid.split_first() else {
        return Err(file_problem(FileError::Empty));
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    let known = |h: &[String], a: &str, b: &str| h.len() >= 2 && h[0] == a && h[1] == b;
    if !(known(&header, "id_number", "amount") || known(&header, "身份证号码", "金额")) {
        return Err(problem(
            1,
            "",
            "file.header",
            "表头应为 id_number,amount（或 身份证号码,金额）".into(),
            "the header must be id_number,amount (or 身份证号码,金额)".into(),
        ));
    }
    let mut out = PaymentFile::default();
    let mut seen: HashMap<ResidentId, usize> = HashMap::new();
    for (row, cells) in rows {
        let row = *row;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.rows += 1;
        let cell = |i: usize| cells.get(i).map_or("", |c| c.trim());
        let id = match ResidentId::parse(cell(0)) {
            Ok(id) => id,
            Err(e) => {
                out.rejected
                    .push(problem(row, "id_number", e.code(), e.zh(), e.en()));
                continue;
            }
        };
        let amount = match Money::parse(cell(1)) {
            Ok(a) if a > Money::ZERO && a.cents() <= MAX_AMOUNT_CENTS => a,
            Ok(a) => {
                out.rejected.push(problem(
                    row,
                    "amount",
                    "payment.amount",
                    format!("金额 {a} 应大于 0 且不超过 1000000.00"),
                    format!("the amount {a} must be above 0 and at most 1000000.00"),
                ));
                continue;
            }
            Err(e) => {
                out.rejected
                    .push(problem(row, "amount", e.code(), e.zh(), e.en()));
                continue;
            }
        };
        if let Some(first) = seen.insert(id, row) {
            out.rejected.push(problem(
                row,
                "id_number",
                "row.duplicate",
                format!("{} 已在第 {first} 行：同一批次每人一行", id.masked()),
                format!(
                    "{} is already on row {first}: one row per person in a batch",
                    id.masked()
                ),
            ));
            continue;
        }
        out.lines.push(PaymentLine { row, id, amount });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_rows_kept_every_bad_row_named() {
        let text = "id_number,amount\n\
                    321202198808081014,2345.60\n\
                    321202198808081015,100.00\n\
                    320102199003071116,-5\n\
                    321204197506152022,12.345\n\
                    \n\
                    321202198808081014,1.00\n\
                    321204750615202,88.8\n";
        let f = parse_payment_file(text.as_bytes()).unwrap();
        assert_eq!(f.rows, 6);
        assert_eq!(f.lines.len(), 2);
        assert_eq!(f.lines[0].amount.cents(), 234_560);
        assert_eq!(f.lines[1].row, 8, "the 15-digit number, upgraded");
        assert_eq!(f.lines[1].amount.cents(), 8_880);
        let rejected: Vec<(usize, &str)> = f
            .rejected
            .iter()
            .map(|p| (p.row, p.column.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [
                (3, "id_number"),
                (4, "amount"),
                (5, "amount"),
                (7, "id_number")
            ]
        );
        assert_eq!(f.rejected[3].code, "row.duplicate");
        assert!(!f.rejected[3].message.contains("198808081014"), "masked");
    }

    #[test]
    fn a_chinese_header_in_gbk_is_read_and_a_wrong_header_refused() {
        let (gbk, _, _) = encoding_rs::GBK.encode("身份证号码,金额\n321202198808081014,1.50\n");
        let f = parse_payment_file(&gbk).unwrap();
        assert_eq!(f.lines.len(), 1);
        let e = parse_payment_file(b"name,amount\n").unwrap_err();
        assert_eq!(e.code, "file.header");
    }
}
