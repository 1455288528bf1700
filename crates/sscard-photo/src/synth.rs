//! Synthetic badge photos made from the two real public-domain faces in `testdata/`
//! (provenance in `testdata/PROVENANCE.md`): the head and shoulders are cut out around the
//! detected face and placed on a canvas at a chosen scale, position, background and exposure.
//! Tests, the demo and the benchmarks use them; nothing here is used on real applications.

use std::sync::OnceLock;

use image::RgbImage;

use crate::{Face, detect_faces, encode_jpeg};

/// Near-white studio background.
pub const WHITE: [u8; 3] = [248, 248, 246];
/// The blue background of many older ID photos (refused by the Jiangsu profile).
pub const BLUE: [u8; 3] = [67, 142, 219];

/// The cut-out head: an ellipse around the face box, in face-box units from its centre —
/// half-width 0.64 of the box width, half-height 0.92 of its height, centred 0.18 above it. So
/// the head reaches 1.10 box heights above the centre (the hair) and 0.74 below (the chin).
const HEAD_HALF_WIDTH: f32 = 0.64;
const HEAD_HALF_HEIGHT: f32 = 0.92;
const HEAD_OFFSET: f32 = 0.18;
const HEAD_ABOVE: f32 = HEAD_HALF_HEIGHT + HEAD_OFFSET;
const HEAD_BELOW: f32 = HEAD_HALF_HEIGHT - HEAD_OFFSET;

/// One of the real faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Eileen Collins (NASA; `skimage/data/astronaut.png` from scikit-image 0.26.0).
    Astronaut,
    /// Grace Hopper (U.S. Navy; `mpl-data/sample_data/grace_hopper.jpg` from matplotlib 3.11.2).
    GraceHopper,
}

struct Loaded {
    image: RgbImage,
    face: Face,
}

impl Source {
    /// Both faces.
    pub const ALL: [Source; 2] = [Source::Astronaut, Source::GraceHopper];

    /// The file as shipped by its package.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Source::Astronaut => include_bytes!("../testdata/astronaut.png"),
            Source::GraceHopper => include_bytes!("../testdata/grace_hopper.jpg"),
        }
    }

    fn loaded(self) -> &'static Loaded {
        static CELLS: [OnceLock<Loaded>; 2] = [OnceLock::new(), OnceLock::new()];
        CELLS[self as usize].get_or_init(|| {
            let image = crate::decode(self.bytes()).expect("shipped test face decodes");
            let face = detect_faces(&crate::gray_of(&image))
                .first()
                .copied()
                .expect("the detector finds the shipped test face");
            Loaded { image, face }
        })
    }

    /// The decoded photo.
    pub fn image(self) -> &'static RgbImage {
        &self.loaded().image
    }

    /// The face the detector finds in the original photo.
    pub fn face(self) -> Face {
        self.loaded().face
    }
}

/// How to stage a synthetic badge photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variation {
    /// Whose face.
    pub source: Source,
    /// Canvas width, pixels.
    pub width: u32,
    /// Canvas height, pixels.
    pub height: u32,
    /// Face box width as a share of the canvas width.
    pub face_width: f32,
    /// Face centre, share of the canvas width from the left.
    pub centre_x: f32,
    /// Face centre, share of the canvas height from the top.
    pub centre_y: f32,
    /// Background colour.
    pub background: [u8; 3],
    /// Brightness factor on the whole photo (1 = as shot).
    pub exposure: f32,
    /// A second head, centre as shares of the canvas (for the several-faces check).
    pub second_head: Option<(f32, f32)>,
}

impl Variation {
    /// A well-made badge photo: 480×600, white background, head centred in the upper half,
    /// framed a little wider than the card photo (face box 34% of the width).
    pub fn badge(source: Source) -> Variation {
        Variation {
            source,
            width: 480,
            height: 600,
            face_width: 0.34,
            centre_x: 0.5,
            centre_y: 0.45,
            background: WHITE,
            exposure: 1.0,
            second_head: None,
        }
    }

    /// A tight crop as badge systems make them: a `width`×`height` photo whose head (hair to
    /// chin, as the cut-out draws it) starts `top_px` below the top edge (negative: the hair is
    /// cut) and fills `head_share` of the height, centred across.
    pub fn tight_crop(
        source: Source,
        width: u32,
        height: u32,
        top_px: f32,
        head_share: f32,
    ) -> Variation {
        let face = source.face();
        let head = head_share * height as f32;
        let k = head / ((HEAD_ABOVE + HEAD_BELOW) * face.height);
        Variation {
            source,
            width,
            height,
            face_width: k * face.width / width as f32,
            centre_x: 0.5,
            centre_y: (top_px + HEAD_ABOVE * face.height * k) / height as f32,
            background: WHITE,
            exposure: 1.0,
            second_head: None,
        }
    }

    /// Where the drawn head ends in the canvas: (top, bottom, left, right), pixels.
    pub fn head_box(&self) -> (f32, f32, f32, f32) {
        let face = self.source.face();
        let k = self.face_width * self.width as f32 / face.width;
        let cx = self.centre_x * self.width as f32;
        let cy = self.centre_y * self.height as f32;
        (
            cy - HEAD_ABOVE * face.height * k,
            cy + HEAD_BELOW * face.height * k,
            cx - HEAD_HALF_WIDTH * face.width * k,
            cx + HEAD_HALF_WIDTH * face.width * k,
        )
    }

    /// The photo as pixels.
    pub fn render(&self) -> RgbImage {
        let src = self.source.image();
        let face = self.source.face();
        let (sw, sh) = (src.width() as f32, src.height() as f32);
        let k = self.face_width * self.width as f32 / face.width;
        let mut canvas = RgbImage::from_pixel(self.width, self.height, image::Rgb(self.background));
        let heads = std::iter::once((self.centre_x, self.centre_y)).chain(self.second_head);
        for (hx, hy) in heads {
            let cx = hx * self.width as f32;
            let cy = hy * self.height as f32;
            for (x, y, px) in canvas.enumerate_pixels_mut() {
                let sx = face.centre_x() + (x as f32 + 0.5 - cx) / k;
                let sy = face.centre_y() + (y as f32 + 0.5 - cy) / k;
                if sx < 0.0 || sy < 0.0 || sx >= sw - 1.0 || sy >= sh - 1.0 {
                    continue;
                }
                let u = (sx - face.centre_x()) / face.width;
                let v = (sy - face.centre_y()) / face.height;
                let head = (u / HEAD_HALF_WIDTH).powi(2)
                    + ((v + HEAD_OFFSET) / HEAD_HALF_HEIGHT).powi(2)
                    <= 1.0;
                let shoulders = v >= 0.6 && u.abs() <= (0.45 + (v - 0.6) * 1.8).min(1.9);
                if head || shoulders {
                    px.0 = bilinear(src, sx, sy);
                }
            }
        }
        if (self.exposure - 1.0).abs() > f32::EPSILON {
            for px in canvas.pixels_mut() {
                for c in &mut px.0 {
                    *c = (f32::from(*c) * self.exposure).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        canvas
    }

    /// The photo as a JPEG (quality 92, 96 dpi, as a badge system would export it).
    pub fn jpeg(&self) -> Vec<u8> {
        encode_jpeg(&self.render(), 92, 96)
    }
}

fn bilinear(img: &RgbImage, x: f32, y: f32) -> [u8; 3] {
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (tx, ty) = (x - x0 as f32, y - y0 as f32);
    let at = |dx: u32, dy: u32| img.get_pixel(x0 + dx, y0 + dy).0;
    let (top_left, top_right, bottom_left, bottom_right) = (at(0, 0), at(1, 0), at(0, 1), at(1, 1));
    let mut out = [0u8; 3];
    for i in 0..3 {
        let top = f32::from(top_left[i]) * (1.0 - tx) + f32::from(top_right[i]) * tx;
        let bottom = f32::from(bottom_left[i]) * (1.0 - tx) + f32::from(bottom_right[i]) * tx;
        out[i] = (top * (1.0 - ty) + bottom * ty).round() as u8;
    }
    out
}

/// `n` acceptable badge photos with varied face, size, scale, position and exposure; the same
/// `n` always gives the same photos.
pub fn corpus(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(corpus_variation).map(|v| v.jpeg()).collect()
}

/// The `i`-th variation of [`corpus`].
pub fn corpus_variation(i: usize) -> Variation {
    // A small deterministic generator (SplitMix64) so the corpus needs no RNG dependency.
    let mut state = (i as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(0x2545_F491_4F6C_DD1D);
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f32 / (1u64 << 53) as f32
    };
    let source = Source::ALL[i % 2];
    let width = 358 + (next() * 200.0) as u32;
    Variation {
        source,
        width,
        height: (width as f32 * (1.2 + next() * 0.1)) as u32,
        face_width: 0.30 + next() * 0.06,
        centre_x: 0.47 + next() * 0.06,
        centre_y: 0.43 + next() * 0.05,
        background: [
            240 + (next() * 15.0) as u8,
            240 + (next() * 15.0) as u8,
            238 + (next() * 15.0) as u8,
        ],
        exposure: 0.92 + next() * 0.16,
        second_head: None,
    }
}

/// `jpeg` with an EXIF APP1 segment carrying `orientation` (1–8) inserted after SOI.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    // TIFF header (big-endian), one IFD with one entry: 0x0112 SHORT count 1.
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2A\0\0\0\x08");
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = Vec::with_capacity(jpeg.len() + app1.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}
