//! The card's back as a PNG with Chinese text drawn by a real font.

use sscard_photo::card_face::{self, CardFace, FaceError, Issuer};
use sscard_photo::synth::{Source, Variation};
use sscard_photo::{Options, Profile, normalize};

/// The machine's CJK font, else the bundled one, as a file `render_with` can read.
fn font_file() -> std::path::PathBuf {
    match card_face::find_cjk_font() {
        card_face::FontSource::File(path) => path,
        card_face::FontSource::Bundled => {
            let path = std::env::temp_dir().join(format!("sscard-cjk-{}.ttf", std::process::id()));
            std::fs::write(&path, card_face::BUNDLED_FONT).unwrap();
            path
        }
    }
}

fn face(issuer: Issuer, photo: Option<Vec<u8>>) -> CardFace {
    CardFace {
        issuer,
        name: "王小明".into(),
        ssn: "321202199003071235".into(),
        card_number: "T0000001X".into(),
        issue_date: "2026年11月".into(),
        bank: "中国建设银行".into(),
        photo,
    }
}

/// Pixels in a rectangle that differ clearly from `background`.
fn inked(
    img: &image::RgbImage,
    (x0, y0, x1, y1): (u32, u32, u32, u32),
    background: [u8; 3],
) -> usize {
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.get_pixel(x, y).0;
            if p.iter()
                .zip(background)
                .map(|(a, b)| (i32::from(*a) - i32::from(b)).abs())
                .sum::<i32>()
                > 120
            {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn provincial_and_city_faces() {
    let font = font_file();
    let photo = normalize(
        &Variation::badge(Source::GraceHopper).jpeg(),
        &Profile::jiangsu(),
        Options::default(),
    )
    .unwrap()
    .jpeg;
    let png = card_face::render_with(&face(Issuer::JiangsuProvince, Some(photo)), &font).unwrap();
    if let Ok(dir) = std::env::var("SSCARD_TEST_ARTIFACTS") {
        std::fs::write(std::path::Path::new(&dir).join("card-face.png"), &png).unwrap();
    }
    let img = image::load_from_memory(&png).unwrap().into_rgb8();
    assert_eq!(img.dimensions(), (card_face::WIDTH, card_face::HEIGHT));
    // The header's white text is drawn on the blue band; the photo area is not blank.
    assert!(
        inked(&img, (40, 10, 680, 90), [26, 82, 160]) > 2000,
        "issuer header drawn"
    );
    assert!(
        inked(&img, (48, 140, 308, 460), [245, 245, 245]) > 10_000,
        "photo drawn"
    );
    // Two issuers, two different headers.
    let city = card_face::render_with(&face(Issuer::TaizhouCity, None), &font).unwrap();
    let city = image::load_from_memory(&city).unwrap().into_rgb8();
    let header = |i: &image::RgbImage| {
        (0..96)
            .flat_map(|y| (0..680).map(move |x| (x, y)))
            .map(|(x, y)| i.get_pixel(x, y).0)
            .collect::<Vec<_>>()
    };
    assert_ne!(header(&img), header(&city));
    assert_eq!(Issuer::TaizhouCity.header(), "泰州市劳动和社会保障局");
}

#[test]
fn a_font_without_chinese_is_refused() {
    let latin = std::path::Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    if !latin.exists() {
        eprintln!("skipping: no DejaVu font to test with");
        return;
    }
    assert_eq!(
        card_face::render_with(&face(Issuer::JiangsuProvince, None), latin).unwrap_err(),
        FaceError::NoCjkFont
    );
    assert!(matches!(
        card_face::render_with(
            &face(Issuer::JiangsuProvince, None),
            std::path::Path::new("/nonexistent.ttf")
        ),
        Err(FaceError::BadFont { .. })
    ));
}

/// The font sscard ships draws every character of a card face, rare name characters included.
#[test]
fn the_bundled_font_draws_a_face() {
    let (_, font) = card_face::FontSource::Bundled.load().unwrap();
    for c in "欧阳娜娜王小明张三李四喆堃昇中华人民共和国社会保障卡江苏省泰州市中国建设银行".chars()
    {
        use ab_glyph::Font as _;
        assert_ne!(font.glyph_id(c).0, 0, "{c} is in the bundled font");
    }
    let png = card_face::render_with_font(&face(Issuer::JiangsuProvince, None), &font).unwrap();
    let img = image::load_from_memory(&png).unwrap().into_rgb8();
    assert!(
        inked(&img, (40, 10, 680, 90), [26, 82, 160]) > 2000,
        "issuer header drawn"
    );
    assert!(
        inked(&img, (340, 100, 1000, 600), [235, 244, 250]) > 5000,
        "name and numbers drawn"
    );
}
