//! `sscard batch …` and `sscard photo normalize` as an operator runs them.

mod common;

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
