//! Photo normalisation on real faces (the two public-domain photos in `testdata/`) and on
//! synthetic variations of them.

use image::{ImageEncoder, RgbImage};
use sha2::{Digest, Sha256};
use sscard_ids::Bilingual;
use sscard_photo::synth::{self, BLUE, Source, Variation};
use sscard_photo::{Options, Profile, Rejection, decode, jfif_density, normalize, normalize_all};

fn jiangsu() -> Profile {
    Profile::jiangsu()
}

fn check_output(n: &sscard_photo::Normalized, profile: &Profile) {
    let card = decode(&n.jpeg).expect("output decodes");
    assert_eq!(card.dimensions(), (358, 441));
    assert_eq!(
        jfif_density(&n.jpeg),
        Some((1, 350, 350)),
        "350 dpi in the JFIF header"
    );
    assert!(
        (profile.min_bytes..=profile.max_bytes).contains(&n.jpeg.len()),
        "{} bytes outside {}..={}",
        n.jpeg.len(),
        profile.min_bytes,
        profile.max_bytes
    );
    assert!(
        n.chip_jpeg.len() <= 4096,
        "chip photo {} bytes",
        n.chip_jpeg.len()
    );
    assert_eq!(
        decode(&n.chip_jpeg)
            .expect("chip photo decodes")
            .dimensions(),
        (102, 126)
    );
}

#[test]
fn provenance_hashes_match() {
    let expect = [
        (
            Source::Astronaut,
            "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
        ),
        (
            Source::GraceHopper,
            "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
        ),
    ];
    for (source, hash) in expect {
        let got = Sha256::digest(source.bytes());
        assert_eq!(
            hex::encode(got),
            hash,
            "{source:?} differs from the file recorded in testdata/PROVENANCE.md"
        );
    }
}

#[test]
fn the_real_photos_have_faces_but_not_white_backgrounds() {
    for source in Source::ALL {
        let face = source.face();
        assert!(face.width > 80.0, "{source:?}: {face:?}");
        let err = normalize(source.bytes(), &jiangsu(), Options::default()).unwrap_err();
        assert!(
            matches!(
                err,
                Rejection::BackgroundNotWhite { .. } | Rejection::FaceCutOff { .. }
            ),
            "{source:?} as shot: {err:?}"
        );
    }
}

#[test]
fn each_real_face_on_white_is_accepted() {
    for source in Source::ALL {
        let n = normalize(
            &Variation::badge(source).jpeg(),
            &jiangsu(),
            Options::default(),
        )
        .unwrap_or_else(|e| panic!("{source:?}: {e:?}"));
        check_output(&n, &jiangsu());
        let face = n.face.expect("face recorded");
        assert!(face.width > 100.0);
    }
}

#[test]
fn a_corpus_of_variations_all_lands_in_the_window() {
    let corpus = synth::corpus(24);
    let results = normalize_all(&corpus, &jiangsu(), Options::default());
    for (i, r) in results.iter().enumerate() {
        let n = r.as_ref().unwrap_or_else(|e| {
            panic!("corpus photo {i} ({:?}): {e:?}", synth::corpus_variation(i))
        });
        check_output(n, &jiangsu());
    }
    // Parallel results are the sequential ones, in input order.
    let one = normalize(&corpus[5], &jiangsu(), Options::default()).unwrap();
    assert_eq!(one.jpeg, results[5].as_ref().unwrap().jpeg);
}

#[test]
fn another_profile_has_another_window() {
    let compact = Profile::by_name("compact").unwrap();
    for jpeg in synth::corpus(4) {
        let n = normalize(&jpeg, &compact, Options::default()).unwrap();
        check_output(&n, &compact);
        assert!(n.jpeg.len() <= 40 * 1024);
    }
    assert!(Profile::by_name("atlantis").is_none());
}

#[test]
fn exif_orientation_is_applied() {
    let upright = Variation::badge(Source::GraceHopper).render();
    // A camera that stored the picture turned a quarter to the left, with orientation 6
    // ("rotate 90° clockwise to display").
    let stored = image::imageops::rotate270(&upright);
    let plain = sscard_photo::encode_jpeg(&stored, 92, 72);
    assert_eq!(
        normalize(&plain, &jiangsu(), Options::default()).unwrap_err(),
        Rejection::NoFace,
        "a sideways face is not found"
    );
    let tagged = synth::with_exif_orientation(&plain, 6);
    let n = normalize(&tagged, &jiangsu(), Options::default()).expect("turned upright by EXIF");
    check_output(&n, &jiangsu());
}

#[test]
fn no_face() {
    let mut blank = RgbImage::from_pixel(400, 500, image::Rgb(synth::WHITE));
    for y in 300..500 {
        for x in 100..300 {
            blank.put_pixel(x, y, image::Rgb([30, 40, 90]));
        }
    }
    let err = normalize(
        &sscard_photo::encode_jpeg(&blank, 90, 72),
        &jiangsu(),
        Options::default(),
    )
    .unwrap_err();
    assert_eq!(err, Rejection::NoFace);
    assert_eq!(err.code(), "photo.no_face");
}

#[test]
fn two_faces() {
    let v = Variation {
        width: 800,
        height: 600,
        face_width: 0.2,
        centre_x: 0.28,
        centre_y: 0.45,
        second_head: Some((0.72, 0.45)),
        ..Variation::badge(Source::Astronaut)
    };
    let err = normalize(&v.jpeg(), &jiangsu(), Options::default()).unwrap_err();
    assert_eq!(err, Rejection::SeveralFaces { count: 2 });
}

#[test]
fn too_dark_and_too_bright() {
    let dark = Variation {
        exposure: 0.3,
        ..Variation::badge(Source::Astronaut)
    };
    assert!(matches!(
        normalize(&dark.jpeg(), &jiangsu(), Options::default()),
        Err(Rejection::TooDark { .. })
    ));
    let bright = Variation {
        exposure: 3.0,
        ..Variation::badge(Source::Astronaut)
    };
    let err = normalize(&bright.jpeg(), &jiangsu(), Options::default()).unwrap_err();
    assert!(
        matches!(err, Rejection::TooBright { .. } | Rejection::NoFace),
        "{err:?}"
    );
}

#[test]
fn coloured_background() {
    for source in Source::ALL {
        let blue = Variation {
            background: BLUE,
            ..Variation::badge(source)
        };
        let err = normalize(&blue.jpeg(), &jiangsu(), Options::default()).unwrap_err();
        assert!(
            matches!(err, Rejection::BackgroundNotWhite { white_percent } if white_percent < 20),
            "{source:?}: {err:?}"
        );
        assert!(err.zh().contains("白色"));
        assert!(err.en().contains("white"));
    }
}

#[test]
fn too_few_pixels_is_resolution_too_low() {
    let small = Variation {
        width: 180,
        height: 225,
        ..Variation::badge(Source::GraceHopper)
    };
    let err = normalize(&small.jpeg(), &jiangsu(), Options::default()).unwrap_err();
    let Rejection::ResolutionTooLow { width, min: 90 } = err else {
        panic!("{err:?}");
    };
    assert!(width < 90);
    assert_eq!(err.code(), "photo.resolution_too_low");
    assert!(err.zh().contains(&format!("{width} 像素")), "{}", err.zh());
    assert!(err.en().contains("90 px"), "{}", err.en());
}

/// Badge photos as badge systems crop them: the head a few pixels below the top edge, the chin
/// near the bottom, both shoulders partly in. All are accepted, the background extended.
#[test]
fn tight_crops_are_accepted() {
    let cases = [
        // 1-inch, 2-inch and a scanner's size; the head 2–10 px below the top edge.
        (295, 413, 2.0, 0.62),
        (295, 413, 10.0, 0.70),
        (413, 579, 4.0, 0.66),
        (413, 579, 8.0, 0.60),
        // The chin near the bottom edge.
        (413, 579, 6.0, 0.96),
        (295, 413, 3.0, 0.95),
        // The head filling 80 % of the height.
        (600, 800, 5.0, 0.80),
        (600, 800, 2.0, 0.80),
        (517, 703, 7.0, 0.72),
    ];
    for source in Source::ALL {
        for (w, h, top, share) in cases {
            let v = Variation::tight_crop(source, w, h, top, share);
            let (head_top, chin, left, right) = v.head_box();
            assert!(
                (top - 0.5..top + 0.5).contains(&head_top)
                    && chin < h as f32
                    && left > 0.0
                    && right < w as f32,
                "the test crop itself keeps the head in: {v:?}"
            );
            let n = normalize(&v.jpeg(), &jiangsu(), Options::default()).unwrap_or_else(|e| {
                panic!("{source:?} {w}x{h}, head {top} px from the top, {share} of the height: {e:?} ({})", e.en())
            });
            check_output(&n, &jiangsu());
        }
    }
}

/// Crops that really cut the head are refused, naming the edge that cuts it.
#[test]
fn crops_that_cut_the_head_name_the_edge() {
    use sscard_photo::Edge;
    for source in Source::ALL {
        let cases = [
            // The hair cut by the top edge (Grace Hopper's cut-out ends lower than the ellipse:
            // her photo's own top edge crosses it, so her crop must start higher to cut).
            (
                Variation::tight_crop(source, 413, 579, -60.0, 0.66),
                Edge::Top,
            ),
            (
                Variation::tight_crop(source, 295, 413, -45.0, 0.62),
                Edge::Top,
            ),
            // The chin cut by the bottom edge (a crop wide enough that the cheeks stay inside:
            // at 413 px the head would touch the sides too).
            (
                Variation::tight_crop(source, 500, 579, 30.0, 1.03),
                Edge::Bottom,
            ),
            // One side of the head cut.
            (
                Variation {
                    centre_x: 0.22,
                    ..Variation::tight_crop(source, 413, 579, 8.0, 0.62)
                },
                Edge::Left,
            ),
            (
                Variation {
                    centre_x: 0.78,
                    ..Variation::tight_crop(source, 413, 579, 8.0, 0.62)
                },
                Edge::Right,
            ),
        ];
        for (v, edge) in cases {
            if edge == Edge::Top {
                let img = v.render();
                let w = img.width();
                let hair = (w / 3..2 * w / 3)
                    .filter(|x| img.get_pixel(*x, 0).0.iter().any(|c| *c < 180))
                    .count();
                assert!(hair > 10, "the test crop really cuts the head: {v:?}");
            }
            let err = normalize(&v.jpeg(), &jiangsu(), Options::default())
                .map(|n| n.face)
                .expect_err(&format!("{source:?} {v:?} must be cut at the {edge:?}"));
            assert_eq!(
                err,
                Rejection::FaceCutOff { edge },
                "{source:?} {v:?}: {}",
                err.en()
            );
            assert_eq!(err.code(), "photo.face_cut_off");
            assert!(err.zh().contains(edge.zh()), "{}", err.zh());
            assert!(err.en().contains(edge.en()), "{}", err.en());
        }
    }
}

/// A tight crop on a background that is not white is not extended: it is refused for the
/// background, not passed with a smeared border.
#[test]
fn a_tight_crop_on_colour_is_not_extended() {
    for source in Source::ALL {
        let v = Variation {
            background: BLUE,
            ..Variation::tight_crop(source, 413, 579, 6.0, 0.66)
        };
        let err = normalize(&v.jpeg(), &jiangsu(), Options::default()).unwrap_err();
        assert!(
            matches!(err, Rejection::BackgroundNotWhite { .. }),
            "{source:?}: {err:?}"
        );
    }
}

#[test]
fn broken_files() {
    let p = jiangsu();
    assert_eq!(
        normalize(b"", &p, Options::default()).unwrap_err(),
        Rejection::Empty
    );
    assert_eq!(
        normalize(b"GIF89a\x01\x00\x01\x00", &p, Options::default()).unwrap_err(),
        Rejection::Unsupported
    );
    assert_eq!(
        normalize(b"hello, not a photo", &p, Options::default()).unwrap_err(),
        Rejection::Unsupported
    );
    let mut jpeg = Variation::badge(Source::Astronaut).jpeg();
    // Keep SOI and the first marker, destroy the rest.
    for b in &mut jpeg[20..200] {
        *b = 0xFF;
    }
    assert!(matches!(
        normalize(&jpeg, &p, Options::default()),
        Err(Rejection::Corrupt { .. })
    ));
    let huge = vec![0u8; sscard_photo::MAX_INPUT_BYTES + 1];
    assert!(matches!(
        normalize(&huge, &p, Options::default()),
        Err(Rejection::FileTooLarge { .. })
    ));
    // A PNG header claiming 9000×9000 pixels is refused before anything is allocated.
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&[0u8; 3], 1, 1, image::ExtendedColorType::Rgb8)
        .unwrap();
    png[16..20].copy_from_slice(&9000u32.to_be_bytes());
    png[20..24].copy_from_slice(&9000u32.to_be_bytes());
    let err = normalize(&png, &p, Options::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Rejection::TooManyPixels { .. } | Rejection::Corrupt { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn without_the_face_check_the_photo_is_centre_cropped() {
    let jpeg = Variation {
        background: BLUE,
        ..Variation::badge(Source::Astronaut)
    }
    .jpeg();
    let n = normalize(&jpeg, &jiangsu(), Options { face_check: false }).unwrap();
    assert!(n.face.is_none());
    check_output(&n, &jiangsu());
}

#[test]
fn every_rejection_has_a_code_and_two_languages() {
    let all = [
        Rejection::Empty,
        Rejection::FileTooLarge { bytes: 30 << 20 },
        Rejection::Unsupported,
        Rejection::Corrupt { detail: "x".into() },
        Rejection::TooManyPixels {
            width: 9000,
            height: 9000,
        },
        Rejection::NoFace,
        Rejection::SeveralFaces { count: 2 },
        Rejection::ResolutionTooLow { width: 50, min: 90 },
        Rejection::FaceCutOff {
            edge: sscard_photo::Edge::Top,
        },
        Rejection::TooDark { mean: 30 },
        Rejection::TooBright { mean: 250 },
        Rejection::BackgroundNotWhite { white_percent: 10 },
        Rejection::SizeWindow {
            bytes: 1,
            min: 2,
            max: 3,
        },
    ];
    let mut codes: Vec<_> = all.iter().map(Bilingual::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), all.len());
    for r in &all {
        assert!(r.code().starts_with("photo."));
        assert!(!r.zh().is_ascii(), "{r:?}");
        assert!(r.en().is_ascii(), "{r:?}");
    }
}

/// A tight crop scanned large (2400×3360): accepted like its small version, the face search and
/// the extension working on a shrunk copy.
#[test]
fn a_large_tight_crop_is_accepted() {
    let v = Variation::tight_crop(Source::GraceHopper, 2400, 3360, 30.0, 0.66);
    let jpeg = v.jpeg();
    let n = normalize(&jpeg, &jiangsu(), Options::default()).unwrap_or_else(|e| panic!("{e:?}"));
    check_output(&n, &jiangsu());
}
