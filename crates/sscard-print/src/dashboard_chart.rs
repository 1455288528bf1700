//! The console dashboards' pictures, drawn on the server with Chinese labels: stacked
//! horizontal bars (one row per thing counted, one colour per part, with a legend) and columns
//! (one per hour, day or step).

use image::{Rgb, RgbImage};
use sscard_photo::card_face::draw_text;

use crate::PrintFont;
use crate::migration_chart::{axis_max, fill, png, short};

const WIDTH: u32 = 760;
const INK: [u8; 3] = [30, 40, 60];
const MUTED: [u8; 3] = [90, 100, 120];
const GRID: [u8; 3] = [220, 224, 232];

/// The colours of the parts of a bar, in order.
pub const PALETTE: [[u8; 3]; 7] = [
    [46, 139, 87],
    [38, 99, 178],
    [232, 163, 23],
    [217, 48, 37],
    [142, 68, 173],
    [120, 130, 145],
    [0, 150, 170],
];

/// Stacked horizontal bars: `rows` of (label, one value per part of `parts`).
#[derive(Debug, Clone, Default)]
pub struct Bars {
    /// Title (Chinese, then English in brackets if wanted).
    pub title: String,
    /// A line under the title.
    pub subtitle: String,
    /// The parts' names, for the legend (one colour each, [`PALETTE`] in order).
    pub parts: Vec<String>,
    /// One bar per row: its label and one value per part.
    pub rows: Vec<(String, Vec<u64>)>,
}

/// [`Bars`] as a PNG, 760 px wide, as tall as its rows need.
pub fn bars_png(b: &Bars, font: &PrintFont) -> Vec<u8> {
    let face = &*font.metrics;
    let rows = u32::try_from(b.rows.len().max(1)).unwrap_or(1);
    let legend_lines = u32::try_from(b.parts.len().div_ceil(4)).unwrap_or(1);
    let top = 56 + legend_lines * 18;
    let (row_h, left, right) = (30u32, 170u32, 90u32);
    let height = top + rows * row_h + 16;
    let mut img = RgbImage::from_pixel(WIDTH, height, Rgb([255, 255, 255]));
    draw_text(&mut img, face, 17.0, 16.0, 24.0, &b.title, INK);
    draw_text(&mut img, face, 12.0, 16.0, 42.0, &b.subtitle, MUTED);
    for (i, part) in b.parts.iter().enumerate() {
        let (line, col) = (
            u32::try_from(i / 4).unwrap_or(0),
            u32::try_from(i % 4).unwrap_or(0),
        );
        let (x, y) = (16 + col * 180, 52 + line * 18);
        fill(&mut img, x, y, x + 10, y + 10, PALETTE[i % PALETTE.len()]);
        draw_text(
            &mut img,
            face,
            11.0,
            x as f32 + 14.0,
            y as f32 + 9.0,
            part,
            INK,
        );
    }
    let max = b
        .rows
        .iter()
        .map(|(_, v)| v.iter().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let plot_w = WIDTH - left - right;
    if b.rows.is_empty() {
        draw_text(
            &mut img,
            face,
            13.0,
            16.0,
            top as f32 + 18.0,
            "暂无数据 (nothing yet)",
            MUTED,
        );
    }
    for (i, (label, values)) in b.rows.iter().enumerate() {
        let y = top + u32::try_from(i).unwrap_or(0) * row_h + 5;
        draw_text(&mut img, face, 12.0, 16.0, y as f32 + 14.0, label, INK);
        let mut x = left;
        for (k, v) in values.iter().enumerate() {
            let w = u32::try_from(u64::from(plot_w) * v / max).unwrap_or(0);
            fill(&mut img, x, y, x + w, y + 18, PALETTE[k % PALETTE.len()]);
            x += w;
        }
        let total: u64 = values.iter().sum();
        draw_text(
            &mut img,
            face,
            11.0,
            x as f32 + 6.0,
            y as f32 + 14.0,
            &short(total),
            MUTED,
        );
    }
    png(&img)
}

/// Columns: `columns` of (label under the column, value), with the value over each one.
pub fn columns_png(
    title: &str,
    subtitle: &str,
    columns: &[(String, u64)],
    font: &PrintFont,
) -> Vec<u8> {
    let face = &*font.metrics;
    let height = 300u32;
    let (left, right, top, bottom) = (56u32, 16u32, 60u32, 40u32);
    let mut img = RgbImage::from_pixel(WIDTH, height, Rgb([255, 255, 255]));
    draw_text(&mut img, face, 17.0, 16.0, 24.0, title, INK);
    draw_text(&mut img, face, 12.0, 16.0, 42.0, subtitle, MUTED);
    let plot_h = height - top - bottom;
    let plot_w = WIDTH - left - right;
    let max = axis_max(columns.iter().map(|c| c.1).max().unwrap_or(0), 4);
    for tick in 0..=4u32 {
        let y = top + plot_h - plot_h * tick / 4;
        fill(&mut img, left, y, left + plot_w, y + 1, GRID);
        draw_text(
            &mut img,
            face,
            10.0,
            8.0,
            y as f32 + 4.0,
            &short(max * u64::from(tick) / 4),
            MUTED,
        );
    }
    let n = u32::try_from(columns.len().max(1)).unwrap_or(1);
    let slot = plot_w / n;
    let every = columns.len().div_ceil(24).max(1);
    for (i, (label, v)) in columns.iter().enumerate() {
        let x0 = left + u32::try_from(i).unwrap_or(0) * slot + slot / 6;
        let x1 = x0 + (slot * 2 / 3).max(1);
        let h = u32::try_from(u64::from(plot_h) * v / max).unwrap_or(0);
        fill(&mut img, x0, top + plot_h - h, x1, top + plot_h, PALETTE[1]);
        if *v > 0 && slot >= 18 {
            draw_text(
                &mut img,
                face,
                10.0,
                x0 as f32,
                (top + plot_h - h) as f32 - 3.0,
                &short(*v),
                INK,
            );
        }
        if i % every == 0 {
            draw_text(
                &mut img,
                face,
                10.0,
                x0 as f32,
                (top + plot_h + 16) as f32,
                label,
                INK,
            );
        }
    }
    png(&img)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> image::RgbImage {
        image::load_from_memory(png).unwrap().to_rgb8()
    }

    #[test]
    fn bars_grow_with_their_rows_and_draw_each_part() {
        let font = PrintFont::bundled().unwrap();
        let b = Bars {
            title: "社会保障卡 · 按状态".into(),
            subtitle: "共 30 张".into(),
            parts: vec!["正常".into(), "挂失".into()],
            rows: vec![("第三代".into(), vec![20, 10]), ("旧卡".into(), vec![0, 0])],
        };
        let img = decode(&bars_png(&b, &font));
        assert_eq!(img.width(), WIDTH);
        let has = |c: [u8; 3]| img.pixels().any(|p| p.0 == c);
        assert!(has(PALETTE[0]) && has(PALETTE[1]), "both parts drawn");
        let more = Bars {
            rows: vec![("a".into(), vec![1, 1]); 5],
            ..b.clone()
        };
        assert!(decode(&bars_png(&more, &font)).height() > img.height());
    }

    #[test]
    fn columns_are_as_tall_as_their_values() {
        let font = PrintFont::bundled().unwrap();
        let cols: Vec<(String, u64)> = (0..24)
            .map(|h| (format!("{h:02}"), u64::from(h == 10) * 40))
            .collect();
        let img = decode(&columns_png("每小时结算", "今日", &cols, &font));
        let blue: Vec<u32> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == PALETTE[1])
            .map(|(x, _, _)| x)
            .collect();
        assert!(!blue.is_empty());
        // Only the one busy hour has a column: every blue pixel is in its slot.
        let slot = (WIDTH - 56 - 16) / 24;
        assert!(
            blue.iter()
                .all(|x| (56 + 10 * slot..56 + 11 * slot).contains(x))
        );
    }
}
