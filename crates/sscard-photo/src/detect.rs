//! Face detection with the SeetaFace frontal cascade (`rustface`). The model is compiled in.

use std::cell::RefCell;
use std::io::Cursor;
use std::sync::OnceLock;

use image::GrayImage;
use rustface::{Detector, ImageData, Model};
use serde::Serialize;

const MODEL_BYTES: &[u8] = include_bytes!("../model/seeta_fd_frontal_v1.0.bin");

/// The shorter side of the image the detector looks at first. The cascade's window is 40 px,
/// so this pass finds faces of at least a third of the photo's shorter side: every badge or ID
/// photo. It costs about a fifth of a pass at twice the size.
const FIRST_PASS_SIDE: u32 = 120;
/// When the first pass finds nothing, a pass at this size finds faces down to a quarter of the
/// shorter side: a badge framed a little wide (a face of 30 % of the width is 36 px at 120, under
/// the cascade's 40 px window). It costs about twice the first pass, half the last.
const MIDDLE_PASS_SIDE: u32 = 168;
/// When that finds nothing either, a last pass at this size finds faces down to a sixth of the
/// shorter side (a half-length portrait, a phone picture).
const SECOND_PASS_SIDE: u32 = 240;
/// The cascade's window, pixels.
const WINDOW: u32 = 40;
/// Cascade score a detection needs to count as a face.
const SCORE: f64 = 2.0;

/// A detected face in the coordinates of the image it was found in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Face {
    /// Left edge, pixels (may be negative at the border).
    pub x: f32,
    /// Top edge, pixels.
    pub y: f32,
    /// Width, pixels.
    pub width: f32,
    /// Height, pixels.
    pub height: f32,
    /// The cascade's score (higher is surer).
    pub score: f64,
}

impl Face {
    /// Horizontal centre.
    pub fn centre_x(&self) -> f32 {
        self.x + self.width / 2.0
    }
    /// Vertical centre.
    pub fn centre_y(&self) -> f32 {
        self.y + self.height / 2.0
    }
}

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        rustface::read_model(Cursor::new(MODEL_BYTES))
            .expect("the compiled-in SeetaFace model parses")
    })
}

thread_local! {
    static DETECTOR: RefCell<Option<Box<dyn Detector>>> = const { RefCell::new(None) };
}

/// Faces in a greyscale image, largest first, in that image's coordinates.
///
/// The image is shrunk so its shorter side is 120 px and searched; when that finds nothing, it
/// is searched again at 168 px, then at 240 px. So the main face is found when it spans a sixth of the shorter
/// side, and in a photo whose face spans a third or more, other faces are noticed when they span
/// a third too (people standing side by side). A much smaller face in the background of a
/// close-up is not looked for.
pub fn detect_faces(gray: &GrayImage) -> Vec<Face> {
    let short = gray.width().min(gray.height());
    for side in [FIRST_PASS_SIDE, MIDDLE_PASS_SIDE, SECOND_PASS_SIDE] {
        let found = detect_at(gray, side);
        if !found.is_empty() || short <= side {
            return found;
        }
    }
    Vec::new()
}

/// [`detect_faces`] on a colour image: shrunk in colour first, then turned grey, which spares a
/// full-size grey copy.
pub fn detect_faces_rgb(img: &image::RgbImage) -> Vec<Face> {
    let pass = |side: u32| {
        let (w, h) = img.dimensions();
        let factor = w.min(h) as f32 / side as f32;
        if factor <= 1.0 {
            return detect_at(&crate::gray_of(img), side);
        }
        let sw = ((w as f32 / factor).round() as u32).max(WINDOW);
        let sh = ((h as f32 / factor).round() as u32).max(WINDOW);
        let small = crate::gray_of(&crate::resample::resize_rgb(img, sw, sh));
        let (sx, sy) = (w as f32 / sw as f32, h as f32 / sh as f32);
        detect_at(&small, side)
            .into_iter()
            .map(|f| Face {
                x: f.x * sx,
                y: f.y * sy,
                width: f.width * sx,
                height: f.height * sy,
                score: f.score,
            })
            .collect::<Vec<_>>()
    };
    let short = img.width().min(img.height());
    for side in [FIRST_PASS_SIDE, MIDDLE_PASS_SIDE, SECOND_PASS_SIDE] {
        let found = pass(side);
        if !found.is_empty() || short <= side {
            return found;
        }
    }
    Vec::new()
}

fn detect_at(gray: &GrayImage, side: u32) -> Vec<Face> {
    let (w, h) = gray.dimensions();
    if w < WINDOW || h < WINDOW {
        return Vec::new();
    }
    let factor = (w.min(h) as f32 / side as f32).max(1.0);
    let small;
    let analysed = if factor > 1.0 {
        let sw = ((w as f32 / factor).round() as u32).max(WINDOW);
        let sh = ((h as f32 / factor).round() as u32).max(WINDOW);
        small = crate::resample::resize_gray(gray, sw, sh);
        &small
    } else {
        gray
    };
    let (aw, ah) = analysed.dimensions();
    let sx = w as f32 / aw as f32;
    let sy = h as f32 / ah as f32;
    let found = DETECTOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let detector = slot.get_or_insert_with(|| {
            let mut d = rustface::create_detector_with_model(model().clone());
            d.set_min_face_size(WINDOW);
            d.set_score_thresh(SCORE);
            // Pyramid levels 0.6 apart (the SeetaFace default is 0.8) and a 5 px window step
            // (default 4): about half the work; no face of a 300-photo corpus is missed.
            d.set_pyramid_scale_factor(0.6);
            d.set_slide_window_step(5, 5);
            d
        });
        detector.detect(&ImageData::new(analysed.as_raw(), aw, ah))
    });
    let mut faces: Vec<Face> = found
        .iter()
        .map(|f| {
            let b = f.bbox();
            Face {
                x: b.x() as f32 * sx,
                y: b.y() as f32 * sy,
                width: b.width() as f32 * sx,
                height: b.height() as f32 * sy,
                score: f.score(),
            }
        })
        .collect();
    faces.sort_by(|a, b| b.width.total_cmp(&a.width));
    faces
}
