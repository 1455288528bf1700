//! The printed documents: the PDF's Chinese text can be extracted (`pdftotext`), its font is
//! embedded (`pdffonts`), a page renders to an image (`pdftoppm`); the workbook holds the list;
//! the chart draws its bars. Without poppler-utils or a CJK font the PDF checks skip with a
//! reason — except in CI (`CI=true`), where they fail.

use std::io::Read as _;
use std::process::Command;

use chrono::{TimeZone, Utc};
use sscard_print::{PrintFont, hourly_chart_png, plan_pdf, plan_xlsx};
use sscard_store::{DistributionPlan, DistributionPoint, PickupFigures, PlanBox, PlanEntry};

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn font() -> PrintFont {
    PrintFont::find().expect("the machine's CJK font or the bundled one")
}

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("-v").output().is_ok();
    if !found {
        assert!(
            !in_ci(),
            "CI=true but {name} is missing (apt-get install poppler-utils)"
        );
        eprintln!("skipping {name} checks: not installed (apt-get install poppler-utils)");
    }
    found
}

const NAMES: [&str; 6] = ["丁一", "王小明", "欧阳娜娜", "李四", "陈八", "张三"];

fn plan(cards: usize, box_size: usize) -> DistributionPlan {
    let entries: Vec<PlanEntry> = (0..cards)
        .map(|i| PlanEntry {
            position: i as u32 + 1,
            workshop: if i < cards / 2 {
                "注塑车间"
            } else {
                "总装车间"
            }
            .into(),
            department: "质检部".into(),
            name: NAMES[i % NAMES.len()].into(),
            id_masked: "3212************12".into(),
            card_number: format!("T{:08}", i + 1),
            r#box: (i / box_size) as u32 + 1,
            slot: (i % box_size) as u32 + 1,
            handed_over: i == 0,
        })
        .collect();
    let boxes = entries
        .chunks(box_size)
        .enumerate()
        .map(|(i, c)| PlanBox {
            number: i as u32 + 1,
            cards: c.len() as u32,
            label: format!(
                "第 {} 箱 · {} 质检部 {}—{} 质检部 {} · {} 张",
                i + 1,
                c[0].workshop,
                &c[0].name[..3],
                c[c.len() - 1].workshop,
                &c[c.len() - 1].name[..3],
                c.len()
            ),
        })
        .collect();
    DistributionPlan {
        batch: 7,
        employer: "泰州示例电子有限公司".into(),
        point: DistributionPoint {
            id: "TZ-KS-ONSITE".into(),
            name: "可胜电子厂区现场发卡点".into(),
            name_en: "On-site pickup point at the factory".into(),
            kind: "employer_site".into(),
            employer: Some("泰州示例电子有限公司".into()),
            employer_code: None,
            opening_days: vec![],
        },
        box_size: box_size as u32,
        created_at: Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap(),
        entries,
        boxes,
    }
}

#[test]
fn pdf_text_is_extractable_font_embedded_and_pages_render() {
    plan_pdf_reads_as_text(&font());
}

/// The font sscard ships, with no system font in play: the list's Chinese text is there.
#[test]
fn the_bundled_font_prints_the_list() {
    let font = PrintFont::bundled().unwrap();
    assert_eq!(font.source(), &sscard_photo::card_face::FontSource::Bundled);
    plan_pdf_reads_as_text(&font);
}

fn plan_pdf_reads_as_text(font: &PrintFont) {
    let plan = plan(95, 40);
    let pdf = plan_pdf(&plan, font).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.pdf");
    if let Ok(keep) = std::env::var("SSCARD_KEEP_PDF") {
        std::fs::write(keep, &pdf).unwrap();
    }
    std::fs::write(&path, &pdf).unwrap();
    if !tool("pdftotext") {
        return;
    }
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "社会保障卡发放清单",
        "可胜电子厂区现场发卡点",
        "欧阳娜娜",
        "注塑车间",
        "领取人签名",
        "T00000095",
        "第 3 箱",
        "起：注塑车间 质检部 丁",
        "已领取",
    ] {
        assert!(
            text.contains(needle),
            "{needle} not in the extracted text:\n{text}"
        );
    }
    // Three boxes of 40, 40 and 15: list pages (40 rows fit one page) and two label pages.
    let pages = text.matches('\u{c}').count();
    assert_eq!(pages, 3 + 2, "{pages} pages");
    // The font is embedded (as a subset), not referenced.
    let fonts = Command::new("pdffonts").arg(&path).output().unwrap();
    let fonts = String::from_utf8_lossy(&fonts.stdout);
    let line = fonts.lines().nth(2).expect("a font line");
    assert!(line.contains("yes yes yes"), "emb/sub/uni: {fonts}");
    // A page renders to an image with ink on it.
    let png = dir.path().join("page");
    let ok = Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&path)
        .arg(&png)
        .status()
        .unwrap();
    assert!(ok.success());
    let img = image::open(dir.path().join("page.png")).unwrap().to_luma8();
    assert_eq!(img.width(), (595.0_f32 * 60.0 / 72.0).round() as u32);
    let dark = img.pixels().filter(|p| p.0[0] < 100).count();
    assert!(dark > 2_000, "{dark} dark pixels");
}

#[test]
fn workbook_holds_the_list_in_order() {
    let plan = plan(30, 20);
    let xlsx = plan_xlsx(&plan).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut strings = String::new();
    zip.by_name("xl/sharedStrings.xml")
        .unwrap()
        .read_to_string(&mut strings)
        .unwrap();
    for needle in ["批次 7", "欧阳娜娜", "T00000030", "第 2 箱"] {
        assert!(strings.contains(needle), "{needle}");
    }
    let mut book = String::new();
    zip.by_name("xl/workbook.xml")
        .unwrap()
        .read_to_string(&mut book)
        .unwrap();
    assert!(
        book.contains("发放清单") && book.contains("箱标签"),
        "{book}"
    );
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet)
        .unwrap();
    // Title, header and 30 rows.
    assert_eq!(sheet.matches("<row ").count(), 32);
}

#[test]
fn chart_draws_a_bar_per_busy_hour() {
    let font = font();
    let mut per_hour: Vec<(u32, u32)> = (0..24).map(|h| (h, 0)).collect();
    per_hour[9].1 = 120;
    per_hour[10].1 = 60;
    let f = PickupFigures {
        point: "TZ-KS-ONSITE".into(),
        point_name: "可胜电子厂区现场发卡点".into(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        open: true,
        handed_over_today: 180,
        per_hour,
        last_hour: 60,
        remaining: 4820,
        missing: 0,
        avg_handling_seconds: Some(25.0),
        active_desks: 4,
        queue: Some(30),
        queue_at: None,
        estimated_wait_minutes: Some(3.1),
    };
    let png = hourly_chart_png(&f, &font);
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(
        (img.width(), img.height()),
        (sscard_print::CHART_WIDTH, sscard_print::CHART_HEIGHT)
    );
    let blue = |x0: u32, x1: u32| {
        (x0..x1)
            .flat_map(|x| (0..img.height()).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0 == [38, 99, 178])
            .count()
    };
    // 08–18 shown: eleven slots; the 09 bar is twice the height of the 10 bar, 08 has none.
    let slot = (sscard_print::CHART_WIDTH - 56 - 20) / 11;
    let at = |i: u32| blue(56 + slot * i, 56 + slot * (i + 1));
    assert_eq!(at(0), 0);
    let (nine, ten) = (at(1), at(2));
    assert!(
        nine > 0 && (nine as f64 / ten as f64 - 2.0).abs() < 0.1,
        "{nine} {ten}"
    );
}

fn clearing() -> sscard_store::fsi::Clearing {
    use sscard_core::money::Money;
    use sscard_store::fsi::{CityPosition, Clearing, ClearingEntry};
    let m = |s: &str| Money::parse(s).unwrap();
    let entry = |i: &str, t: &str, n, f: &str, a: &str| ClearingEntry {
        insured_region: i.into(),
        treatment_region: t.into(),
        settlements: n,
        fund_pay_sumamt: m(f),
        acct_pay: m(a),
    };
    Clearing {
        month: "2026-11".into(),
        entries: vec![
            entry("320100", "321200", 6, "307.95", "888.94"),
            entry("321200", "320100", 1, "2122.50", "729.65"),
        ],
        positions: vec![
            CityPosition {
                region: "320100".into(),
                owed: m("2852.15"),
                owes: m("1196.89"),
                net: m("1655.26"),
            },
            CityPosition {
                region: "321200".into(),
                owed: m("1196.89"),
                owes: m("2852.15"),
                net: m("-1655.26"),
            },
        ],
    }
}

#[test]
fn a_city_clearing_statement_reads_as_text_and_as_a_workbook() {
    let c = clearing();
    let xlsx = sscard_print::clearing_statement_xlsx(&c, "321200").unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut strings = String::new();
    zip.by_name("xl/sharedStrings.xml")
        .unwrap()
        .read_to_string(&mut strings)
        .unwrap();
    for needle in [
        "泰州市 Taizhou",
        "南京市 Nanjing",
        "2122.50",
        "1196.89",
        "-1655.26",
    ] {
        assert!(strings.contains(needle), "{needle} not in the workbook");
    }
    let font = font();
    let pdf = sscard_print::clearing_statement_pdf(&c, "321200", &font).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clearing.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if !tool("pdftotext") {
        return;
    }
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "泰州市 Taizhou 2026-11 异地就医清算对账单",
        "南京市 Nanjing",
        "2122.50",
        "2852.15",
        "1196.89",
        "-1655.26",
    ] {
        assert!(text.contains(needle), "{needle} not in:\n{text}");
    }
}
