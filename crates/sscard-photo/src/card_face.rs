//! The back of the card as a PNG (85.6 × 54 mm at 300 dpi): issuer header, holder photo, name,
//! social security number, card number, issue date and bank — the data the card face carries
//! (ssc-facts §2.4). Chinese text is drawn with a real CJK font ([`find_cjk_font`]: the one named
//! by `SSCARD_FONT`, else a system font, else the subset sscard ships, [`BUNDLED_FONT`]), never
//! with boxes.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{Rgb, RgbImage};

/// Width in pixels (85.6 mm at 300 dpi).
pub const WIDTH: u32 = 1011;
/// Height in pixels (54 mm at 300 dpi).
pub const HEIGHT: u32 = 638;

/// Who issued the card: the header printed on its back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    /// Provincial cards (second and third generation).
    JiangsuProvince,
    /// Legacy Taizhou city cards.
    TaizhouCity,
}

impl Issuer {
    /// The header text.
    pub fn header(self) -> &'static str {
        match self {
            Issuer::JiangsuProvince => "江苏省人力资源和社会保障厅",
            Issuer::TaizhouCity => "泰州市劳动和社会保障局",
        }
    }
}

/// What the back of a card shows.
#[derive(Clone)]
pub struct CardFace {
    /// Issuer.
    pub issuer: Issuer,
    /// Holder's name.
    pub name: String,
    /// Social security number (printed in full on the card, as the card itself does).
    pub ssn: String,
    /// Card number.
    pub card_number: String,
    /// Issue date, `YYYY年MM月`.
    pub issue_date: String,
    /// Partner bank's name.
    pub bank: String,
    /// The card photo (JPEG), if any.
    pub photo: Option<Vec<u8>>,
}

impl std::fmt::Debug for CardFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardFace")
            .field("issuer", &self.issuer)
            .field("card_number", &self.card_number)
            .finish_non_exhaustive()
    }
}

/// Why a card face could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaceError {
    /// No font with Chinese glyphs was found.
    NoCjkFont,
    /// The font file could not be read or parsed.
    BadFont { path: PathBuf },
}

impl std::fmt::Display for FaceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaceError::NoCjkFont => write!(
                f,
                "找不到中文字体：请安装 fonts-wqy-microhei（apt-get install fonts-wqy-microhei）或用 SSCARD_FONT 指定字体文件（no CJK font: install fonts-wqy-microhei or point SSCARD_FONT at a font file）"
            ),
            FaceError::BadFont { path } => write!(
                f,
                "字体文件无法读取（cannot read the font）: {}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for FaceError {}

/// Where CJK fonts are looked for, in order, after `SSCARD_FONT`.
pub const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

/// The CJK font sscard ships, used when the machine has none: a subset of Micro Hei (文泉驿微米黑)
/// (Apache-2.0, `crates/sscard-photo/fonts/LICENSE`) holding GB 2312 and every character of
/// sscard's own texts and data, made by `tools/gen-font-subset.py`.
pub static BUNDLED_FONT: &[u8] = include_bytes!("../fonts/sscard-cjk.ttf");

/// Where a CJK font comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FontSource {
    /// A font file (TrueType/OpenType, or the first font of a collection).
    File(PathBuf),
    /// [`BUNDLED_FONT`].
    Bundled,
}

impl FontSource {
    /// The font's bytes.
    pub fn read(&self) -> Result<Vec<u8>, FaceError> {
        match self {
            FontSource::File(path) => {
                std::fs::read(path).map_err(|_| FaceError::BadFont { path: path.clone() })
            }
            FontSource::Bundled => Ok(BUNDLED_FONT.to_vec()),
        }
    }

    /// The font's bytes, checked to be a font with Chinese glyphs, and its metrics.
    pub fn load(&self) -> Result<(Vec<u8>, FontVec), FaceError> {
        let data = self.read()?;
        let font = parse_cjk_font(data.clone(), self)?;
        Ok((data, font))
    }
}

impl std::fmt::Display for FontSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FontSource::File(path) => write!(f, "{}", path.display()),
            FontSource::Bundled => f.write_str("sscard-cjk.ttf（内置 bundled）"),
        }
    }
}

/// The CJK font to draw with: `SSCARD_FONT`, else the first system font of [`FONT_CANDIDATES`]
/// (unless `SSCARD_NO_SYSTEM_FONTS=1`), else the bundled one.
pub fn find_cjk_font() -> FontSource {
    if let Ok(p) = std::env::var("SSCARD_FONT") {
        return FontSource::File(PathBuf::from(p));
    }
    if std::env::var("SSCARD_NO_SYSTEM_FONTS").as_deref() == Ok("1") {
        return FontSource::Bundled;
    }
    FONT_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .map_or(FontSource::Bundled, FontSource::File)
}

fn parse_cjk_font(data: Vec<u8>, source: &FontSource) -> Result<FontVec, FaceError> {
    let bad = || FaceError::BadFont {
        path: match source {
            FontSource::File(p) => p.clone(),
            FontSource::Bundled => PathBuf::from("sscard-cjk.ttf"),
        },
    };
    let font = FontVec::try_from_vec_and_index(data, 0).map_err(|_| bad())?;
    // A font without 社 is not a CJK font.
    if font.glyph_id('社').0 == 0 {
        return Err(FaceError::NoCjkFont);
    }
    Ok(font)
}

/// Loads a font file and checks that it has Chinese glyphs.
pub fn load_cjk_font(path: &Path) -> Result<FontVec, FaceError> {
    Ok(FontSource::File(path.to_owned()).load()?.1)
}

/// Draws one line of text with its baseline at `baseline`, blending `colour` by coverage.
pub fn draw_text(
    img: &mut RgbImage,
    font: &FontVec,
    size: f32,
    x: f32,
    baseline: f32,
    text: &str,
    colour: [u8; 3],
) {
    let scaled = font.as_scaled(PxScale::from(size));
    let mut caret = x;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        let glyph =
            id.with_scale_and_position(PxScale::from(size), ab_glyph::point(caret, baseline));
        caret += scaled.h_advance(id);
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i64 + i64::from(gx);
                let py = bounds.min.y as i64 + i64::from(gy);
                if px < 0 || py < 0 || px >= i64::from(img.width()) || py >= i64::from(img.height())
                {
                    return;
                }
                let p = img.get_pixel_mut(px as u32, py as u32);
                let a = coverage.clamp(0.0, 1.0);
                for (channel, ink) in p.0.iter_mut().zip(colour) {
                    *channel = (f32::from(*channel) * (1.0 - a) + f32::from(ink) * a).round() as u8;
                }
            });
        }
    }
}

/// Draws the card's back and returns it as PNG bytes, using the font at `font_path`.
pub fn render_with(face: &CardFace, font_path: &Path) -> Result<Vec<u8>, FaceError> {
    render_with_font(face, &load_cjk_font(font_path)?)
}

/// Draws the card's back with `font` (checked to have Chinese glyphs).
pub fn render_with_font(face: &CardFace, font: &FontVec) -> Result<Vec<u8>, FaceError> {
    let mut img = RgbImage::from_fn(WIDTH, HEIGHT, |_, y| {
        // A pale blue-to-white wash, as the printed cards have.
        let t = y as f32 / HEIGHT as f32;
        Rgb([(222.0 + 30.0 * t) as u8, (236.0 + 16.0 * t) as u8, 250])
    });
    let navy = [20, 45, 110];
    let ink = [30, 30, 30];
    // Header band.
    for y in 0..96 {
        for x in 0..WIDTH {
            img.put_pixel(x, y, Rgb([26, 82, 160]));
        }
    }
    draw_text(
        &mut img,
        font,
        46.0,
        40.0,
        64.0,
        face.issuer.header(),
        [255, 255, 255],
    );
    draw_text(
        &mut img,
        font,
        30.0,
        700.0,
        62.0,
        &face.bank,
        [255, 255, 255],
    );
    // Photo (or a placeholder frame saying there is none).
    let (px, py, pw, ph) = (48u32, 140u32, 260u32, 320u32);
    if let Some(Ok(photo)) = face.photo.as_deref().map(crate::decode) {
        let scaled = crate::resample::resize_rgb(&photo, pw, ph);
        image::imageops::replace(&mut img, &scaled, i64::from(px), i64::from(py));
    } else {
        for y in py..py + ph {
            for x in px..px + pw {
                let edge = x < px + 3 || x >= px + pw - 3 || y < py + 3 || y >= py + ph - 3;
                img.put_pixel(
                    x,
                    y,
                    if edge {
                        Rgb([150, 160, 180])
                    } else {
                        Rgb([245, 245, 245])
                    },
                );
            }
        }
        draw_text(
            &mut img,
            font,
            30.0,
            px as f32 + 70.0,
            py as f32 + 170.0,
            "无照片",
            [150, 160, 180],
        );
    }
    let lines = [
        ("姓名", face.name.as_str()),
        ("社会保障号码", face.ssn.as_str()),
        ("社会保障卡卡号", face.card_number.as_str()),
        ("发卡日期", face.issue_date.as_str()),
    ];
    for (i, (label, value)) in lines.iter().enumerate() {
        let y = 190.0 + i as f32 * 82.0;
        draw_text(&mut img, font, 30.0, 350.0, y, label, navy);
        draw_text(&mut img, font, 40.0, 350.0, y + 44.0, value, ink);
    }
    draw_text(
        &mut img,
        font,
        24.0,
        48.0,
        600.0,
        "中华人民共和国社会保障卡",
        navy,
    );
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), WIDTH, HEIGHT, image::ExtendedColorType::Rgb8)
        .expect("encoding a PNG to memory cannot fail");
    Ok(out)
}

use image::ImageEncoder as _;

/// Draws the card's back with [`find_cjk_font`]'s font.
pub fn render(face: &CardFace) -> Result<Vec<u8>, FaceError> {
    render_with_font(face, &find_cjk_font().load()?.1)
}
