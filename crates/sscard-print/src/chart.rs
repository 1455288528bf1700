//! A pickup point's hand-overs per hour as a PNG bar chart, drawn on the server with Chinese
//! labels (so every browser and printer shows the same picture).

use image::{ImageEncoder as _, Rgb, RgbImage};
use sscard_photo::card_face::draw_text;
use sscard_store::PickupFigures;

use crate::PrintFont;

/// Width of the chart in pixels.
pub const CHART_WIDTH: u32 = 760;
/// Height of the chart in pixels.
pub const CHART_HEIGHT: u32 = 320;

const LEFT: u32 = 56;
const RIGHT: u32 = 20;
const TOP: u32 = 56;
const BOTTOM: u32 = 44;

fn fill(img: &mut RgbImage, x0: u32, y0: u32, x1: u32, y1: u32, colour: [u8; 3]) {
    for y in y0.min(CHART_HEIGHT)..y1.min(CHART_HEIGHT) {
        for x in x0.min(CHART_WIDTH)..x1.min(CHART_WIDTH) {
            img.put_pixel(x, y, Rgb(colour));
        }
    }
}

/// The hours shown: the working day (08–18) widened to every hour with a hand-over.
fn hours(f: &PickupFigures) -> (u32, u32) {
    let busy: Vec<u32> = f
        .per_hour
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(h, _)| *h)
        .collect();
    let first = busy.first().copied().unwrap_or(8).min(8);
    let last = busy.last().copied().unwrap_or(18).max(18);
    (first, last)
}

/// The chart's title and the day's figures under it.
fn titles(img: &mut RgbImage, face: &ab_glyph::FontVec, f: &PickupFigures, ink: [u8; 3]) {
    draw_text(
        img,
        face,
        18.0,
        LEFT as f32,
        26.0,
        &format!(
            "每小时发放量（张）· {} · {}",
            f.point_name,
            f.date.format("%Y-%m-%d")
        ),
        ink,
    );
    draw_text(
        img,
        face,
        12.0,
        LEFT as f32,
        44.0,
        &format!(
            "今日已发 {} 张 · 近一小时 {} 张 · 待领 {} 张 (cards handed over per hour)",
            f.handed_over_today, f.last_hour, f.remaining
        ),
        [90, 100, 120],
    );
}

/// The chart as PNG bytes.
pub fn hourly_chart_png(f: &PickupFigures, font: &PrintFont) -> Vec<u8> {
    let face = &*font.metrics;
    let mut img = RgbImage::from_pixel(CHART_WIDTH, CHART_HEIGHT, Rgb([255, 255, 255]));
    let ink = [30, 40, 60];
    let grey = [200, 205, 215];
    let bar = [38, 99, 178];
    titles(&mut img, face, f, ink);
    let (first, last) = hours(f);
    let slots = last - first + 1;
    let plot_w = CHART_WIDTH - LEFT - RIGHT;
    let plot_h = CHART_HEIGHT - TOP - BOTTOM;
    let max = crate::migration_chart::axis_max(
        u64::from(f.per_hour.iter().map(|(_, n)| *n).max().unwrap_or(0)),
        4,
    );
    let max = u32::try_from(max).unwrap_or(u32::MAX);
    for tick in 0..=4 {
        let value = max * tick / 4;
        let y = TOP + plot_h - plot_h * tick / 4;
        fill(&mut img, LEFT, y, LEFT + plot_w, y + 1, grey);
        draw_text(
            &mut img,
            face,
            11.0,
            8.0,
            y as f32 + 4.0,
            &value.to_string(),
            ink,
        );
    }
    let slot_w = plot_w / slots;
    for (i, hour) in (first..=last).enumerate() {
        let n = f.per_hour.get(hour as usize).map_or(0, |(_, n)| *n);
        let x = LEFT + slot_w * i as u32;
        let h = plot_h * n / max;
        fill(
            &mut img,
            x + slot_w / 6,
            TOP + plot_h - h,
            x + slot_w - slot_w / 6,
            TOP + plot_h,
            bar,
        );
        if n > 0 {
            draw_text(
                &mut img,
                face,
                11.0,
                (x + slot_w / 3) as f32,
                (TOP + plot_h - h) as f32 - 4.0,
                &n.to_string(),
                ink,
            );
        }
        draw_text(
            &mut img,
            face,
            12.0,
            (x + slot_w / 4) as f32,
            (CHART_HEIGHT - BOTTOM + 18) as f32,
            &format!("{hour}时"),
            ink,
        );
    }
    fill(
        &mut img,
        LEFT,
        TOP + plot_h,
        LEFT + plot_w,
        TOP + plot_h + 2,
        ink,
    );
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            CHART_WIDTH,
            CHART_HEIGHT,
            image::ExtendedColorType::Rgb8,
        )
        .expect("encoding a PNG to memory cannot fail");
    out
}
