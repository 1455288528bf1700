//! `sscard institution add | import | list` on a fresh SQLite database.

mod common;

use common::Cli;

#[test]
fn the_registry_takes_good_lists_whole_and_refuses_bad_ones_whole() {
    let cli = Cli::new();
    assert!(cli.run(&["init"]).status.success());
    let (rc, r) = cli.json(&[
        "institution",
        "add",
        "--code",
        "H32120200001",
        "--name",
        "泰州市人民医院",
        "--kind",
        "hospital",
        "--level",
        "3",
        "--region",
        "321202",
        "--networked",
    ]);
    assert_eq!((rc, r["added"].as_u64()), (0, Some(1)), "{r}");
    // The kind must agree with the code's letter.
    let (rc, r) = cli.json(&[
        "institution",
        "add",
        "--code",
        "H32120200002",
        "--name",
        "药房",
        "--kind",
        "pharmacy",
        "--region",
        "321202",
    ]);
    assert_eq!(rc, 1, "{r}");
    assert_eq!(r["rejected"][0]["code"], "institution.kind_mismatch");

    // A GBK file with one bad row: nothing of it lands.
    let dir = cli.dir.path();
    let bad = "code,name,kind,level,region,networked\r\n\
               H32120300001,泰州市第二人民医院,hospital,2,321203,是\r\n\
               P32120400017,海陵大药房,pharmacy,1,321204,否\r\n";
    std::fs::write(dir.join("bad.csv"), encoding_rs::GBK.encode(bad).0).unwrap();
    let (rc, r) = cli.json(&[
        "institution",
        "import",
        dir.join("bad.csv").to_str().unwrap(),
    ]);
    assert_eq!(rc, 1, "{r}");
    assert_eq!(r["rejected"][0]["row"], 3);
    assert_eq!(r["rejected"][0]["column"], "level");
    let (_, list) = cli.json(&["institution", "list"]);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "nothing half-imported: {list}"
    );

    // Corrected, it lands whole; given again, nothing changes.
    let good = bad.replace(",1,321204", ",,321204");
    std::fs::write(dir.join("good.csv"), encoding_rs::GBK.encode(&good).0).unwrap();
    let path = dir.join("good.csv");
    let (rc, r) = cli.json(&["institution", "import", path.to_str().unwrap()]);
    assert_eq!((rc, r["added"].as_u64()), (0, Some(2)), "{r}");
    let (_, r) = cli.json(&["institution", "import", path.to_str().unwrap()]);
    assert_eq!(r["unchanged"], 2, "{r}");

    let (_, list) = cli.json(&["institution", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    let first = &list[0];
    assert_eq!(first["code"], "H32120200001");
    assert_eq!(first["kind"], "hospital");
    assert_eq!(first["level"], 3);
    assert_eq!(first["region"], "321202");
    assert_eq!(first["networked"], true);
    assert_eq!(
        (first["terminals"].as_u64(), first["ready"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(list[2]["name"], "海陵大药房");
    assert_eq!(list[2]["level"], serde_json::Value::Null);
}
