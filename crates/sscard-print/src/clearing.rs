//! A city's statement of the month's cross-region clearing (异地就医清算对账单), as PDF and as
//! a workbook: what it is owed by each insured city, what it owes each treatment city, and its
//! net position. Amounts are the store's exact decimals, written as text.

use krilla::Document;
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};
use sscard_core::money::Money;
use sscard_store::fsi::{Clearing, ClearingEntry};

use crate::{PrintError, PrintFont};

const A4: (f32, f32) = (595.0, 842.0);

/// The city's name (`泰州市 Taizhou`) by its code.
pub fn city_label(code: &str) -> String {
    sscard_ids_city(code).map_or_else(|| code.to_owned(), |(zh, en)| format!("{zh} {en}"))
}

fn sscard_ids_city(code: &str) -> Option<(&'static str, &'static str)> {
    let n: u32 = code.parse().ok()?;
    sscard_ids::JIANGSU_CITIES
        .iter()
        .find(|(c, _, _)| *c == n)
        .map(|(_, zh, en)| (*zh, *en))
}

/// The statement's two lists for `city`: owed to it (by insured city), owed by it (to
/// treatment cities).
fn sides<'a>(c: &'a Clearing, city: &str) -> (Vec<&'a ClearingEntry>, Vec<&'a ClearingEntry>) {
    let receivable = c
        .entries
        .iter()
        .filter(|e| e.treatment_region == city)
        .collect();
    let payable = c
        .entries
        .iter()
        .filter(|e| e.insured_region == city)
        .collect();
    (receivable, payable)
}

/// The city's statement as PDF (searchable CJK text).
pub fn clearing_statement_pdf(
    c: &Clearing,
    city: &str,
    font: &PrintFont,
) -> Result<Vec<u8>, PrintError> {
    let pdf_font = Font::new(krilla::Data::from(font.data.clone()), 0)
        .ok_or_else(|| PrintError::Pdf(format!("font {} not usable", font.source)))?;
    let mut doc = Document::new();
    let title = format!("{} {} 异地就医清算对账单", city_label(city), c.month);
    doc.set_metadata(
        Metadata::new()
            .title(title.clone())
            .creator("sscard".into()),
    );
    let mut page = doc.start_page_with(PageSettings::from_wh(A4.0, A4.1).expect("A4"));
    let mut s = page.surface();
    let mut text = |x: f32, y: f32, size: f32, t: &str| {
        if !t.is_empty() {
            s.draw_text(
                Point::from_xy(x, y),
                pdf_font.clone(),
                size,
                t,
                false,
                TextDirection::Auto,
            );
        }
    };
    text(36.0, 52.0, 15.0, &title);
    text(
        36.0,
        68.0,
        8.0,
        &format!(
            "Cross-region medical settlement clearing statement, {} — settlements in force (cancellations net out); amounts in yuan",
            c.month
        ),
    );
    let (receivable, payable) = sides(c, city);
    let mut y = 100.0;
    for (heading, rows, other) in [
        (
            "应收（本市机构为外市参保人员垫付）Owed to the city, by insured city",
            &receivable,
            true,
        ),
        (
            "应付（本市参保人员在外市就医）Owed by the city, to treatment city",
            &payable,
            false,
        ),
    ] {
        text(36.0, y, 11.0, heading);
        y += 18.0;
        for (x, h) in [
            (36.0, "城市 City"),
            (200.0, "笔数 Settlements"),
            (300.0, "基金支付 Funds"),
            (400.0, "个人账户 Accounts"),
            (500.0, "合计 Total"),
        ] {
            text(x, y, 8.5, h);
        }
        y += 14.0;
        let mut total = Money::ZERO;
        for e in rows.as_slice() {
            let who = if other {
                &e.insured_region
            } else {
                &e.treatment_region
            };
            let sum = e.fund_pay_sumamt + e.acct_pay;
            total += sum;
            text(36.0, y, 9.0, &format!("{who} {}", city_label(who)));
            text(200.0, y, 9.0, &e.settlements.to_string());
            text(300.0, y, 9.0, &e.fund_pay_sumamt.to_string());
            text(400.0, y, 9.0, &e.acct_pay.to_string());
            text(500.0, y, 9.0, &sum.to_string());
            y += 13.0;
            if y > 760.0 {
                break;
            }
        }
        if rows.is_empty() {
            text(36.0, y, 9.0, "（无 none）");
            y += 13.0;
        }
        text(400.0, y, 9.0, "小计 Subtotal");
        text(500.0, y, 9.0, &total.to_string());
        y += 26.0;
    }
    if let Some(p) = c.positions.iter().find(|p| p.region == city) {
        text(
            36.0,
            y,
            11.0,
            &format!(
                "净额 Net position: 应收 owed {} − 应付 owes {} = {}",
                p.owed, p.owes, p.net
            ),
        );
    }
    s.finish();
    page.finish();
    doc.finish().map_err(|e| PrintError::Pdf(format!("{e:?}")))
}

/// The city's statement as `.xlsx`: sheets 应收 (owed to it), 应付 (it owes) and 净额 (net).
pub fn clearing_statement_xlsx(c: &Clearing, city: &str) -> Result<Vec<u8>, PrintError> {
    build(c, city).map_err(|e| PrintError::Xlsx(e.to_string()))
}

fn build(c: &Clearing, city: &str) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let head = Format::new()
        .set_bold()
        .set_background_color(rust_xlsxwriter::Color::RGB(0x00DD_E6F0));
    let amount = Format::new().set_align(FormatAlign::Right);
    let (receivable, payable) = sides(c, city);
    for (name, rows, other) in [
        ("应收 Owed", &receivable, true),
        ("应付 Owes", &payable, false),
    ] {
        let sheet = book.add_worksheet().set_name(name)?;
        sheet.write_string(
            0,
            0,
            format!(
                "{} {} 异地就医清算对账单 · {name}",
                city_label(city),
                c.month
            ),
        )?;
        for (col, (h, w)) in [
            ("城市代码 City code", 16),
            ("城市 City", 18),
            ("笔数 Settlements", 14),
            ("基金支付 Funds", 16),
            ("个人账户 Accounts", 16),
            ("合计 Total", 16),
        ]
        .iter()
        .enumerate()
        {
            sheet.write_string_with_format(1, col as u16, *h, &head)?;
            sheet.set_column_width(col as u16, *w)?;
        }
        for (i, e) in rows.iter().enumerate() {
            let r = i as u32 + 2;
            let who = if other {
                &e.insured_region
            } else {
                &e.treatment_region
            };
            sheet.write_string(r, 0, who)?;
            sheet.write_string(r, 1, city_label(who))?;
            sheet.write_number(r, 2, e.settlements as f64)?;
            // Exact decimals, as text: a spreadsheet's numbers are binary fractions.
            sheet.write_string_with_format(r, 3, e.fund_pay_sumamt.to_string(), &amount)?;
            sheet.write_string_with_format(r, 4, e.acct_pay.to_string(), &amount)?;
            sheet.write_string_with_format(
                r,
                5,
                (e.fund_pay_sumamt + e.acct_pay).to_string(),
                &amount,
            )?;
        }
    }
    let net = book.add_worksheet().set_name("净额 Net")?;
    for (col, h) in ["城市 City", "应收 Owed", "应付 Owes", "净额 Net"]
        .iter()
        .enumerate()
    {
        net.write_string_with_format(0, col as u16, *h, &head)?;
        net.set_column_width(col as u16, 18)?;
    }
    for (i, p) in c.positions.iter().enumerate() {
        let r = i as u32 + 1;
        net.write_string(r, 0, format!("{} {}", p.region, city_label(&p.region)))?;
        net.write_string_with_format(r, 1, p.owed.to_string(), &amount)?;
        net.write_string_with_format(r, 2, p.owes.to_string(), &amount)?;
        net.write_string_with_format(r, 3, p.net.to_string(), &amount)?;
    }
    book.save_to_buffer()
}
