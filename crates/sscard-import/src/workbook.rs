//! The workbooks an employer downloads: the blank template and the error workbook of an upload.

use rust_xlsxwriter::{DataValidation, Format, FormatBorder, Workbook, XlsxError};
use sscard_store::{Bank, RowIssue};

use crate::Column;

fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_background_color("DDEBF7")
        .set_border(FormatBorder::Thin)
}

/// The employee-list template: one sheet with the header row (required columns starred), the
/// ID-number and phone columns formatted as text (so Excel keeps every digit and the final X),
/// a drop-down of the partner banks, and a sheet of instructions.
pub fn template(banks: &[Bank]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let text = Format::new().set_num_format("@");
    let sheet = book.add_worksheet().set_name("员工名单")?;
    for (i, column) in Column::ALL.iter().enumerate() {
        let col = i as u16;
        let title = if column.required() {
            format!("{}*", column.header())
        } else {
            column.header().to_owned()
        };
        sheet.write_string_with_format(0, col, &title, &header_format())?;
        sheet.set_column_width(col, if *column == Column::IdNumber { 22 } else { 14 })?;
        if matches!(column, Column::IdNumber | Column::Phone | Column::Photo) {
            sheet.set_column_format(col, &text)?;
        }
    }
    let open: Vec<String> = banks
        .iter()
        .filter(|b| !b.legacy)
        .map(|b| b.short_name.clone())
        .collect();
    let bank_col = Column::ALL
        .iter()
        .position(|c| *c == Column::Bank)
        .unwrap_or(2) as u16;
    if !open.is_empty() {
        let list = DataValidation::new().allow_list_strings(&open)?;
        sheet.add_data_validation(1, bank_col, 10_000, bank_col, &list)?;
    }
    sheet.set_freeze_panes(1, 0)?;

    let notes = book.add_worksheet().set_name("说明 Notes")?;
    let lines = [
        ("填写说明", "How to fill in"),
        (
            "第 1 行是表头，请勿修改；带 * 的列必填。",
            "Row 1 is the header; keep it. Starred columns are required.",
        ),
        (
            "身份证号码：18 位，末位可为 X；列已设为文本格式。",
            "ID number: 18 characters, the last may be X; the column is text.",
        ),
        (
            "合作银行：填银行简称或代码（见下表）。",
            "Bank: the short name or code from the table below.",
        ),
        (
            "照片：另附 ZIP 压缩包，照片以身份证号码命名（如 320102199001011234.jpg），或在“照片”列填写文件名。",
            "Photos: a separate ZIP; name each photo by the ID number (e.g. 320102199001011234.jpg) or give its file name in the photo column.",
        ),
        (
            "照片要求：本人近期正面免冠彩色照片，纯白背景，JPEG 或 PNG。",
            "Photo: a recent frontal colour photo without a hat on a plain white background, JPEG or PNG.",
        ),
        (
            "上传后如有错误，请下载错误清单，改正后重新上传整份文件；已受理的人员不会重复申领。",
            "If rows are refused, download the error workbook, fix them and upload the whole file again; people already applied are not applied twice.",
        ),
    ];
    for (i, (zh, en)) in lines.iter().enumerate() {
        notes.write_string(i as u32, 0, *zh)?;
        notes.write_string(i as u32, 1, *en)?;
    }
    notes.set_column_width(0, 70)?;
    notes.set_column_width(1, 90)?;
    let top = lines.len() as u32 + 1;
    for (c, h) in ["代码 Code", "简称 Short name", "银行 Bank", "English"]
        .iter()
        .enumerate()
    {
        notes.write_string_with_format(top, c as u16, *h, &header_format())?;
    }
    for (i, b) in banks.iter().filter(|b| !b.legacy).enumerate() {
        let r = top + 1 + i as u32;
        notes.write_string(r, 0, &b.code)?;
        notes.write_string(r, 1, &b.short_name)?;
        notes.write_string(r, 2, &b.name_zh)?;
        notes.write_string(r, 3, &b.name_en)?;
    }
    book.save_to_buffer()
}

/// The error workbook of an upload: one line per problem with the row and column of the
/// employer's file, the code, and the reason in zh-CN and English.
pub fn error_workbook(batch: i64, problems: &[RowIssue]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name("错误清单 Errors")?;
    let headers = [
        "行号 Row",
        "列 Column",
        "代码 Code",
        "原因（中文）",
        "Reason (English)",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &header_format())?;
    }
    for (i, p) in problems.iter().enumerate() {
        let r = 1 + i as u32;
        sheet.write_number(r, 0, p.row as f64)?;
        sheet.write_string(r, 1, &p.column)?;
        sheet.write_string(r, 2, &p.code)?;
        sheet.write_string(r, 3, &p.message)?;
        sheet.write_string(r, 4, &p.message_en)?;
    }
    for (c, w) in [10.0, 14.0, 28.0, 60.0, 70.0].iter().enumerate() {
        sheet.set_column_width(c as u16, *w)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let summary = problems.len() as u32 + 2;
    sheet.write_string(
        summary,
        0,
        format!(
            "批次 {batch}：{} 处问题。请在原文件中改正这些行后，重新上传整份文件。",
            problems.len()
        ),
    )?;
    sheet.write_string(
        summary + 1,
        0,
        format!("Batch {batch}: {} problems. Fix these rows in your file and upload the whole file again.", problems.len()),
    )?;
    book.save_to_buffer()
}
