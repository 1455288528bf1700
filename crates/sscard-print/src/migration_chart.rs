//! The migration's pictures, drawn on the server with Chinese labels: legacy cards by district
//! and progress (stacked bars), and a forecast or a record day by day (the backlog as an area
//! over the daily exchanges as bars).

use chrono::NaiveDate;
use image::{ImageEncoder as _, Rgb, RgbImage};
use sscard_core::migration::SimOutcome;
use sscard_photo::card_face::draw_text;
use sscard_store::appointments::MigrationFigures;

use crate::PrintFont;

const WIDTH: u32 = 760;
const INK: [u8; 3] = [30, 40, 60];
const MUTED: [u8; 3] = [90, 100, 120];
const GRID: [u8; 3] = [220, 224, 232];
/// Superseded, exchanged, booked, pending.
const PROGRESS: [([u8; 3], &str); 4] = [
    ([46, 139, 87], "已启用新卡 superseded"),
    ([38, 99, 178], "已申领 exchanged"),
    ([232, 163, 23], "已预约 booked"),
    ([190, 196, 206], "未换 pending"),
];

pub(crate) fn fill(img: &mut RgbImage, x0: u32, y0: u32, x1: u32, y1: u32, colour: [u8; 3]) {
    let (w, h) = img.dimensions();
    for y in y0.min(h)..y1.min(h) {
        for x in x0.min(w)..x1.min(w) {
            img.put_pixel(x, y, Rgb(colour));
        }
    }
}

/// A round upper bound for an axis of `ticks` equal steps, each step 1, 2 or 5 × 10ⁿ, so
/// that every gridline's label is exact (a bound of 5 in 4 steps would label 3.75 as 3).
pub(crate) fn axis_max(n: u64, ticks: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let bound = step.saturating_mul(m).saturating_mul(ticks);
            if n <= bound && bound >= 4 {
                return bound;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// 1,234,567 → `123.5万`; under 10,000 as is.
pub(crate) fn short(n: u64) -> String {
    if n >= 10_000 {
        let tenths = (n + 500) / 1_000;
        format!("{}.{}万", tenths / 10, tenths % 10)
    } else {
        n.to_string()
    }
}

pub(crate) fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encoding a PNG to memory cannot fail");
    out
}

/// Legacy cards by district as stacked horizontal bars (superseded, exchanged, booked,
/// pending), with the count of each district and a legend.
#[allow(clippy::cast_precision_loss)]
pub fn district_progress_png(f: &MigrationFigures, font: &PrintFont) -> Vec<u8> {
    let face = &*font.metrics;
    let rows = u32::try_from(f.districts.len().max(1)).unwrap_or(1);
    let (top, row_h, left, right) = (70u32, 34u32, 150u32, 90u32);
    let height = top + rows * row_h + 30;
    let mut img = RgbImage::from_pixel(WIDTH, height, Rgb([255, 255, 255]));
    let total: u64 = f.districts.iter().map(|d| d.legacy).sum();
    let done: u64 = f.districts.iter().map(|d| d.superseded + d.exchanged).sum();
    draw_text(&mut img, face, 18.0, 16.0, 26.0, "各区县旧卡换卡进度", INK);
    draw_text(
        &mut img,
        face,
        12.0,
        16.0,
        44.0,
        &format!(
            "旧卡 {} 张 · 已换 {} 张 · 未换 {} 张 (legacy cards by district and progress)",
            short(total),
            short(done),
            short(f.unexchanged)
        ),
        MUTED,
    );
    let mut lx = 16.0;
    for (colour, label) in PROGRESS {
        let x = lx as u32;
        fill(&mut img, x, 52, x + 10, 62, colour);
        draw_text(&mut img, face, 11.0, lx + 14.0, 61.0, label, INK);
        lx += 150.0;
    }
    let max = f
        .districts
        .iter()
        .map(|d| d.legacy)
        .max()
        .unwrap_or(1)
        .max(1);
    let plot_w = WIDTH - left - right;
    for (i, d) in f.districts.iter().enumerate() {
        let y = top + u32::try_from(i).unwrap_or(0) * row_h + 6;
        draw_text(&mut img, face, 13.0, 16.0, y as f32 + 15.0, &d.name, INK);
        let mut x = left;
        for (value, (colour, _)) in [d.superseded, d.exchanged, d.booked, d.pending]
            .into_iter()
            .zip(PROGRESS)
        {
            let w = u32::try_from(u64::from(plot_w) * value / max).unwrap_or(0);
            fill(&mut img, x, y, x + w, y + 20, colour);
            x += w;
        }
        let pct = if d.legacy == 0 {
            0.0
        } else {
            (d.superseded + d.exchanged) as f64 * 100.0 / d.legacy as f64
        };
        draw_text(
            &mut img,
            face,
            11.0,
            x as f32 + 6.0,
            y as f32 + 15.0,
            &format!("{} · {pct:.0}%", short(d.legacy)),
            MUTED,
        );
    }
    png(&img)
}

/// A day-by-day picture: the backlog (people waiting) as an area in the upper panel and the
/// exchanges per day as bars in the lower one, with the months along the bottom.
pub fn daily_chart_png(
    title: &str,
    subtitle: &str,
    days: &[(NaiveDate, u64, u64)],
    font: &PrintFont,
) -> Vec<u8> {
    let face = &*font.metrics;
    let height = 420u32;
    let (left, right, top) = (64u32, 20u32, 60u32);
    let (upper_h, gap, lower_h) = (170u32, 30u32, 110u32);
    let mut img = RgbImage::from_pixel(WIDTH, height, Rgb([255, 255, 255]));
    draw_text(&mut img, face, 18.0, 16.0, 26.0, title, INK);
    draw_text(&mut img, face, 12.0, 16.0, 44.0, subtitle, MUTED);
    let plot_w = WIDTH - left - right;
    let n = u32::try_from(days.len().max(1)).unwrap_or(1);
    let max_backlog = axis_max(days.iter().map(|d| d.2).max().unwrap_or(0), 2);
    let max_daily = axis_max(days.iter().map(|d| d.1).max().unwrap_or(0), 2);
    let x_of = |i: usize| left + u32::try_from(i).unwrap_or(0) * plot_w / n;
    let lower_top = top + upper_h + gap;
    for (panel_top, panel_h, max, label) in [
        (top, upper_h, max_backlog, "等待人数 backlog"),
        (lower_top, lower_h, max_daily, "每日换卡 exchanged per day"),
    ] {
        for tick in 0..=2u32 {
            let y = panel_top + panel_h - panel_h * tick / 2;
            fill(&mut img, left, y, left + plot_w, y + 1, GRID);
            let value = max * u64::from(tick) / 2;
            draw_text(
                &mut img,
                face,
                10.0,
                6.0,
                y as f32 + 4.0,
                &short(value),
                MUTED,
            );
        }
        draw_text(
            &mut img,
            face,
            11.0,
            left as f32 + 4.0,
            panel_top as f32 - 4.0,
            label,
            INK,
        );
    }
    for (i, (_, exchanged, backlog)) in days.iter().enumerate() {
        let (x0, x1) = (x_of(i), x_of(i + 1).max(x_of(i) + 1));
        let h = u32::try_from(u64::from(upper_h) * backlog / max_backlog).unwrap_or(0);
        fill(
            &mut img,
            x0,
            top + upper_h - h,
            x1,
            top + upper_h,
            [232, 163, 23],
        );
        let h = u32::try_from(u64::from(lower_h) * exchanged / max_daily).unwrap_or(0);
        fill(
            &mut img,
            x0,
            lower_top + lower_h - h,
            x1,
            lower_top + lower_h,
            [38, 99, 178],
        );
    }
    // The first of each month along the bottom (every other one when there are many).
    let months: Vec<(usize, NaiveDate)> = days
        .iter()
        .enumerate()
        .filter(|(i, d)| *i == 0 || chrono::Datelike::day(&d.0) == 1)
        .map(|(i, d)| (i, d.0))
        .collect();
    let every = months.len().div_ceil(12).max(1);
    for (k, (i, d)) in months.iter().enumerate() {
        if k % every != 0 {
            continue;
        }
        let x = x_of(*i);
        fill(
            &mut img,
            x,
            lower_top + lower_h,
            x + 1,
            lower_top + lower_h + 5,
            INK,
        );
        draw_text(
            &mut img,
            face,
            10.0,
            x as f32,
            (lower_top + lower_h + 18) as f32,
            &d.format("%Y-%m").to_string(),
            INK,
        );
    }
    png(&img)
}

/// A simulation or forecast as [`daily_chart_png`].
pub fn forecast_chart_png(out: &SimOutcome, title: &str, font: &PrintFont) -> Vec<u8> {
    let subtitle = format!(
        "{} 人 · 最长等待 {} 天 · 最多 {} 人等待 · 完成日期 {}",
        short(out.people),
        out.peak_wait_days,
        short(out.peak_backlog),
        out.completion
            .map_or_else(|| "无法完成（no capacity）".to_owned(), |d| d.to_string())
    );
    let days: Vec<(NaiveDate, u64, u64)> = out
        .days
        .iter()
        .map(|d| (d.date, d.exchanged, d.backlog))
        .collect();
    daily_chart_png(title, &subtitle, &days, font)
}

#[cfg(test)]
mod tests {
    use super::{axis_max, short};

    #[test]
    fn axes_and_labels_are_round_and_short() {
        assert_eq!(
            [0, 5, 6, 1_350_000].map(|n| axis_max(n, 2)),
            [4, 10, 10, 2_000_000]
        );
        assert_eq!(
            [0, 1, 5, 6, 11, 21, 51, 101, 240].map(|n| axis_max(n, 4)),
            [4, 4, 8, 8, 20, 40, 80, 200, 400]
        );
        assert_eq!(short(9_999), "9999");
        assert_eq!(short(1_350_000), "135.0万");
    }
}
