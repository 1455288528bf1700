//! `sscard legacy generate | import` on a fresh SQLite database: a generated GBK file with
//! 15-digit numbers, people with two cards and broken rows is taken over; every bad row is
//! named; a second import changes nothing. Then the phases, an exchange point, a booking at
//! the counter, the notices outbox and its export, the progress, the forecast, the cut-over;
//! and a simulation of the whole city (1.35 M people).

mod common;

use common::Cli;

#[test]
#[allow(clippy::too_many_lines)] // one city's take-over and first bookings, told in order
fn a_generated_legacy_file_is_taken_over_once() {
    let cli = Cli::new();
    assert!(cli.run(&["init"]).status.success());
    let file = cli.dir.path().join("legacy.csv");
    let path = file.to_str().unwrap();
    let (rc, r) = cli.json(&["legacy", "generate", "--n", "3000", "--out", path, "--gbk"]);
    assert_eq!((rc, r["rows"].as_u64()), (0, Some(3000)), "{r}");
    let (rc, r) = cli.json(&["legacy", "import", path]);
    assert_eq!(rc, 0, "{r}");
    let (accepted, rejected) = (
        r["accepted"].as_u64().unwrap(),
        r["rejected"].as_array().unwrap(),
    );
    assert_eq!(r["rows"], 3000);
    assert_eq!(accepted + rejected.len() as u64, 3000, "{r}");
    assert!(
        !rejected.is_empty() && rejected.len() < 60,
        "about 0.5 % broken: {}",
        rejected.len()
    );
    assert!(
        rejected
            .iter()
            .all(|p| p["row"].as_u64().unwrap() >= 2
                && !p["message_en"].as_str().unwrap().is_empty())
    );
    assert!(
        r["upgraded"].as_u64().unwrap() > 0,
        "some 15-digit numbers: {r}"
    );
    let notes = r["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n["code"] == "legacy.replaced"),
        "a person with two cards: {r}"
    );
    let longest_digits = |t: &str| {
        t.split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0)
    };
    for p in rejected.iter().chain(notes) {
        let text = p["message"].as_str().unwrap().to_owned() + p["message_en"].as_str().unwrap();
        assert!(
            longest_digits(&text) < 15,
            "no ID or account numbers in messages: {text}"
        );
    }
    let (rc, again) = cli.json(&["legacy", "import", path]);
    assert_eq!(rc, 0);
    assert_eq!(
        (again["accepted"].as_u64(), again["already"].as_u64()),
        (Some(0), Some(accepted)),
        "{again}"
    );
    // Phases: Hailing first; someone of another district waits, told the date.
    for (name, from, districts) in [
        ("海陵区首批", "2026-08-25", Some("321202")),
        ("全市", "2099-03-01", None),
    ] {
        let mut args = vec!["rollout", "phase", "add", "--name", name, "--from", from];
        if let Some(d) = districts {
            args.extend(["--districts", d]);
        }
        let (rc, r) = cli.json(&args);
        assert_eq!(rc, 0, "{r}");
    }
    let text = std::fs::read(&file).unwrap();
    let (text, _, _) = encoding_rs::GBK.decode(&text);
    let elsewhere = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|c| c[7] != "321202" && c[4] == "正常" && c[1].len() == 18)
        .unwrap();
    let (rc, e) = cli.json(&["rollout", "eligible", elsewhere[1]]);
    assert_eq!(rc, 0, "{e}");
    assert_eq!(
        (e["eligible"].as_bool(), e["from"].as_str()),
        (Some(false), Some("2099-03-01")),
        "{e}"
    );

    // An exchange point and a booking at the counter for a Hailing holder.
    let (rc, r) = cli.json(&[
        "exchange-point",
        "add",
        "--code",
        "TZ-HL-01",
        "--name",
        "海陵区社会保障卡服务中心",
        "--district",
        "321202",
        "--capacity",
        "200",
    ]);
    assert_eq!((rc, r["capacity"].as_u64()), (0, Some(200)), "{r}");
    let hailing = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|c| c[7] == "321202" && c[4] == "正常" && c[1].len() == 18)
        .unwrap();
    let mut day = sscard_ids::china_today() + chrono::Duration::days(1);
    while !sscard_core::migration::is_working_day(day) {
        day += chrono::Duration::days(1);
    }
    let day = day.to_string();
    let (rc, slot) = cli.json(&[
        "appointment",
        "book",
        "--id",
        hailing[1],
        "--point",
        "TZ-HL-01",
        "--date",
        &day,
        "--slot",
        "noon",
    ]);
    assert_eq!(
        (rc, slot["error"]["code"].as_str()),
        (1, Some("appointment.slot")),
        "{slot}"
    );
    let (rc, a) = cli.json(&[
        "appointment",
        "book",
        "--id",
        hailing[1],
        "--point",
        "TZ-HL-01",
        "--date",
        &day,
        "--slot",
        "am",
        "--phone",
        "13905261234",
    ]);
    assert_eq!(rc, 0, "{a}");
    let code = a["code"].as_str().unwrap().to_owned();
    assert_eq!(a["status"], "booked");
    let (rc, again) = cli.json(&[
        "appointment",
        "book",
        "--id",
        hailing[1],
        "--point",
        "TZ-HL-01",
        "--date",
        &day,
        "--slot",
        "pm",
    ]);
    assert_eq!(rc, 1, "{again}");
    let (_, slots) = cli.json(&["appointment", "slots", "--from", &day, "--days", "1"]);
    assert_eq!(slots[0]["left"], 99, "{slots}");
    // The clerk (of no outlet here: the centre's CLI) cannot check in a booking of another day.
    let (rc, early) = cli.json(&["appointment", "check-in", &code]);
    assert_eq!(
        (rc, early["error"]["code"].as_str()),
        (1, Some("appointment.not_today")),
        "{early}"
    );
    let (_, list) = cli.json(&["appointment", "list", "--point", "TZ-HL-01"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    // The outbox: the confirmation is due now, the reminder the day before; an export takes
    // what is due, once.
    let (_, notices) = cli.json(&["notices", "list"]);
    let kinds: Vec<&str> = notices
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"booking_confirmed") && kinds.contains(&"booking_reminder"),
        "{notices}"
    );
    let sms = cli.dir.path().join("sms.csv");
    let (rc, out) = cli.json(&["notices", "export", "--out", sms.to_str().unwrap()]);
    assert_eq!(rc, 0, "{out}");
    let exported = std::fs::read_to_string(&sms).unwrap();
    assert!(exported.starts_with("id,kind,phone,due_at,text\n"));
    assert!(
        exported.contains("13905261234") && exported.contains(&code),
        "{exported}"
    );
    let (_, twice) = cli.json(&["notices", "export", "--out", sms.to_str().unwrap()]);
    assert_eq!(twice["notices"], 0, "{twice}");
    let (rc, cancelled) = cli.json(&["appointment", "cancel", &code]);
    assert_eq!((rc, cancelled["status"].as_str()), (0, Some("cancelled")));

    // Progress, the forecast from the data, and the cut-over.
    let (rc, status) = cli.json(&["migration", "status"]);
    assert_eq!(rc, 0, "{status}");
    let total: u64 = status["districts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["legacy"].as_u64().unwrap())
        .sum();
    assert!(total > 2_500, "{status}");
    let (rc, forecast) = cli.json(&["migration", "forecast"]);
    assert_eq!(rc, 0, "{forecast}");
    // The rest of the city opens in 2099: beyond the ten years a forecast looks at.
    assert!(
        forecast["people"].as_u64().unwrap() > 2_500,
        "{}",
        forecast["people"]
    );
    assert!(
        forecast["completion"].is_null(),
        "{}",
        forecast["completion"]
    );
    let (rc, cut) = cli.json(&["rollout", "cutover", "--date", "2099-12-31"]);
    assert_eq!((rc, cut["cutover"].as_str()), (0, Some("2099-12-31")));
}

#[test]
fn a_city_of_1_35_million_is_simulated_in_seconds() {
    let cli = Cli::new();
    let phases = cli.dir.path().join("phases.toml");
    std::fs::write(
        &phases,
        "[[phase]]\nname = \"一期：海陵区、医药高新区\"\nfrom = 2026-08-25\ndistricts = [\"321202\", \"321203\"]\n\n\
         [[phase]]\nname = \"二期：其余区县\"\nfrom = 2027-03-01\n",
    )
    .unwrap();
    let p = phases.to_str().unwrap();
    let (rc, r) = cli.json(&[
        "migration",
        "simulate",
        "--people",
        "1350000",
        "--points",
        "12",
        "--capacity",
        "200",
        "--phases",
        p,
    ]);
    assert_eq!(rc, 0, "{r}");
    assert_eq!(r["people"], 1_350_000);
    let days = r["days"].as_array().unwrap();
    let exchanged: u64 = days.iter().map(|d| d["exchanged"].as_u64().unwrap()).sum();
    assert_eq!(exchanged, 1_350_000, "everyone exchanged once");
    assert!(
        days.iter()
            .all(|d| d["exchanged"].as_u64().unwrap() <= 2_400)
    );
    // The first phase is Hailing and the zone: 11 % + 7 % of the city.
    assert_eq!(r["groups"][0]["people"], 243_000);
    // More points finish sooner; a late arrival profile too.
    let (_, more) = cli.json(&[
        "migration",
        "simulate",
        "--people",
        "1350000",
        "--points",
        "24",
        "--capacity",
        "200",
        "--phases",
        p,
    ]);
    assert!(
        more["completion"].as_str() < r["completion"].as_str(),
        "{} vs {}",
        more["completion"],
        r["completion"]
    );
    let (rc, bad) = cli.json(&[
        "migration",
        "simulate",
        "--people",
        "10",
        "--points",
        "1",
        "--phases",
        p,
        "--arrival",
        "sometime",
    ]);
    assert_eq!(
        (rc, bad["error"]["code"].as_str()),
        (1, Some("migration.arrival")),
        "{bad}"
    );
    std::fs::write(&phases, "[[phase]]\nname = \"x\"\nfrom = \"soon\"\n").unwrap();
    let (rc, bad) = cli.json(&[
        "migration",
        "simulate",
        "--people",
        "10",
        "--points",
        "1",
        "--phases",
        p,
    ]);
    assert_eq!(
        (rc, bad["error"]["code"].as_str()),
        (1, Some("migration.phases_file")),
        "{bad}"
    );
}
