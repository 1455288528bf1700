//! `sscard batch …` and `sscard photo normalize` as an operator runs them.

mod common;

use std::fmt::Write as _;
use std::io::Write;

use common::Cli;
use sscard_photo::synth::{BLUE, Source, Variation};

const EMPLOYER: &str = "91321200MA1MXK8P01";

fn id(n: u16) -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(1988, 5, 1).unwrap()
        + chrono::Duration::days(i64::from(n) * 53);
    sscard_ids::ResidentId::from_parts(sscard_ids::RegionCode::parse("321203").unwrap(), birth, n)
        .unwrap()
        .expose()
        .to_owned()
}

#[test]
fn template_import_list_show_errors() {
    let cli = Cli::new();
    let dir = cli.dir.path();
    let code = sscard_ids::CreditCode::from_body(&EMPLOYER[..17])
        .unwrap()
        .to_string();
    let (rc, _) = cli.json(&[
        "employer",
        "add",
        "--code",
        &code,
        "--name",
        "泰州示例制药有限公司",
    ]);
    assert_eq!(rc, 0);

    let template = dir.join("template.xlsx");
    let (rc, _) = cli.json(&["batch", "template", "--out", template.to_str().unwrap()]);
    assert_eq!(rc, 0);
    assert!(std::fs::read(&template).unwrap().starts_with(b"PK"));

    // A GBK CSV as Excel on Chinese Windows writes it, and a ZIP of photos.
    let text = format!(
        "姓名,身份证号码,合作银行,车间,部门\r\n张一,{},CCB,总装车间,一班\r\n李二,{},ABC,包装车间,二班\r\n王三,{},CCB,总装车间,一班\r\n",
        id(1),
        id(2),
        id(3)
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let list = dir.join("list.csv");
    std::fs::write(&list, &gbk).unwrap();
    let photos = dir.join("photos.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&photos).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for (n, jpeg) in [
            (1, Variation::badge(Source::Astronaut).jpeg()),
            (2, Variation::badge(Source::GraceHopper).jpeg()),
            (
                3,
                Variation {
                    background: BLUE,
                    ..Variation::badge(Source::GraceHopper)
                }
                .jpeg(),
            ),
        ] {
            w.start_file(format!("{}.jpg", id(n)), opts).unwrap();
            w.write_all(&jpeg).unwrap();
        }
        w.finish().unwrap();
    }
    let errors = dir.join("errors.xlsx");
    let (rc, out) = cli.json(&[
        "batch",
        "import",
        "--employer",
        &code,
        list.to_str().unwrap(),
        "--photos",
        photos.to_str().unwrap(),
        "--errors",
        errors.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(out["accepted"], 2, "{out}");
    assert_eq!(out["rejected"][0]["row"], 4);
    assert_eq!(out["rejected"][0]["column"], "照片");
    assert_eq!(out["rejected"][0]["code"], "photo.background_not_white");
    assert!(std::fs::read(&errors).unwrap().starts_with(b"PK"));
    let batch = out["batch_id"].as_i64().unwrap();

    let (rc, list_json) = cli.json(&["batch", "list"]);
    assert_eq!(rc, 0);
    assert_eq!(list_json[0]["id"], batch);
    assert_eq!(list_json[0]["employer"], code.as_str());
    assert_eq!(list_json[0]["status"], 10);
    assert_eq!(list_json[0]["rows"], 2);
    assert_eq!(list_json[0]["cards"], 0);
    let (rc, shown) = cli.json(&["batch", "show", &batch.to_string()]);
    assert_eq!(rc, 0);
    assert_eq!(shown["photos"], 2);
    let upload = out["upload_id"].as_str().unwrap();
    let again = dir.join("again.xlsx");
    let (rc, e) = cli.json(&["batch", "errors", upload, "--out", again.to_str().unwrap()]);
    assert_eq!(rc, 0);
    assert_eq!(e["problems"], 1);

    // A file with the wrong header is refused whole: exit 1, nothing imported.
    let wrong = dir.join("wrong.csv");
    std::fs::write(&wrong, "name,phone\n张三,138\n").unwrap();
    let (rc, err) = cli.json(&[
        "batch",
        "import",
        "--employer",
        &code,
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(rc, 1);
    assert_eq!(err["error"]["code"], "file.missing_columns");
    let (_, list_after) = cli.json(&["batch", "list"]);
    assert_eq!(list_after[0]["rows"], 2);
}

#[test]
fn photo_normalize_writes_card_and_chip_photos() {
    let cli = Cli::new();
    let dir = cli.dir.path();
    let good = dir.join("zhang.jpg");
    std::fs::write(&good, Variation::badge(Source::GraceHopper).jpeg()).unwrap();
    let blue = dir.join("li.jpg");
    std::fs::write(
        &blue,
        Variation {
            background: BLUE,
            ..Variation::badge(Source::Astronaut)
        }
        .jpeg(),
    )
    .unwrap();
    let out_dir = dir.join("out");
    let out = cli.run(&[
        "--json",
        "photo",
        "normalize",
        good.to_str().unwrap(),
        blue.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "one photo was refused");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ok"], true);
    let card = std::fs::read(out_dir.join("zhang.jpg")).unwrap();
    let chip = std::fs::read(out_dir.join("zhang.chip.jpg")).unwrap();
    assert_eq!(
        sscard_photo::decode(&card).unwrap().dimensions(),
        (358, 441)
    );
    assert!((15 * 1024..=100 * 1024).contains(&card.len()));
    assert!(chip.len() <= 4096);
    assert_eq!(lines[1]["ok"], false);
    assert_eq!(lines[1]["reason"], "photo.background_not_white");
    assert!(!out_dir.join("li.jpg").exists());
}

/// The whole story from the command line: upload with a bad row → error workbook → fixed
/// re-upload → banks (one failure, retried) → factory (one failure, retried) → personalised
/// card images that `sscard chip read` accepts → received at the on-site point.
#[test]
#[allow(clippy::too_many_lines)] // one story, told in order
fn upload_to_cards_from_the_command_line() {
    let cli = Cli::new();
    let dir = cli.dir.path().to_owned();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let code = sscard_ids::CreditCode::from_body(&EMPLOYER[..17])
        .unwrap()
        .to_string();
    assert_eq!(
        cli.json(&[
            "employer",
            "add",
            "--code",
            &code,
            "--name",
            "泰州示例制药有限公司"
        ])
        .0,
        0
    );
    assert_eq!(
        cli.json(&[
            "outlet",
            "add",
            "--code",
            "TZ-SITE-01",
            "--name",
            "示例制药厂区发卡点",
            "--region",
            "321203",
            "--employer",
            &code
        ])
        .0,
        0
    );
    // Four employees; row 3's ID number has a typo.
    let ids: Vec<String> = (1..=4).map(id).collect();
    let mut bad = ids.clone();
    bad[1] = format!("{}0", &ids[1][..17]);
    if bad[1] == ids[1] {
        bad[1] = format!("{}1", &ids[1][..17]);
    }
    let csv = |ids: &[String]| {
        let mut t = "姓名,身份证号码,合作银行\n".to_owned();
        for (i, (n, b)) in ["张一", "李二", "王三", "刘四"]
            .iter()
            .zip(["CCB", "ABC", "CCB", "CCB"])
            .enumerate()
        {
            writeln!(t, "{n},{},{b}", ids[i]).unwrap();
        }
        t
    };
    std::fs::write(p("list.csv"), csv(&bad)).unwrap();
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(p("photos.zip")).unwrap());
        for (i, idn) in ids.iter().enumerate() {
            w.start_file(
                format!("{idn}.jpg"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            w.write_all(&Variation::badge(Source::ALL[i % 2]).jpeg())
                .unwrap();
        }
        w.finish().unwrap();
    }
    let (rc, first) = cli.json(&[
        "batch",
        "import",
        "--employer",
        &code,
        &p("list.csv"),
        "--photos",
        &p("photos.zip"),
        "--errors",
        &p("errors.xlsx"),
    ]);
    assert_eq!(rc, 0);
    assert_eq!(first["accepted"], 3);
    assert_eq!(first["rejected"][0]["row"], 3);
    assert_eq!(first["rejected"][0]["column"], "身份证号码");
    assert!(std::path::Path::new(&p("errors.xlsx")).exists());
    std::fs::write(p("list.csv"), csv(&ids)).unwrap();
    let (_, second) = cli.json(&[
        "batch",
        "import",
        "--employer",
        &code,
        &p("list.csv"),
        "--photos",
        &p("photos.zip"),
    ]);
    assert_eq!(
        (second["accepted"].as_u64(), second["already"].as_u64()),
        (Some(1), Some(3))
    );
    let batch = second["batch_id"].as_i64().unwrap().to_string();

    // Banks.
    let (rc, sent) = cli.json(&["batch", "advance", &batch, "--out", &p("out")]);
    assert_eq!(rc, 0, "{sent}");
    let files: Vec<String> = sent["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(files.len(), 2);
    let mut results = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let out = p(&format!("bank-result-{i}.txt"));
        let fail = if f.contains("-105-") { "1" } else { "" };
        let mut args = vec!["sim", "bank", f.as_str(), "--out", out.as_str()];
        if !fail.is_empty() {
            args.extend(["--fail", fail]);
        }
        assert_eq!(cli.json(&args).0, 0);
        results.push(out);
    }
    let mut args = vec!["batch", "advance", batch.as_str()];
    for r in &results {
        args.extend(["--result", r.as_str()]);
    }
    let out = cli.run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, report) = cli.json(&["batch", "report", &batch]);
    assert_eq!(report["failures"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["failures"][0]["step"], "bank_failed");
    assert!(
        !report.to_string().contains(&ids[0]),
        "the report masks ID numbers"
    );
    // Retry the failed row alone.
    let (_, resent) = cli.json(&["batch", "send-bank", &batch, "--out", &p("retry")]);
    let retry_file = resent["files"][0].as_str().unwrap().to_owned();
    assert_eq!(
        cli.json(&["sim", "bank", &retry_file, "--out", &p("bank-retry.txt")])
            .1["failed"],
        0
    );
    assert_eq!(
        cli.json(&["batch", "bank-result", &batch, &p("bank-retry.txt")])
            .0,
        0
    );

    // Factory, with one card failing inspection and made again.
    let (rc, order) = cli.json(&["batch", "advance", &batch, "--out", &p("out")]);
    assert_eq!(rc, 0, "{order}");
    let package = order["files"][0].as_str().unwrap().to_owned();
    assert_eq!(
        cli.json(&[
            "sim",
            "factory",
            &package,
            "--out",
            &p("factory.txt"),
            "--fail",
            "2"
        ])
        .1["failed"],
        1
    );
    let (_, r) = cli.json(&["batch", "advance", &batch, "--result", &p("factory.txt")]);
    assert_eq!(
        (
            r["done"].as_u64(),
            r["failed"].as_u64(),
            r["status"].as_u64()
        ),
        (Some(3), Some(1), Some(31))
    );
    let (_, again) = cli.json(&["batch", "send-factory", &batch, "--out", &p("retry")]);
    let package2 = again["files"][0].as_str().unwrap().to_owned();
    assert_eq!(
        cli.json(&["sim", "factory", &package2, "--out", &p("factory2.txt")])
            .0,
        0
    );
    assert_eq!(
        cli.json(&["batch", "factory-result", &batch, &p("factory2.txt")])
            .1["done"],
        1
    );

    // Personalisation with the demo PSAM; every image is read by `sscard chip read`.
    assert!(
        cli.run(&["chip", "psam", "--demo", "--out", &p("psam.json")])
            .status
            .success()
    );
    let (rc, r) = cli.json(&[
        "batch",
        "advance",
        &batch,
        "--psam",
        &p("psam.json"),
        "--out",
        &p("images"),
    ]);
    assert_eq!(rc, 0, "{r}");
    assert_eq!(
        (r["done"].as_u64(), r["status"].as_u64()),
        (Some(4), Some(41))
    );
    let mut read_ssns = Vec::new();
    for entry in std::fs::read_dir(p("images")).unwrap() {
        let image = entry.unwrap().path();
        let (rc, card) = cli.json(&[
            "chip",
            "read",
            "--image",
            image.to_str().unwrap(),
            "--psam",
            &p("psam.json"),
        ]);
        assert_eq!(rc, 0, "{card}");
        assert_eq!(card["internal_auth"], "ok");
        assert!(card["photo_bytes"].as_u64().unwrap() > 1000, "{card}");
        read_ssns.push(card["ssn"].as_str().unwrap().to_owned());
    }
    read_ssns.sort();
    assert_eq!(read_ssns, ids);
    // The back of one card, drawn with a CJK font (the machine's, else the bundled one).
    let (_, shown) = cli.json(&["person", "show", &ids[0]]);
    let card = shown["cards"][0]["card_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let (rc, _) = cli.json(&["card", "face", &card, "--out", &p("face.png")]);
    assert_eq!(rc, 0);
    let png = image::load_from_memory(&std::fs::read(p("face.png")).unwrap()).unwrap();
    assert_eq!((png.width(), png.height()), (1011, 638));
    // And on a machine without a CJK font: the bundled one draws the same Chinese text.
    let out = cli
        .command(&["card", "face", &card, "--out", &p("face-bundled.png")])
        .env_remove("SSCARD_FONT")
        .env("SSCARD_NO_SYSTEM_FONTS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sscard-cjk.ttf"),
        "the bundled font named: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let bundled = image::load_from_memory(&std::fs::read(p("face-bundled.png")).unwrap())
        .unwrap()
        .to_rgb8();
    let inked = bundled
        .pixels()
        .filter(|px| px.0.iter().all(|c| *c < 90))
        .count();
    assert!(
        inked > 2_000,
        "the name and numbers drawn: {inked} dark pixels"
    );

    // Received at the employer's site point.
    let (rc, r) = cli.json(&["batch", "advance", &batch, "--outlet", "TZ-SITE-01"]);
    assert_eq!((rc, r["status"].as_u64()), (0, Some(60)));
    let (_, list) = cli.json(&["batch", "list"]);
    assert_eq!(list[0]["cards"], 4);
}

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Whether the poppler tools are here (in CI they must be).
fn can_check_pdfs() -> bool {
    let tools = ["pdftotext", "pdftoppm"]
        .iter()
        .all(|t| std::process::Command::new(t).arg("-v").output().is_ok());
    if !tools {
        assert!(!in_ci(), "CI=true but poppler-utils is missing");
        eprintln!("skipping the PDF checks: poppler-utils is missing");
    }
    tools
}

/// Four rows with badge photos: two tight crops that pass, one with the hair cut, one on blue.
fn upload_badge_batch(cli: &Cli) -> String {
    let dir = cli.dir.path();
    let code = sscard_ids::CreditCode::from_body(&EMPLOYER[..17])
        .unwrap()
        .to_string();
    let (rc, _) = cli.json(&[
        "employer",
        "add",
        "--code",
        &code,
        "--name",
        "泰州工牌照片厂",
    ]);
    assert_eq!(rc, 0);
    let text = format!(
        "姓名,身份证号码,合作银行\n张一,{},CCB\n李二,{},ABC\n王三,{},CCB\n赵四,{},CCB\n",
        id(11),
        id(12),
        id(13),
        id(14)
    );
    let list = dir.join("list.csv");
    std::fs::write(&list, text).unwrap();
    let photos = dir.join("photos.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&photos).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for (n, jpeg) in [
            // A 1-inch badge crop, the hair 3 px below the top edge.
            (
                11,
                Variation::tight_crop(Source::Astronaut, 295, 413, 3.0, 0.64).jpeg(),
            ),
            // A 2-inch one.
            (
                12,
                Variation::tight_crop(Source::GraceHopper, 413, 579, 6.0, 0.66).jpeg(),
            ),
            // The hair cut off by the top edge.
            (
                13,
                Variation::tight_crop(Source::Astronaut, 413, 579, -30.0, 0.66).jpeg(),
            ),
            // A blue background.
            (
                14,
                Variation {
                    background: BLUE,
                    ..Variation::badge(Source::GraceHopper)
                }
                .jpeg(),
            ),
        ] {
            w.start_file(format!("{}.jpg", id(n)), opts).unwrap();
            w.write_all(&jpeg).unwrap();
        }
        w.finish().unwrap();
    }
    let (rc, out) = cli.json(&[
        "batch",
        "import",
        "--employer",
        &code,
        list.to_str().unwrap(),
        "--photos",
        photos.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(out["accepted"], 2, "{out}");
    let codes: Vec<&str> = out["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["photo.face_cut_off", "photo.background_not_white"],
        "{out}"
    );
    out["batch_id"].as_i64().unwrap().to_string()
}

/// The sheet's text holds the rows and reasons, and its first page renders.
fn check_sheet_pdf(sheet: &std::path::Path, dir: &std::path::Path) {
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(sheet)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "照片核对表",
        "第 2 行",
        "第 5 行",
        "未通过 photo.face_cut_off",
        "上边缘",
        "背景不是白色",
        "张*",
    ] {
        assert!(text.contains(needle), "{needle} not in the sheet:\n{text}");
    }
    let png = dir.join("page");
    let r = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "40", "-f", "1", "-l", "1"])
        .arg(sheet)
        .arg(&png)
        .status()
        .unwrap();
    assert!(r.success());
    let rendered = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("page"));
    assert!(rendered, "pdftoppm rendered the first page");
}

/// Badge photos with tight crops are taken; a refused photo holds its row, the contact sheet
/// shows it with the reason, and one photo given for that row alone applies it.
#[test]
fn contact_sheet_and_one_photo_replaced() {
    let cli = Cli::new();
    let batch = upload_badge_batch(&cli);
    let dir = cli.dir.path();
    let sheet = dir.join("sheet.pdf");
    // The sheet as JSON everywhere; as a PDF where a CJK font and poppler-utils are installed.
    let pdf = can_check_pdfs();
    let mut args = vec!["batch", "photos", &batch];
    if pdf {
        args.extend(["--pdf", sheet.to_str().unwrap()]);
    }
    let (rc, s) = cli.json(&args);
    assert_eq!(rc, 0, "{s}");
    assert_eq!(s["rows"], 4);
    assert_eq!(s["refused"], 2);
    let states: Vec<(i64, &str)> = s["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            (2, "accepted"),
            (3, "accepted"),
            (4, "refused"),
            (5, "refused")
        ],
        "in row order"
    );
    assert!(
        !s.to_string().contains(&id(13)),
        "ID numbers are masked on the sheet"
    );
    if pdf {
        check_sheet_pdf(&sheet, dir);
    }

    // One photo for row 4 alone: a bad one changes nothing, a good one applies the row.
    let bad = dir.join("bad.jpg");
    std::fs::write(
        &bad,
        Variation::tight_crop(Source::Astronaut, 413, 579, -30.0, 0.66).jpeg(),
    )
    .unwrap();
    let (rc, r) = cli.json(&[
        "batch",
        "photo",
        &batch,
        "--row",
        "4",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(rc, 1, "{r}");
    assert_eq!(r["error"]["code"], "photo.face_cut_off");
    let good = dir.join("good.jpg");
    std::fs::write(
        &good,
        Variation::tight_crop(Source::Astronaut, 413, 579, 5.0, 0.66).jpeg(),
    )
    .unwrap();
    let (rc, r) = cli.json(&[
        "batch",
        "photo",
        &batch,
        "--row",
        "4",
        good.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["result"]["outcome"], "applied", "{r}");
    let (_, shown) = cli.json(&["batch", "show", &batch]);
    assert_eq!(shown["rows"], 3, "{shown}");
    assert_eq!(shown["photos"], 3, "{shown}");
    // An applied row's photo can be replaced too, while the batch is before the factory.
    let (rc, r) = cli.json(&[
        "batch",
        "photo",
        &batch,
        "--row",
        "2",
        good.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["result"]["outcome"], "updated", "{r}");
    // No such row.
    let (rc, r) = cli.json(&[
        "batch",
        "photo",
        &batch,
        "--row",
        "99",
        good.to_str().unwrap(),
    ]);
    assert_eq!(rc, 1, "{r}");
    let (_, s) = cli.json(&["batch", "photos", &batch]);
    assert_eq!(s["refused"], 1, "{s}");
}
