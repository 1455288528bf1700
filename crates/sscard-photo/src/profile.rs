//! Photo profiles: the output a province asks for, and where the head sits in it.

use serde::{Deserialize, Serialize};

/// What a normalised photo must look like. The Jiangsu profile is the default; other provinces
/// differ mainly in the size window, so profiles are plain data that a configuration file can
/// carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Short name used on the command line (`--profile jiangsu`).
    pub name: String,
    /// Output width in pixels (358 for the national ID-photo format).
    pub width: u32,
    /// Output height in pixels (441).
    pub height: u32,
    /// Resolution written into the JFIF header, dots per inch (350).
    pub dpi: u16,
    /// Smallest accepted file, bytes (Jiangsu: 15 KB).
    pub min_bytes: usize,
    /// Largest accepted file, bytes (Jiangsu: 100 KB).
    pub max_bytes: usize,
    /// Quality tried first; the search moves away from it only when the file is outside the window.
    pub start_quality: u8,
    /// Lowest quality the search may use before giving up.
    pub min_quality: u8,
    /// The detector's face box width as a share of the output width. The box spans roughly
    /// cheek to cheek, so 0.52 of 358 px (186 px) gives a head about 220 px wide, inside the
    /// 207–236 px the ID-photo format asks for.
    pub face_width: f32,
    /// Vertical position of the face box centre as a share of the output height (from the top).
    pub face_centre_y: f32,
    /// Chip photo (EF08) width and height in pixels.
    pub chip_width: u32,
    /// Chip photo height.
    pub chip_height: u32,
    /// Largest chip photo, bytes (EF08 holds 4,096).
    pub chip_max_bytes: usize,
    /// Share of background sample pixels that must be near white, percent.
    pub min_white_percent: u8,
    /// Mean face brightness (0–255) below which a photo is too dark.
    pub min_face_luma: u8,
    /// Mean face brightness above which a photo is too bright (washed out).
    pub max_face_luma: u8,
    /// Smallest face, as detected in the source, in pixels: the card's face box is 143 px
    /// (40 % of 358), so a smaller face would be enlarged more than 1.6 times and come out
    /// blurred (`photo.resolution_too_low`).
    pub min_face_px: u32,
}

impl Profile {
    /// Jiangsu: 358×441 px, 350 dpi, 24-bit colour JPEG of 15–100 KB on a pure white background.
    pub fn jiangsu() -> Profile {
        Profile {
            name: "jiangsu".into(),
            width: 358,
            height: 441,
            dpi: 350,
            min_bytes: 15 * 1024,
            max_bytes: 100 * 1024,
            start_quality: 90,
            min_quality: 30,
            face_width: 0.40,
            face_centre_y: 0.47,
            chip_width: 102,
            chip_height: 126,
            chip_max_bytes: 4096,
            min_white_percent: 85,
            min_face_luma: 70,
            max_face_luma: 230,
            min_face_px: 90,
        }
    }

    /// Same geometry with a tighter 10–40 KB window: an example of a configured profile for a
    /// receiving system that limits file size.
    pub fn compact() -> Profile {
        Profile {
            name: "compact".into(),
            min_bytes: 10 * 1024,
            max_bytes: 40 * 1024,
            start_quality: 85,
            ..Profile::jiangsu()
        }
    }

    /// The built-in profiles.
    pub fn builtin() -> Vec<Profile> {
        vec![Profile::jiangsu(), Profile::compact()]
    }

    /// A built-in profile by name.
    pub fn by_name(name: &str) -> Option<Profile> {
        Profile::builtin().into_iter().find(|p| p.name == name)
    }
}

impl Default for Profile {
    fn default() -> Profile {
        Profile::jiangsu()
    }
}
