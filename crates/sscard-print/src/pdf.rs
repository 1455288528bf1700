//! The distribution list and box labels as PDF (A4).

use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use sscard_store::{DistributionPlan, PlanBox, PlanEntry};

use crate::{PrintError, PrintFont, china_time};

const A4: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 36.0;
const ROW: f32 = 16.5;
const FIRST_ROW: f32 = 134.0;
const LAST_ROW: f32 = 806.0;

/// Columns of the list: header (zh), header (en), x, width.
const COLUMNS: [(&str, &str, f32, f32); 8] = [
    ("序号", "No.", 36.0, 30.0),
    ("箱-位", "Box-slot", 66.0, 44.0),
    ("车间", "Workshop", 110.0, 72.0),
    ("部门", "Department", 182.0, 60.0),
    ("姓名", "Name", 242.0, 58.0),
    ("公民身份号码", "ID number", 300.0, 104.0),
    ("社会保障卡卡号", "Card number", 404.0, 74.0),
    ("领取人签名", "Signature", 478.0, 81.0),
];

struct Pen<'a> {
    font: Font,
    print: &'a PrintFont,
}

impl Pen<'_> {
    fn text(&self, s: &mut Surface<'_>, x: f32, y: f32, size: f32, text: &str) {
        if text.is_empty() {
            return;
        }
        s.draw_text(
            Point::from_xy(x, y),
            self.font.clone(),
            size,
            text,
            false,
            TextDirection::Auto,
        );
    }

    fn centred(&self, s: &mut Surface<'_>, y: f32, size: f32, text: &str) {
        let w = self.print.width(text, size);
        self.text(s, (A4.0 - w) / 2.0, y, size, text);
    }
}

fn line(s: &mut Surface<'_>, from: (f32, f32), to: (f32, f32), width: f32) {
    let mut pb = PathBuilder::new();
    pb.move_to(from.0, from.1);
    pb.line_to(to.0, to.1);
    if let Some(path) = pb.finish() {
        s.set_fill(None);
        s.set_stroke(Some(Stroke {
            width,
            ..Stroke::default()
        }));
        s.draw_path(&path);
        s.set_stroke(None);
        s.set_fill(Some(Fill::default()));
    }
}

pub(crate) fn frame(s: &mut Surface<'_>, rect: Rect, width: f32) {
    let mut pb = PathBuilder::new();
    pb.push_rect(rect);
    if let Some(path) = pb.finish() {
        s.set_fill(None);
        s.set_stroke(Some(Stroke {
            width,
            ..Stroke::default()
        }));
        s.draw_path(&path);
        s.set_stroke(None);
        s.set_fill(Some(Fill::default()));
    }
}

/// The plan as a PDF: the pickup list (each box from a new page, a signature column) and then
/// the box labels, two to a page.
pub fn plan_pdf(plan: &DistributionPlan, font: &PrintFont) -> Result<Vec<u8>, PrintError> {
    let pdf_font = Font::new(krilla::Data::from(font.data.clone()), 0)
        .ok_or_else(|| PrintError::Pdf(format!("font {} not usable", font.source)))?;
    let pen = Pen {
        font: pdf_font,
        print: font,
    };
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(format!("社会保障卡发放清单 批次 {}", plan.batch))
            .creator("sscard".into()),
    );
    let mut page_no = 0u32;
    for b in &plan.boxes {
        let rows: Vec<&PlanEntry> = plan
            .entries
            .iter()
            .filter(|e| e.r#box == b.number)
            .collect();
        for chunk in rows.chunks(rows_per_page()) {
            page_no += 1;
            let mut page = doc.start_page_with(PageSettings::from_wh(A4.0, A4.1).expect("A4"));
            let mut s = page.surface();
            list_page(&mut s, &pen, plan, b, chunk, page_no);
            s.finish();
            page.finish();
        }
    }
    for pair in plan.boxes.chunks(2) {
        let mut page = doc.start_page_with(PageSettings::from_wh(A4.0, A4.1).expect("A4"));
        let mut s = page.surface();
        for (i, b) in pair.iter().enumerate() {
            label(&mut s, &pen, plan, b, i as f32 * A4.1 / 2.0);
        }
        if pair.len() == 2 {
            line(
                &mut s,
                (MARGIN, A4.1 / 2.0),
                (A4.0 - MARGIN, A4.1 / 2.0),
                0.3,
            );
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PrintError::Pdf(format!("{e:?}")))
}

fn rows_per_page() -> usize {
    ((LAST_ROW - FIRST_ROW) / ROW) as usize
}

fn list_page(
    s: &mut Surface<'_>,
    pen: &Pen<'_>,
    plan: &DistributionPlan,
    b: &PlanBox,
    rows: &[&PlanEntry],
    page_no: u32,
) {
    pen.text(
        s,
        MARGIN,
        52.0,
        15.0,
        &format!(
            "社会保障卡发放清单 · 批次 {} · 第 {} 箱",
            plan.batch, b.number
        ),
    );
    pen.text(
        s,
        MARGIN,
        70.0,
        8.5,
        &format!(
            "发放点：{}（{}）  单位：{}  共 {} 张 {} 箱，每箱 {} 张  制表：{}",
            plan.point.name,
            plan.point.id,
            plan.employer,
            plan.entries.len(),
            plan.boxes.len(),
            plan.box_size,
            china_time(plan.created_at)
        ),
    );
    pen.text(
        s,
        MARGIN,
        83.0,
        7.5,
        &format!(
            "Pickup list, batch {}, box {} of {} — {} — ordered by workshop, department, surname strokes",
            plan.batch,
            b.number,
            plan.boxes.len(),
            plan.point.name_en
        ),
    );
    let head = FIRST_ROW - 22.0;
    for (zh, en, x, _) in COLUMNS {
        pen.text(s, x + 2.0, head + 1.0, 8.5, zh);
        pen.text(s, x + 2.0, head + 10.0, 5.5, en);
    }
    line(s, (MARGIN, head - 11.0), (A4.0 - MARGIN, head - 11.0), 0.8);
    line(s, (MARGIN, head + 13.0), (A4.0 - MARGIN, head + 13.0), 0.8);
    for (i, e) in rows.iter().enumerate() {
        let y = FIRST_ROW + i as f32 * ROW + 2.0;
        let cells = [
            e.position.to_string(),
            format!("{}-{}", e.r#box, e.slot),
            e.workshop.clone(),
            e.department.clone(),
            e.name.clone(),
            e.id_masked.clone(),
            e.card_number.clone(),
            if e.handed_over {
                "已领取".to_owned()
            } else {
                String::new()
            },
        ];
        for ((_, _, x, w), cell) in COLUMNS.iter().zip(cells) {
            let size = 8.5;
            pen.text(s, x + 2.0, y, size, &pen.print.fit(&cell, size, w - 4.0));
        }
        line(s, (MARGIN, y + 5.0), (A4.0 - MARGIN, y + 5.0), 0.2);
    }
    pen.text(
        s,
        MARGIN,
        A4.1 - 22.0,
        7.0,
        &format!(
            "第 {page_no} 页 · 批次 {} · 第 {} 箱（{}）· sscard",
            plan.batch, b.number, b.cards
        ),
    );
}

/// `第 3 箱 · A—B · 200 张` → (A, B).
fn label_range(label: &str) -> (String, String) {
    let parts: Vec<&str> = label.split(" · ").collect();
    match parts.get(1).and_then(|r| r.split_once('—')) {
        Some((a, b)) => (a.to_owned(), b.to_owned()),
        None => (label.to_owned(), String::new()),
    }
}

fn label(s: &mut Surface<'_>, pen: &Pen<'_>, plan: &DistributionPlan, b: &PlanBox, top: f32) {
    if let Some(r) = Rect::from_xywh(MARGIN + 10.0, top + 30.0, A4.0 - 2.0 * MARGIN - 20.0, 360.0) {
        frame(s, r, 1.5);
    }
    pen.centred(s, top + 72.0, 14.0, "社会保障卡 · 发放箱（card box）");
    pen.centred(s, top + 150.0, 60.0, &format!("第 {} 箱", b.number));
    pen.centred(
        s,
        top + 190.0,
        13.0,
        &format!(
            "批次 {} · {} · 共 {} 张（第 1—{} 位）",
            plan.batch, plan.point.name, b.cards, b.cards
        ),
    );
    let (first, last) = label_range(&b.label);
    let width = A4.0 - 2.0 * MARGIN - 80.0;
    pen.text(
        s,
        MARGIN + 40.0,
        top + 250.0,
        18.0,
        &pen.print.fit(&format!("起：{first}"), 18.0, width),
    );
    pen.text(
        s,
        MARGIN + 40.0,
        top + 290.0,
        18.0,
        &pen.print.fit(&format!("止：{last}"), 18.0, width),
    );
    pen.centred(s, top + 350.0, 10.0, &plan.employer);
    pen.centred(
        s,
        top + 372.0,
        7.5,
        &format!(
            "Box {} of batch {}: {} cards",
            b.number, plan.batch, b.cards
        ),
    );
}
