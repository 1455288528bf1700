//! The distribution list as a workbook: one sheet in pickup order, one sheet of boxes.

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use sscard_store::DistributionPlan;

use crate::{PrintError, china_time};

fn header() -> Format {
    Format::new()
        .set_bold()
        .set_background_color(rust_xlsxwriter::Color::RGB(0x00DD_E6F0))
}

/// The plan as `.xlsx`: sheet 发放清单 (position, box, slot, workshop, department, name, masked
/// ID number, card number, picked up) and sheet 箱标签 (box, cards, label).
pub fn plan_xlsx(plan: &DistributionPlan) -> Result<Vec<u8>, PrintError> {
    build(plan).map_err(|e| PrintError::Xlsx(e.to_string()))
}

fn build(plan: &DistributionPlan) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let text = Format::new().set_num_format("@");
    let list = book.add_worksheet().set_name("发放清单")?;
    list.write_string(
        0,
        0,
        format!(
            "批次 {} · {}（{}）· {} · 共 {} 张 {} 箱 · 制表 {}",
            plan.batch,
            plan.point.name,
            plan.point.id,
            plan.employer,
            plan.entries.len(),
            plan.boxes.len(),
            china_time(plan.created_at)
        ),
    )?;
    let columns = [
        ("序号 No.", 8),
        ("箱 Box", 8),
        ("位 Slot", 8),
        ("车间 Workshop", 16),
        ("部门 Department", 14),
        ("姓名 Name", 12),
        ("公民身份号码 ID number", 22),
        ("社会保障卡卡号 Card number", 18),
        ("已领取 Picked up", 12),
    ];
    for (c, (title, width)) in columns.iter().enumerate() {
        list.write_string_with_format(1, c as u16, *title, &header())?;
        list.set_column_width(c as u16, *width)?;
    }
    for (i, e) in plan.entries.iter().enumerate() {
        let r = i as u32 + 2;
        list.write_number(r, 0, f64::from(e.position))?;
        list.write_number(r, 1, f64::from(e.r#box))?;
        list.write_number(r, 2, f64::from(e.slot))?;
        list.write_string(r, 3, &e.workshop)?;
        list.write_string(r, 4, &e.department)?;
        list.write_string(r, 5, &e.name)?;
        list.write_string_with_format(r, 6, &e.id_masked, &text)?;
        list.write_string_with_format(r, 7, &e.card_number, &text)?;
        list.write_string(r, 8, if e.handed_over { "是" } else { "" })?;
    }
    list.set_freeze_panes(2, 0)?;
    list.autofilter(1, 0, plan.entries.len() as u32 + 1, 8)?;
    let boxes = book.add_worksheet().set_name("箱标签 Boxes")?;
    for (c, (title, width)) in [("箱 Box", 8), ("张数 Cards", 10), ("标签 Label", 80)]
        .iter()
        .enumerate()
    {
        boxes.write_string_with_format(0, c as u16, *title, &header())?;
        boxes.set_column_width(c as u16, *width)?;
    }
    for (i, b) in plan.boxes.iter().enumerate() {
        let r = i as u32 + 1;
        boxes.write_number(r, 0, f64::from(b.number))?;
        boxes.write_number(r, 1, f64::from(b.cards))?;
        boxes.write_string(r, 2, &b.label)?;
    }
    book.save_to_buffer()
}
