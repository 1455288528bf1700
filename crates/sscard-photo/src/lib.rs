//! ID photo normalisation for social security cards.
//!
//! [`normalize`] takes the bytes of a JPEG or PNG (a work-badge photo, a scan, a phone picture),
//! turns it upright by its EXIF orientation, finds the face, crops to 358:441 with the head at
//! the format's size and position, checks exposure and that the background is near white, and
//! encodes a 350 dpi JPEG whose quality is searched until the file lands in the profile's size
//! window (Jiangsu: 15–100 KB). It also makes the chip photo for EF08 (≤ 4,096 bytes). Every
//! refusal is a [`Rejection`] that says why in zh-CN and English. [`normalize_all`] runs across
//! all cores.

pub mod card_face;
mod detect;
mod jpeg;
mod profile;
mod resample;
pub mod synth;

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use rayon::prelude::*;
use serde::Serialize;
use sscard_ids::Bilingual;

pub use detect::{Face, detect_faces, detect_faces_rgb};
pub use profile::Profile;

/// Largest input file accepted, bytes.
pub const MAX_INPUT_BYTES: usize = 20 * 1024 * 1024;
/// Largest input image accepted, pixels per side.
pub const MAX_SIDE: u32 = 8000;

/// Switches for one run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Find the face and place the crop by it (default). Off: the photo is taken as already
    /// framed and only centre-cropped to 358:441 — for benchmarks and for photos a clerk has
    /// framed by hand.
    pub face_check: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { face_check: true }
    }
}

/// A photo that passed.
#[derive(Clone, Serialize)]
pub struct Normalized {
    /// The card photo: JPEG, profile size, profile dpi, inside the size window.
    #[serde(skip)]
    pub jpeg: Vec<u8>,
    /// JPEG quality that produced it.
    pub quality: u8,
    /// The chip (EF08) photo.
    #[serde(skip)]
    pub chip_jpeg: Vec<u8>,
    /// JPEG quality of the chip photo.
    pub chip_quality: u8,
    /// The face found, in the upright source image's pixels (none when the face check is off).
    pub face: Option<Face>,
}

impl std::fmt::Debug for Normalized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Normalized")
            .field("jpeg_bytes", &self.jpeg.len())
            .field("quality", &self.quality)
            .field("chip_bytes", &self.chip_jpeg.len())
            .field("chip_quality", &self.chip_quality)
            .field("face", &self.face)
            .finish()
    }
}

/// Why a photo was refused. Each says what to do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejection {
    /// The file is empty.
    #[error("empty file")]
    Empty,
    /// The file is larger than [`MAX_INPUT_BYTES`].
    #[error("file too large")]
    FileTooLarge {
        /// Its size.
        bytes: usize,
    },
    /// Not a JPEG or PNG.
    #[error("unsupported format")]
    Unsupported,
    /// The decoder failed.
    #[error("corrupt image: {detail}")]
    Corrupt {
        /// What the decoder said.
        detail: String,
    },
    /// Wider or taller than [`MAX_SIDE`].
    #[error("image too large")]
    TooManyPixels {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// No face found.
    #[error("no face")]
    NoFace,
    /// More than one face.
    #[error("several faces")]
    SeveralFaces {
        /// How many.
        count: usize,
    },
    /// The face has too few pixels to be enlarged to the card's head size without blurring.
    #[error("resolution too low")]
    ResolutionTooLow {
        /// Face width found, pixels.
        width: u32,
        /// Smallest accepted.
        min: u32,
    },
    /// The head itself touches or crosses an edge of the photo (hair or chin cut).
    #[error("face cut off at the {edge:?} edge")]
    FaceCutOff {
        /// The edge that cuts it.
        edge: Edge,
    },
    /// The face is too dark.
    #[error("too dark")]
    TooDark {
        /// Mean face brightness, 0–255.
        mean: u8,
    },
    /// The face is washed out.
    #[error("too bright")]
    TooBright {
        /// Mean face brightness, 0–255.
        mean: u8,
    },
    /// The background around the head is not near white.
    #[error("background not white")]
    BackgroundNotWhite {
        /// Share of background samples that were near white, percent.
        white_percent: u8,
    },
    /// No JPEG quality puts the file inside the size window.
    #[error("size window")]
    SizeWindow {
        /// Size at the nearest quality.
        bytes: usize,
        /// Window.
        min: usize,
        /// Window.
        max: usize,
    },
}

impl Bilingual for Rejection {
    fn code(&self) -> &'static str {
        match self {
            Rejection::Empty => "photo.empty",
            Rejection::FileTooLarge { .. } => "photo.file_too_large",
            Rejection::Unsupported => "photo.unsupported_format",
            Rejection::Corrupt { .. } => "photo.corrupt",
            Rejection::TooManyPixels { .. } => "photo.too_many_pixels",
            Rejection::NoFace => "photo.no_face",
            Rejection::SeveralFaces { .. } => "photo.several_faces",
            Rejection::ResolutionTooLow { .. } => "photo.resolution_too_low",
            Rejection::FaceCutOff { .. } => "photo.face_cut_off",
            Rejection::TooDark { .. } => "photo.too_dark",
            Rejection::TooBright { .. } => "photo.too_bright",
            Rejection::BackgroundNotWhite { .. } => "photo.background_not_white",
            Rejection::SizeWindow { .. } => "photo.size_window",
        }
    }

    fn zh(&self) -> String {
        match self {
            Rejection::Empty => "照片文件为空，请重新提供照片".into(),
            Rejection::FileTooLarge { bytes } => {
                format!(
                    "照片文件过大（{} MB），上限 {} MB，请压缩后重新提供",
                    bytes / (1024 * 1024),
                    MAX_INPUT_BYTES / (1024 * 1024)
                )
            }
            Rejection::Unsupported => "照片不是 JPEG 或 PNG 格式，请转换后重新提供".into(),
            Rejection::Corrupt { .. } => "照片文件已损坏，无法读取，请重新拍摄或导出".into(),
            Rejection::TooManyPixels { width, height } => {
                format!("照片尺寸过大（{width}×{height}），每边不超过 {MAX_SIDE} 像素")
            }
            Rejection::NoFace => "照片中未检测到人脸，请提供本人正面免冠照片".into(),
            Rejection::SeveralFaces { count } => format!("照片中有 {count} 张人脸，只能有本人一人"),
            Rejection::ResolutionTooLow { width, min } => {
                format!(
                    "照片分辨率过低：人脸宽 {width} 像素，至少需要 {min} 像素，请提供更近或分辨率更高的照片"
                )
            }
            Rejection::FaceCutOff { edge } => format!(
                "头部被照片{}截断（{}），请提供头部完整的照片",
                edge.zh(),
                edge.what_zh()
            ),
            Rejection::TooDark { mean } => {
                format!("照片过暗（面部平均亮度 {mean}），请在光线充足处重新拍摄")
            }
            Rejection::TooBright { mean } => {
                format!("照片过亮（面部平均亮度 {mean}），请避免强光或闪光直射")
            }
            Rejection::BackgroundNotWhite { white_percent } => {
                format!("背景不是白色（白色占 {white_percent}%），请在纯白背景前重新拍摄")
            }
            Rejection::SizeWindow { bytes, min, max } => format!(
                "无法把照片压缩到 {}–{} KB（最接近为 {} KB），请提供内容更清晰的照片",
                min / 1024,
                max / 1024,
                bytes / 1024
            ),
        }
    }

    fn en(&self) -> String {
        match self {
            Rejection::Empty => "the photo file is empty; provide the photo again".into(),
            Rejection::FileTooLarge { bytes } => format!(
                "the photo file is too large ({} MB, limit {} MB); compress it and provide it again",
                bytes / (1024 * 1024),
                MAX_INPUT_BYTES / (1024 * 1024)
            ),
            Rejection::Unsupported => {
                "the photo is not a JPEG or PNG; convert it and provide it again".into()
            }
            Rejection::Corrupt { .. } => {
                "the photo file is damaged and cannot be read; take or export it again".into()
            }
            Rejection::TooManyPixels { width, height } => {
                format!(
                    "the photo is too large ({width} x {height}); at most {MAX_SIDE} pixels a side"
                )
            }
            Rejection::NoFace => {
                "no face found; provide a frontal photo of the holder without a hat".into()
            }
            Rejection::SeveralFaces { count } => {
                format!("{count} faces in the photo; only the holder may be in it")
            }
            Rejection::ResolutionTooLow { width, min } => format!(
                "the photo's resolution is too low: the face is {width} px wide and needs at least {min} px; provide a closer or higher-resolution photo"
            ),
            Rejection::FaceCutOff { edge } => format!(
                "the head is cut by the photo's {} edge ({}); provide a photo showing the whole head",
                edge.en(),
                edge.what_en()
            ),
            Rejection::TooDark { mean } => format!(
                "the photo is too dark (mean face brightness {mean}); take it again in good light"
            ),
            Rejection::TooBright { mean } => {
                format!(
                    "the photo is too bright (mean face brightness {mean}); avoid strong light or flash on the face"
                )
            }
            Rejection::BackgroundNotWhite { white_percent } => format!(
                "the background is not white ({white_percent}% white); take the photo again in front of a plain white background"
            ),
            Rejection::SizeWindow { bytes, min, max } => format!(
                "the photo cannot be encoded within {}-{} KB (nearest {} KB); provide a sharper photo",
                min / 1024,
                max / 1024,
                bytes / 1024
            ),
        }
    }
}

/// An edge of the photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Edge {
    /// The top edge (the hair is cut).
    Top,
    /// The bottom edge (the chin is cut).
    Bottom,
    /// The left edge.
    Left,
    /// The right edge.
    Right,
}

impl Edge {
    /// zh-CN name.
    pub fn zh(self) -> &'static str {
        match self {
            Edge::Top => "上边缘",
            Edge::Bottom => "下边缘",
            Edge::Left => "左边缘",
            Edge::Right => "右边缘",
        }
    }

    /// English name.
    pub fn en(self) -> &'static str {
        match self {
            Edge::Top => "top",
            Edge::Bottom => "bottom",
            Edge::Left => "left",
            Edge::Right => "right",
        }
    }

    fn what_zh(self) -> &'static str {
        match self {
            Edge::Top => "头发或头顶不完整",
            Edge::Bottom => "下巴不完整",
            Edge::Left | Edge::Right => "头部一侧不完整",
        }
    }

    fn what_en(self) -> &'static str {
        match self {
            Edge::Top => "hair or crown missing",
            Edge::Bottom => "chin missing",
            Edge::Left | Edge::Right => "one side of the head missing",
        }
    }
}

/// Decode a JPEG or PNG and turn it upright by its EXIF orientation.
pub fn decode(bytes: &[u8]) -> Result<RgbImage, Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::Empty);
    }
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(Rejection::FileTooLarge { bytes: bytes.len() });
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Rejection::Corrupt {
            detail: e.to_string(),
        })?;
    if !matches!(reader.format(), Some(ImageFormat::Jpeg | ImageFormat::Png)) {
        return Err(Rejection::Unsupported);
    }
    let mut decoder = reader.into_decoder().map_err(|e| Rejection::Corrupt {
        detail: e.to_string(),
    })?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(Rejection::TooManyPixels { width, height });
    }
    if width == 0 || height == 0 {
        return Err(Rejection::Corrupt {
            detail: "zero-sized image".into(),
        });
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    decoder.set_limits(limits).map_err(|e| Rejection::Corrupt {
        detail: e.to_string(),
    })?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| Rejection::Corrupt {
        detail: e.to_string(),
    })?;
    img.apply_orientation(orientation);
    Ok(img.into_rgb8())
}

/// The greyscale (BT.601 luma) of an RGB image.
pub fn gray_of(img: &RgbImage) -> image::GrayImage {
    // Fixed-point BT.601 weights (×1024) into a preallocated buffer, so the loop vectorises.
    let src = img.as_raw();
    let mut data = vec![0u8; src.len() / 3];
    for (g, p) in data.iter_mut().zip(src.chunks_exact(3)) {
        *g = ((306 * u32::from(p[0]) + 601 * u32::from(p[1]) + 117 * u32::from(p[2])) >> 10) as u8;
    }
    image::GrayImage::from_raw(img.width(), img.height(), data).expect("one byte per pixel")
}

fn luma(p: [u8; 3]) -> u32 {
    (299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000
}

/// Encode as JPEG at `quality` with `dpi` in the JFIF header.
pub fn encode_jpeg(img: &RgbImage, quality: u8, dpi: u16) -> Vec<u8> {
    jpeg::encode(img.as_raw(), img.width(), img.height(), quality, dpi)
}

/// The highest-quality encoding near `start` whose size is within `[min, max]`: one encode when
/// `start` already fits, otherwise a binary search in the direction that helps.
fn encode_in_window(
    img: &RgbImage,
    dpi: u16,
    start: u8,
    floor: u8,
    min: usize,
    max: usize,
) -> Result<(Vec<u8>, u8), Rejection> {
    let first = encode_jpeg(img, start, dpi);
    if (min..=max).contains(&first.len()) {
        return Ok((first, start));
    }
    if first.len() > max {
        // Highest quality in [floor, start) that fits under max.
        let (mut lo, mut hi) = (floor, start - 1);
        let mut best: Option<(Vec<u8>, u8)> = None;
        let mut nearest = first.len();
        while lo <= hi {
            let q = lo + (hi - lo) / 2;
            let data = encode_jpeg(img, q, dpi);
            nearest = data.len();
            if data.len() <= max {
                lo = q + 1;
                best = Some((data, q));
            } else if q == 0 {
                break;
            } else {
                hi = q - 1;
            }
        }
        match best {
            Some((data, q)) if data.len() >= min => Ok((data, q)),
            Some((data, _)) => Err(Rejection::SizeWindow {
                bytes: data.len(),
                min,
                max,
            }),
            None => Err(Rejection::SizeWindow {
                bytes: nearest,
                min,
                max,
            }),
        }
    } else {
        // Lowest quality in (start, 100] that reaches min.
        let (mut lo, mut hi) = (start + 1, 100u8);
        let mut best: Option<(Vec<u8>, u8)> = None;
        let mut nearest = first.len();
        while lo <= hi {
            let q = lo + (hi - lo) / 2;
            let data = encode_jpeg(img, q, dpi);
            nearest = data.len();
            if data.len() >= min {
                hi = q - 1;
                best = Some((data, q));
            } else {
                lo = q + 1;
            }
        }
        match best {
            Some((data, q)) if data.len() <= max => Ok((data, q)),
            Some((data, _)) => Err(Rejection::SizeWindow {
                bytes: data.len(),
                min,
                max,
            }),
            None => Err(Rejection::SizeWindow {
                bytes: nearest,
                min,
                max,
            }),
        }
    }
}

/// Where the head reaches around the detector's face box, in box units: the box spans brows to
/// mouth and cheek to cheek; the hair rises about 0.6 of its height above it, the chin ends about
/// 0.25 below, and the head is about 1.3 box widths wide. Only the margins that say "surely
/// head" are used to decide a cut: the crown at least 0.25 above the box, the chin at least 0.15
/// below, the head at least 0.1 beyond each side.
const CROWN_SURE: f32 = 0.25;
const CHIN_SURE: f32 = 0.15;
const SIDE_SURE: f32 = 0.10;
/// The span the hair and head may occupy, for looking at the pixels along an edge.
const CROWN_SPAN: f32 = 0.70;
const HEAD_HALF_SPAN: f32 = 0.90;
/// Where the shoulders may begin, below the box top, in box heights: the side edges are looked
/// at only above it (shoulders may run off the sides of a tight crop; that is fine).
const SHOULDERS: f32 = 1.05;

/// A band of pixels along an edge, judged: how many samples, how many near white, and the
/// spread of their brightness.
#[derive(Debug, Default, Clone, Copy)]
struct Band {
    total: u32,
    white: u32,
    min_luma: u32,
    max_luma: u32,
}

impl Band {
    fn of(img: &RgbImage, xs: std::ops::Range<u32>, ys: std::ops::Range<u32>) -> Band {
        let mut b = Band {
            min_luma: 255,
            ..Band::default()
        };
        for y in ys {
            for x in xs.clone() {
                let p = img.get_pixel(x, y).0;
                let l = luma(p);
                b.total += 1;
                if near_white(p) {
                    b.white += 1;
                }
                b.min_luma = b.min_luma.min(l);
                b.max_luma = b.max_luma.max(l);
            }
        }
        b
    }

    /// Share of near-white samples, percent (100 for an empty band).
    fn white_percent(&self) -> u8 {
        (self.white * 100)
            .checked_div(self.total)
            .map_or(100, |p| p as u8)
    }

    /// Whether the band is something to continue: near white and even (a background, not a
    /// shadow or a gradient). An empty band is.
    fn continuable(&self) -> bool {
        self.total == 0 || (self.white_percent() >= 95 && self.max_luma - self.min_luma <= 40)
    }

    /// Whether something that is not background crosses the band (hair, skin).
    fn crossed(&self) -> bool {
        self.total > 0 && self.white_percent() < 97
    }
}

fn near_white(p: [u8; 3]) -> bool {
    let lo = p.iter().min().copied().unwrap_or(0);
    let hi = p.iter().max().copied().unwrap_or(0);
    lo >= 185 && hi - lo <= 40
}

/// Pixels of the edge bands looked at.
const EDGE_BAND: u32 = 3;

fn span(lo: f32, hi: f32, limit: u32) -> std::ops::Range<u32> {
    let lo = lo.max(0.0).min(limit as f32) as u32;
    let hi = hi.max(0.0).min(limit as f32) as u32;
    lo..hi.max(lo)
}

/// The crop window (left, top, width, height) that puts `face` where the profile wants it.
///
/// When the window reaches past the photo (a tight crop: the head near the top, little
/// shoulder), the background is extended — the resampler repeats the edge pixels — but only where
/// the edge it continues is near-white and even. The photo is refused as cut off only when the
/// head itself touches or crosses an edge: the face box outside the photo, the sure margins of
/// crown, chin or cheeks outside it, or hair or skin on the edge where the head is.
fn window_for(
    face: &Face,
    img: &RgbImage,
    profile: &Profile,
) -> Result<(f32, f32, f32, f32), Rejection> {
    let (img_w, img_h) = img.dimensions();
    let scale = profile.face_width * profile.width as f32 / face.width;
    let cw = profile.width as f32 / scale;
    let ch = profile.height as f32 / scale;
    let left = face.centre_x() - cw / 2.0;
    let top = face.centre_y() - profile.face_centre_y * ch;
    let (w, h) = (img_w as f32, img_h as f32);
    let (fw, fh) = (face.width, face.height);
    let cut = |edge| Err(Rejection::FaceCutOff { edge });

    // The head's sure margins inside the photo; when several are outside, the edge the head
    // crosses furthest is named.
    let overflows = [
        (CROWN_SURE * fh - face.y, Edge::Top),
        (face.y + fh * (1.0 + CHIN_SURE) - h, Edge::Bottom),
        (SIDE_SURE * fw - face.x, Edge::Left),
        (face.x + fw * (1.0 + SIDE_SURE) - w, Edge::Right),
    ];
    if let Some((_, edge)) = overflows
        .into_iter()
        .filter(|(by, _)| *by > 0.0)
        .max_by(|a, b| a.0.total_cmp(&b.0))
    {
        return cut(edge);
    }

    // An edge the window reaches past: along it, the head's span must be clear of hair and
    // skin, and the rest must be background to continue.
    let head_cols = span(
        face.centre_x() - HEAD_HALF_SPAN * fw,
        face.centre_x() + HEAD_HALF_SPAN * fw,
        img_w,
    );
    let above_shoulders = span(0.0, face.y + SHOULDERS * fh, img_h);
    let crown_rows = span(face.y - CROWN_SPAN * fh, face.y + SHOULDERS * fh, img_h);
    let band = EDGE_BAND.min(img_w).min(img_h);
    let mut background = Band {
        min_luma: 255,
        ..Band::default()
    };
    let mut merge = |b: Band| {
        background.total += b.total;
        background.white += b.white;
        background.min_luma = background.min_luma.min(b.min_luma);
        background.max_luma = background.max_luma.max(b.max_luma);
    };
    // First whether the edges to continue are background at all (a coloured backdrop is
    // refused as such), then whether the head crosses them.
    let mut crossings = Vec::new();
    if top < 0.0 {
        crossings.push((Band::of(img, head_cols.clone(), 0..band), Edge::Top));
        merge(Band::of(img, 0..head_cols.start, 0..band));
        merge(Band::of(img, head_cols.end..img_w, 0..band));
    }
    for (overshoots, cols, edge) in [
        (left < 0.0, 0..band, Edge::Left),
        (left + cw > w, img_w - band..img_w, Edge::Right),
    ] {
        if overshoots {
            crossings.push((Band::of(img, cols.clone(), crown_rows.clone()), edge));
            merge(Band::of(img, cols, above_shoulders.start..crown_rows.start));
        }
    }
    if background.total > 0 && !background.continuable() {
        return Err(Rejection::BackgroundNotWhite {
            white_percent: background.white_percent(),
        });
    }
    if let Some((_, edge)) = crossings.iter().find(|(b, _)| b.crossed()) {
        return cut(*edge);
    }
    Ok((left, top, cw, ch))
}

/// Centre crop to the profile's aspect ratio (the face check switched off).
fn centre_window(img_w: u32, img_h: u32, profile: &Profile) -> (f32, f32, f32, f32) {
    let (w, h) = (img_w as f32, img_h as f32);
    let aspect = profile.width as f32 / profile.height as f32;
    if w / h > aspect {
        let cw = h * aspect;
        ((w - cw) / 2.0, 0.0, cw, h)
    } else {
        let ch = w / aspect;
        (0.0, (h - ch) / 2.0, w, ch)
    }
}

/// Mean brightness of the face box in the output, and the share of near-white background
/// samples (a band along the top and strips down both sides beside the head).
fn measure(out: &RgbImage, profile: &Profile) -> (u8, u8) {
    let (w, h) = out.dimensions();
    let fw = profile.face_width * w as f32;
    let fcx = w as f32 / 2.0;
    let fcy = profile.face_centre_y * h as f32;
    // The inner part of the face box: skin, not hair or background.
    let (x0, x1) = ((fcx - fw * 0.3) as u32, (fcx + fw * 0.3) as u32);
    let (y0, y1) = ((fcy - fw * 0.3) as u32, (fcy + fw * 0.3) as u32);
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in y0..y1.min(h) {
        for x in x0..x1.min(w) {
            sum += u64::from(luma(out.get_pixel(x, y).0));
            n += 1;
        }
    }
    let face_luma = (sum / n.max(1)) as u8;
    let band = (h as f32 * 0.06) as u32;
    let strip = (w as f32 * 0.10) as u32;
    let strip_bottom = (h as f32 * 0.40) as u32;
    let (mut white, mut total) = (0u32, 0u32);
    let mut sample = |x: u32, y: u32| {
        total += 1;
        if near_white(out.get_pixel(x, y).0) {
            white += 1;
        }
    };
    for y in (0..band).step_by(2) {
        for x in (0..w).step_by(2) {
            sample(x, y);
        }
    }
    for y in (band..strip_bottom).step_by(2) {
        for x in (0..strip).chain(w - strip..w).step_by(2) {
            sample(x, y);
        }
    }
    (face_luma, (white * 100 / total.max(1)) as u8)
}

/// Normalise one photo.
pub fn normalize(
    bytes: &[u8],
    profile: &Profile,
    options: Options,
) -> Result<Normalized, Rejection> {
    let img = decode(bytes)?;
    normalize_image(&img, profile, options)
}

/// Normalise an already decoded, upright image.
pub fn normalize_image(
    img: &RgbImage,
    profile: &Profile,
    options: Options,
) -> Result<Normalized, Rejection> {
    let (w, h) = img.dimensions();
    let (window, face) = if options.face_check {
        let faces = detect_faces_rgb(img);
        let Some(main) = faces.first().copied() else {
            return Err(Rejection::NoFace);
        };
        let count = faces.iter().filter(|f| f.width >= main.width * 0.5).count();
        if count > 1 {
            return Err(Rejection::SeveralFaces { count });
        }
        if main.width < profile.min_face_px as f32 {
            return Err(Rejection::ResolutionTooLow {
                width: main.width as u32,
                min: profile.min_face_px,
            });
        }
        (window_for(&main, img, profile)?, Some(main))
    } else {
        (centre_window(w, h, profile), None)
    };
    let out = resample::crop_resize_rgb(img, window, profile.width, profile.height);
    if options.face_check {
        let (face_luma, white) = measure(&out, profile);
        if face_luma < profile.min_face_luma {
            return Err(Rejection::TooDark { mean: face_luma });
        }
        if face_luma > profile.max_face_luma {
            return Err(Rejection::TooBright { mean: face_luma });
        }
        if white < profile.min_white_percent {
            return Err(Rejection::BackgroundNotWhite {
                white_percent: white,
            });
        }
    }
    let (jpeg, quality) = encode_in_window(
        &out,
        profile.dpi,
        profile.start_quality,
        profile.min_quality,
        profile.min_bytes,
        profile.max_bytes,
    )?;
    let chip = resample::resize_rgb(&out, profile.chip_width, profile.chip_height);
    let (chip_jpeg, chip_quality) =
        encode_in_window(&chip, profile.dpi, 70, 5, 0, profile.chip_max_bytes)?;
    Ok(Normalized {
        jpeg,
        quality,
        chip_jpeg,
        chip_quality,
        face,
    })
}

/// Normalise many photos on all cores; results in input order.
pub fn normalize_all<T: AsRef<[u8]> + Sync>(
    inputs: &[T],
    profile: &Profile,
    options: Options,
) -> Vec<Result<Normalized, Rejection>> {
    normalize_all_counted(
        inputs,
        profile,
        options,
        &std::sync::atomic::AtomicUsize::new(0),
    )
}

/// [`normalize_all`], adding one to `done` as each photo finishes (for progress display).
pub fn normalize_all_counted<T: AsRef<[u8]> + Sync>(
    inputs: &[T],
    profile: &Profile,
    options: Options,
    done: &std::sync::atomic::AtomicUsize,
) -> Vec<Result<Normalized, Rejection>> {
    inputs
        .par_iter()
        .map(|b| {
            let r = normalize(b.as_ref(), profile, options);
            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            r
        })
        .collect()
}

/// A small JPEG of a photo as it was given (upright, at most `side` pixels a side), for showing
/// a refused photo beside its reason; `None` when it cannot be decoded.
pub fn preview_jpeg(bytes: &[u8], side: u32) -> Option<Vec<u8>> {
    let img = decode(bytes).ok()?;
    let (w, h) = img.dimensions();
    let k = (side as f32 / w.max(h) as f32).min(1.0);
    let (pw, ph) = (
        ((w as f32 * k).round() as u32).max(1),
        ((h as f32 * k).round() as u32).max(1),
    );
    let small = resample::resize_rgb(&img, pw, ph);
    Some(encode_jpeg(&small, 80, 96))
}

/// The JFIF density of a JPEG: `(units, x, y)` where units 1 means dots per inch.
pub fn jfif_density(jpeg: &[u8]) -> Option<(u8, u16, u16)> {
    // SOI, then APP0 "JFIF\0" version(2) units(1) Xdensity(2) Ydensity(2).
    if jpeg.len() < 18 || jpeg[0..4] != [0xFF, 0xD8, 0xFF, 0xE0] || &jpeg[6..11] != b"JFIF\0" {
        return None;
    }
    Some((
        jpeg[13],
        u16::from_be_bytes([jpeg[14], jpeg[15]]),
        u16::from_be_bytes([jpeg[16], jpeg[17]]),
    ))
}
