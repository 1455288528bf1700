//! Crop-and-resize with `fast_image_resize` (bilinear with an area-wide support when shrinking,
//! SIMD). The crop window may reach past the image (a tight crop); those pixels continue the
//! nearest edge, smoothed along it (the normaliser extends only a near-white background above
//! and beside the head, and cloth below it — never the head).

use std::cell::RefCell;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{GrayImage, RgbImage};

thread_local! {
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

/// The line a padding continues along one edge: the mean of the `depth` outermost lines, then
/// smoothed along the edge (a box of `radius` pixels each way), so that clothes running off the
/// bottom of a tight crop continue as cloth, not as streaks of single pixels. `at(i, d)` is the
/// offset of pixel `i` along the edge, `d` lines in from it.
fn edge_line(
    src: &[u8],
    c: usize,
    len: usize,
    depth: usize,
    radius: usize,
    at: impl Fn(usize, usize) -> usize,
) -> Vec<u8> {
    let mut mean = vec![0u32; len * c];
    for i in 0..len {
        for d in 0..depth {
            let o = at(i, d);
            for k in 0..c {
                mean[i * c + k] += u32::from(src[o + k]);
            }
        }
    }
    let depth = depth as u32;
    let mut out = vec![0u8; len * c];
    // Prefix sums per channel for the box.
    let mut prefix = vec![0u32; (len + 1) * c];
    for i in 0..len {
        for k in 0..c {
            prefix[(i + 1) * c + k] = prefix[i * c + k] + mean[i * c + k];
        }
    }
    for i in 0..len {
        let lo = i.saturating_sub(radius);
        let hi = (i + radius + 1).min(len);
        let n = (hi - lo) as u32 * depth;
        for k in 0..c {
            let sum = prefix[hi * c + k] - prefix[lo * c + k];
            out[i * c + k] = ((sum + n / 2) / n) as u8;
        }
    }
    out
}

/// Copy of `src` (interleaved, `c` bytes a pixel) grown by `pad` pixels on every side, the new
/// pixels continuing the nearest edge (see [`edge_line`]; on a small image, the edge pixel itself).
fn pad_edges(src: &[u8], w: u32, h: u32, c: usize, pad: u32) -> Vec<u8> {
    let (wu, hu) = (w as usize, h as usize);
    let (pw, ph) = ((w + 2 * pad) as usize, (h + 2 * pad) as usize);
    let row_depth = (hu / 64).clamp(1, 4);
    let col_depth = (wu / 64).clamp(1, 4);
    let top = edge_line(src, c, wu, row_depth, wu / 24, |i, d| (d * wu + i) * c);
    let bottom = edge_line(src, c, wu, row_depth, wu / 24, |i, d| {
        ((hu - 1 - d) * wu + i) * c
    });
    let left = edge_line(src, c, hu, col_depth, hu / 24, |i, d| (i * wu + d) * c);
    let right = edge_line(src, c, hu, col_depth, hu / 24, |i, d| {
        (i * wu + wu - 1 - d) * c
    });
    let mut out = vec![0u8; pw * ph * c];
    for y in 0..ph {
        let sy = y as i64 - i64::from(pad);
        let dst = &mut out[y * pw * c..][..pw * c];
        let (before, rest) = dst.split_at_mut(pad as usize * c);
        let (middle, after) = rest.split_at_mut(wu * c);
        let (row, lpx, rpx): (&[u8], &[u8], &[u8]) = if sy < 0 {
            (&top, &top[..c], &top[top.len() - c..])
        } else if sy >= i64::from(h) {
            (&bottom, &bottom[..c], &bottom[bottom.len() - c..])
        } else {
            let sy = sy as usize;
            (
                &src[sy * wu * c..][..wu * c],
                &left[sy * c..][..c],
                &right[sy * c..][..c],
            )
        };
        middle.copy_from_slice(row);
        for px in before.chunks_exact_mut(c) {
            px.copy_from_slice(lpx);
        }
        for px in after.chunks_exact_mut(c) {
            px.copy_from_slice(rpx);
        }
    }
    out
}

fn crop_resize(
    src: &[u8],
    (w, h): (u32, u32),
    pixel: PixelType,
    window: (f32, f32, f32, f32),
    (out_w, out_h): (u32, u32),
) -> Vec<u8> {
    let c = if pixel == PixelType::U8x3 { 3 } else { 1 };
    let (mut left, mut top, cw, ch) = window;
    let overshoot = (-left)
        .max(-top)
        .max(left + cw - w as f32)
        .max(top + ch - h as f32);
    // A window past the edges of a large source (a tight crop from a scanner or a phone), more
    // than three times the output: shrink the source first, to twice the output, so that the
    // padded copy stays small — not a 20-megapixel photo grown by a thousand pixels a side.
    if overshoot > 0.0 && cw > 3.0 * out_w as f32 {
        let f = 2.0 * out_w as f32 / cw;
        let sw = ((w as f32 * f).round() as u32).max(1);
        let sh = ((h as f32 * f).round() as u32).max(1);
        let small = crop_resize(src, (w, h), pixel, (0.0, 0.0, w as f32, h as f32), (sw, sh));
        let (fx, fy) = (sw as f32 / w as f32, sh as f32 / h as f32);
        return crop_resize(
            &small,
            (sw, sh),
            pixel,
            (left * fx, top * fy, cw * fx, ch * fy),
            (out_w, out_h),
        );
    }
    let padded;
    let (data, sw, sh) = if overshoot > 0.0 {
        let pad = overshoot.ceil() as u32 + 1;
        padded = pad_edges(src, w, h, c, pad);
        left += pad as f32;
        top += pad as f32;
        (&padded[..], w + 2 * pad, h + 2 * pad)
    } else {
        (src, w, h)
    };
    let src_image = ImageRef::new(sw, sh, data, pixel).expect("buffer matches its dimensions");
    let mut dst = Image::new(out_w, out_h, pixel);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
        .crop(
            f64::from(left),
            f64::from(top),
            f64::from(cw),
            f64::from(ch),
        );
    RESIZER
        .with(|r| r.borrow_mut().resize(&src_image, &mut dst, &options))
        .expect("same pixel type, window inside the image");
    dst.into_vec()
}

/// Crop `window` (left, top, width, height in source pixels; may overshoot the edges) out of
/// `src` and scale it to `out_w × out_h`.
pub(crate) fn crop_resize_rgb(
    src: &RgbImage,
    window: (f32, f32, f32, f32),
    out_w: u32,
    out_h: u32,
) -> RgbImage {
    let data = crop_resize(
        src.as_raw(),
        src.dimensions(),
        PixelType::U8x3,
        window,
        (out_w, out_h),
    );
    RgbImage::from_raw(out_w, out_h, data).expect("buffer sized for the output")
}

/// Scale a whole RGB image.
pub(crate) fn resize_rgb(src: &RgbImage, out_w: u32, out_h: u32) -> RgbImage {
    let (w, h) = src.dimensions();
    crop_resize_rgb(src, (0.0, 0.0, w as f32, h as f32), out_w, out_h)
}

/// Scale a whole greyscale image.
pub(crate) fn resize_gray(src: &GrayImage, out_w: u32, out_h: u32) -> GrayImage {
    let (w, h) = src.dimensions();
    let data = crop_resize(
        src.as_raw(),
        (w, h),
        PixelType::U8,
        (0.0, 0.0, w as f32, h as f32),
        (out_w, out_h),
    );
    GrayImage::from_raw(out_w, out_h, data).expect("buffer sized for the output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_image_stays_flat_even_past_the_edges() {
        let img = RgbImage::from_pixel(10, 10, image::Rgb([200, 100, 50]));
        let out = crop_resize_rgb(&img, (-2.0, -2.0, 14.0, 14.0), 7, 7);
        assert!(out.pixels().all(|p| p.0 == [200, 100, 50]));
    }

    #[test]
    fn a_large_source_past_its_edges_is_shrunk_before_padding() {
        // 4000×3000 flat, the window reaching 1,000 px past every edge: same colour out, and
        // (by construction) no 6000×5000 padded copy.
        let img = RgbImage::from_pixel(4000, 3000, image::Rgb([240, 240, 238]));
        let out = crop_resize_rgb(&img, (-1000.0, -1000.0, 6000.0, 5000.0), 358, 441);
        assert_eq!(out.dimensions(), (358, 441));
        assert!(out.pixels().all(|p| p.0 == [240, 240, 238]));
    }

    #[test]
    fn padding_repeats_edges() {
        let src = [1u8, 2, 3, 4];
        assert_eq!(
            pad_edges(&src, 2, 2, 1, 1),
            vec![1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]
        );
    }

    #[test]
    fn halving_averages_a_stripe_pattern() {
        let g = GrayImage::from_fn(64, 8, |x, _| {
            image::Luma([if x % 2 == 0 { 0 } else { 200 }])
        });
        let half = resize_gray(&g, 32, 4);
        assert!(
            half.as_raw()[8..24]
                .iter()
                .all(|&v| (90..=110).contains(&v)),
            "{:?}",
            half.as_raw()
        );
    }
}
