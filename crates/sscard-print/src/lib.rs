//! Printed documents of sscard.
//!
//! - [`plan_pdf`]: a distribution plan as a printable PDF — the pickup list, one box per
//!   section, with a signature column, followed by the box labels. Text is real text in a CJK
//!   font embedded as a subset with its Unicode map, so it can be searched, copied and
//!   extracted (`pdftotext`), never drawn outlines.
//! - [`plan_xlsx`]: the same list as a workbook.
//! - [`contact_sheet_pdf`]: a batch's photos for review before production, refused ones with
//!   their reason.
//! - [`clearing_statement_pdf`], [`clearing_statement_xlsx`]: a city's statement of the month's
//!   cross-region clearing.
//! - [`bars_png`], [`columns_png`]: the console dashboards' stacked bars and columns.
//! - [`hourly_chart_png`]: a pickup point's hand-overs per hour, drawn here (server side) with
//!   Chinese labels.
//!
//! Fonts come from [`sscard_photo::card_face::find_cjk_font`]: `SSCARD_FONT`, else Debian's
//! `fonts-wqy-microhei` and the like, else the subset sscard ships.

mod chart;
mod clearing;
mod dashboard_chart;
mod migration_chart;
mod pdf;
mod sheet;
mod xlsx;

pub use chart::{CHART_HEIGHT, CHART_WIDTH, hourly_chart_png};
pub use clearing::{city_label, clearing_statement_pdf, clearing_statement_xlsx};
pub use dashboard_chart::{Bars, PALETTE, bars_png, columns_png};
pub use migration_chart::{daily_chart_png, district_progress_png, forecast_chart_png};
pub use pdf::plan_pdf;
pub use sheet::{SheetHeader, contact_sheet_pdf};
pub use xlsx::plan_xlsx;

use std::path::Path;

use sscard_photo::card_face::{FaceError, FontSource, find_cjk_font};

/// Why a document could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintError {
    /// No usable CJK font.
    Font(FaceError),
    /// The PDF writer failed.
    Pdf(String),
    /// The workbook writer failed.
    Xlsx(String),
}

impl std::fmt::Display for PrintError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrintError::Font(e) => e.fmt(f),
            PrintError::Pdf(e) => write!(f, "PDF 生成失败（PDF could not be written）: {e}"),
            PrintError::Xlsx(e) => {
                write!(f, "工作簿生成失败（workbook could not be written）: {e}")
            }
        }
    }
}

impl std::error::Error for PrintError {}

/// The CJK font to print with: where it came from and its bytes, checked to have Chinese glyphs.
#[derive(Clone)]
pub struct PrintFont {
    source: FontSource,
    data: std::sync::Arc<Vec<u8>>,
    metrics: std::sync::Arc<ab_glyph::FontVec>,
}

impl std::fmt::Debug for PrintFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintFont")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl PrintFont {
    /// The CJK font: `SSCARD_FONT`, then the usual Debian fonts, then the bundled subset.
    pub fn find() -> Result<Self, PrintError> {
        Self::from_source(find_cjk_font())
    }

    /// The subset sscard ships.
    pub fn bundled() -> Result<Self, PrintError> {
        Self::from_source(FontSource::Bundled)
    }

    /// A font file (TrueType/OpenType, or the first font of a collection).
    pub fn load(path: &Path) -> Result<Self, PrintError> {
        Self::from_source(FontSource::File(path.to_owned()))
    }

    fn from_source(source: FontSource) -> Result<Self, PrintError> {
        let (data, metrics) = source.load().map_err(PrintError::Font)?;
        Ok(Self {
            source,
            data: std::sync::Arc::new(data),
            metrics: std::sync::Arc::new(metrics),
        })
    }

    /// Where the font came from.
    pub fn source(&self) -> &FontSource {
        &self.source
    }

    /// Width of `text` at `size` (in the size's units).
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        use ab_glyph::{Font as _, ScaleFont as _};
        let scaled = self.metrics.as_scaled(ab_glyph::PxScale::from(size));
        text.chars()
            .map(|c| scaled.h_advance(scaled.glyph_id(c)))
            .sum()
    }

    /// `text` cut (with an ellipsis) to fit `max` at `size`.
    pub(crate) fn fit(&self, text: &str, size: f32, max: f32) -> String {
        if self.width(text, size) <= max {
            return text.to_owned();
        }
        let mut out = String::new();
        for c in text.chars() {
            let mut next = out.clone();
            next.push(c);
            next.push('…');
            if self.width(&next, size) > max {
                break;
            }
            out.push(c);
        }
        out.push('…');
        out
    }
}

/// `2026-11-28 14:05` in China Standard Time.
pub(crate) fn china_time(t: chrono::DateTime<chrono::Utc>) -> String {
    (t + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
