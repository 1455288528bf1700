//! A batch's contact sheet (照片核对表) as PDF: every row's photo as a thumbnail with its row
//! number and masked name, in upload and row order, five across and four down on A4; a row whose
//! photo was refused shows the refused source (when it could be read) and the reason in its box,
//! framed heavier. Text is real text (searchable, `pdftotext`).

use krilla::Document;
use krilla::geom::{Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use sscard_store::{SheetEntry, SheetPhoto};

use crate::pdf::frame;
use crate::{PrintError, PrintFont, china_time};

const A4: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 30.0;
const COLS: usize = 5;
const ROWS: usize = 4;
const TOP: f32 = 92.0;
const CELL_W: f32 = (A4.0 - 2.0 * MARGIN) / COLS as f32;
const CELL_H: f32 = (A4.1 - TOP - MARGIN) / ROWS as f32;
/// The thumbnail box: the card photo's 358:441.
const THUMB_W: f32 = 84.0;
const THUMB_H: f32 = THUMB_W * 441.0 / 358.0;

/// What the sheet is of.
#[derive(Debug, Clone)]
pub struct SheetHeader {
    /// Batch number.
    pub batch: i64,
    /// Employer name.
    pub employer: String,
    /// When the sheet was made (China time, as text).
    pub made_at: String,
}

impl SheetHeader {
    /// The header of batch `batch` of `employer`, made at `at`.
    pub fn at(batch: i64, employer: &str, at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            batch,
            employer: employer.to_owned(),
            made_at: china_time(at),
        }
    }
}

/// The contact sheet of a batch.
pub fn contact_sheet_pdf(
    header: &SheetHeader,
    entries: &[SheetEntry],
    font: &PrintFont,
) -> Result<Vec<u8>, PrintError> {
    let pdf_font = Font::new(krilla::Data::from(font.data.clone()), 0)
        .ok_or_else(|| PrintError::Pdf(format!("font {} not usable", font.source)))?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(format!("照片核对表 批次 {}", header.batch))
            .creator("sscard".into()),
    );
    let refused = entries
        .iter()
        .filter(|e| matches!(e.photo, SheetPhoto::Refused { .. }))
        .count();
    let missing = entries
        .iter()
        .filter(|e| matches!(e.photo, SheetPhoto::Missing))
        .count();
    let pages = entries.len().div_ceil(COLS * ROWS).max(1);
    let chunks: Vec<&[SheetEntry]> = if entries.is_empty() {
        vec![&[]]
    } else {
        entries.chunks(COLS * ROWS).collect()
    };
    for (p, chunk) in chunks.into_iter().enumerate() {
        let mut page = doc.start_page_with(PageSettings::from_wh(A4.0, A4.1).expect("A4"));
        let mut s = page.surface();
        let text = |s: &mut Surface<'_>, x: f32, y: f32, size: f32, t: &str| {
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
        text(
            &mut s,
            MARGIN,
            46.0,
            14.0,
            &format!("照片核对表 · 批次 {} · {}", header.batch, header.employer),
        );
        text(
            &mut s,
            MARGIN,
            63.0,
            8.0,
            &format!(
                "共 {} 行 · 照片未通过 {} 行 · 无照片 {} 行 · 制表 {} · 第 {}/{} 页",
                entries.len(),
                refused,
                missing,
                header.made_at,
                p + 1,
                pages
            ),
        );
        text(
            &mut s,
            MARGIN,
            75.0,
            7.0,
            &format!(
                "Contact sheet, batch {}: {} rows, {} photos refused, {} without a photo; page {} of {}. Check every photo before the batch goes to production.",
                header.batch,
                entries.len(),
                refused,
                missing,
                p + 1,
                pages
            ),
        );
        for (i, e) in chunk.iter().enumerate() {
            let x = MARGIN + (i % COLS) as f32 * CELL_W;
            let y = TOP + (i / COLS) as f32 * CELL_H;
            cell(&mut s, &text, font, (x, y), e)?;
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PrintError::Pdf(format!("{e:?}")))
}

fn cell(
    s: &mut Surface<'_>,
    text: &impl Fn(&mut Surface<'_>, f32, f32, f32, &str),
    font: &PrintFont,
    (x, y): (f32, f32),
    e: &SheetEntry,
) -> Result<(), PrintError> {
    let (tx, ty) = (x + (CELL_W - THUMB_W) / 2.0, y + 4.0);
    let refused = matches!(e.photo, SheetPhoto::Refused { .. });
    frame(
        s,
        Rect::from_xywh(x + 2.0, y + 1.0, CELL_W - 4.0, CELL_H - 3.0).expect("cell size"),
        if refused { 1.6 } else { 0.3 },
    );
    match &e.photo {
        SheetPhoto::Accepted { jpeg } => thumb(s, jpeg, (tx, ty), (THUMB_W, THUMB_H))?,
        SheetPhoto::Refused { preview, .. } => {
            if let Some(p) = preview {
                thumb(s, p, (tx, ty), (THUMB_W, THUMB_H))?;
            }
        }
        SheetPhoto::Missing => {}
    }
    if !matches!(e.photo, SheetPhoto::Accepted { .. }) {
        frame(
            s,
            Rect::from_xywh(tx, ty, THUMB_W, THUMB_H).expect("thumbnail size"),
            0.3,
        );
    }
    let below = ty + THUMB_H + 10.0;
    text(
        s,
        x + 6.0,
        below,
        7.5,
        &format!("第 {} 行 · {}", e.row, e.name),
    );
    text(
        s,
        x + 6.0,
        below + 9.0,
        6.0,
        &format!("row {} · {}", e.row, e.id_number),
    );
    let note = match &e.photo {
        SheetPhoto::Accepted { .. } => None,
        SheetPhoto::Refused {
            code,
            message,
            message_en,
            ..
        } => Some((
            format!("未通过 {code}"),
            message.clone(),
            message_en.clone(),
        )),
        SheetPhoto::Missing => Some((
            "无照片 no photo".to_owned(),
            "本行申领时没有照片".to_owned(),
            "applied without a photo".to_owned(),
        )),
    };
    if let Some((head, zh, en)) = note {
        let width = CELL_W - 12.0;
        let mut line_y = below + 19.0;
        text(s, x + 6.0, line_y, 6.5, &head);
        for l in wrap(font, &zh, 6.0, width)
            .into_iter()
            .take(3)
            .chain(wrap(font, &en, 5.5, width).into_iter().take(3))
        {
            line_y += 7.5;
            if line_y > y + CELL_H - 4.0 {
                break;
            }
            text(s, x + 6.0, line_y, if l.is_ascii() { 5.5 } else { 6.0 }, &l);
        }
    }
    Ok(())
}

/// A JPEG fitted into `size` at `at`, its aspect kept.
fn thumb(
    s: &mut Surface<'_>,
    jpeg: &[u8],
    at: (f32, f32),
    size: (f32, f32),
) -> Result<(), PrintError> {
    let image = Image::from_jpeg(krilla::Data::from(jpeg.to_vec()), true)
        .map_err(|e| PrintError::Pdf(format!("photo: {e}")))?;
    let (iw, ih) = image.size();
    let scale = (size.0 / iw as f32).min(size.1 / ih as f32);
    let (drawn_w, drawn_h) = (iw as f32 * scale, ih as f32 * scale);
    let left = at.0 + (size.0 - drawn_w) / 2.0;
    let top = at.1 + (size.1 - drawn_h) / 2.0;
    s.push_transform(&Transform::from_translate(left, top));
    s.draw_image(
        image,
        Size::from_wh(drawn_w, drawn_h).expect("positive size"),
    );
    s.pop();
    Ok(())
}

/// `text` broken into lines no wider than `width` (by character, which suits Chinese; English
/// breaks at spaces when it can).
fn wrap(font: &PrintFont, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for c in text.chars() {
        line.push(c);
        if font.width(&line, size) > width {
            line.pop();
            let rest = match line.rfind(' ').filter(|_| line.is_ascii()) {
                Some(i) if i > 0 => {
                    let tail = line[i + 1..].to_owned();
                    line.truncate(i);
                    tail
                }
                _ => String::new(),
            };
            lines.push(std::mem::take(&mut line));
            line = rest;
            line.push(c);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
