//! Every role's home on the demo's data, in a real browser (headless Chromium): the dashboard's
//! pictures load, each figure matches the database (read here straight from the tables) and
//! the list it links to, every link on the page opens with 200 for that role, and the
//! navigation shows exactly the pages the role may open — a page left out answers 403.
//! The lists answer the keyboard (the search box has the focus; Enter searches), and a home
//! fits a tablet's width. With `UPDATE_SCREENSHOTS=1` the centre's and the clerk's home are
//! saved to `docs/screenshots/` for the README.
//!
//! Without Chromium this skips with a reason; in CI (`CI=true`) it fails.

#[path = "../../sscard-server/tests/common/browser.rs"]
mod browser;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

/// Every page the navigation may show (as the console's own table), to check both ways.
const NAV: [&str; 16] = [
    "/console/persons",
    "/console/cards",
    "/console/batches",
    "/console/pickup",
    "/console/pickup/figures",
    "/console/institutions",
    "/console/terminals",
    "/console/readiness",
    "/console/settlements",
    "/console/clearing",
    "/console/payments",
    "/console/bank",
    "/console/migration",
    "/console/bookings",
    "/console/appointments",
    "/console/audit",
];

struct Demo {
    child: std::process::Child,
    url: String,
    db: String,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sscard"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--people",
            "800",
            "--cards",
            "120",
            "--batch-people",
            "120",
            "--demo-db",
        ])
        .arg(&db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut url = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.trim().strip_prefix("控制台（console）") {
            url = Some(rest.trim().trim_end_matches("/console").to_owned());
        }
        if line.contains("Ctrl-C") {
            break;
        }
    }
    Demo {
        child,
        url: url.expect("the demo prints its URL"),
        db: format!("sqlite://{}", db.display()),
        _dir: dir,
    }
}

async fn count(d: &Demo, sql: &str) -> i64 {
    sscard_store::testing::scalar(&d.db, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// What the page holds: its pictures that did not load, its links (with their status, fetched
/// with the role's session), and its figures.
const INSPECT: &str = r#"
const done = arguments[arguments.length - 1];
const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
const images = document.images.length;
const hrefs = [...new Set([...document.querySelectorAll('a[href]')]
    .map(a => a.getAttribute('href'))
    .filter(h => h.startsWith('/console') && !h.startsWith('/console/lang/')))];
const nav = [...document.querySelectorAll('header nav a[href^="/console"]')].map(a => a.getAttribute('href'));
const figures = [...document.querySelectorAll('.figure')].map(f => ({
    id: f.id, value: f.dataset.value, href: f.getAttribute('href'), listed: f.dataset.list === '1'
}));
const wide = document.documentElement.scrollWidth > window.innerWidth + 1;
Promise.all(hrefs.map(h => fetch(h).then(r => [h, r.status]))).then(links =>
    done({broken, images, links, nav, figures, wide}));
"#;

const STATUS: &str = r"
const done = arguments[arguments.length - 1];
Promise.all(arguments[0].map(h => fetch(h).then(r => [h, r.status]))).then(done);
";

const TOTAL: &str = r#"
const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(r => r.text()).then(t => {
    const m = t.match(/data-total="(\d+)"/);
    done(m ? m[1] : null);
});
"#;

fn figure(page: &Value, id: &str) -> i64 {
    page["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == format!("fig-{id}"))
        .unwrap_or_else(|| panic!("no figure {id} in {}", page["figures"]))["value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn sign_out(c: &Client) {
    c.find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("username")).await.unwrap();
}

/// Checks one role's home; returns what was found for the role's own checks.
async fn home(c: &Client, d: &Demo, user: &str, charts: usize) -> Value {
    browser::login_at(c, &d.url, user, &format!("{user}-demo")).await;
    c.goto(&format!("{}/console?lang=zh", d.url)).await.unwrap();
    c.wait().for_element(Locator::Id("whoami")).await.unwrap();
    let page = c.execute_async(INSPECT, vec![]).await.unwrap();
    assert_eq!(page["broken"], json!([]), "{user}: every picture loads");
    assert!(
        page["images"].as_u64().unwrap() >= charts as u64,
        "{user}: at least {charts} pictures, found {}",
        page["images"]
    );
    for link in page["links"].as_array().unwrap() {
        assert_eq!(link[1], 200, "{user}: {} opens", link[0]);
    }
    // The navigation both ways: shown pages open (above); pages left out are refused.
    let shown: Vec<&str> = page["nav"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let hidden: Vec<&str> = NAV
        .iter()
        .copied()
        .filter(|h| !shown.contains(h))
        // The figures page is left out for roles that have the desk itself.
        .filter(|h| !(*h == "/console/pickup/figures" && shown.contains(&"/console/pickup")))
        .collect();
    let statuses = c.execute_async(STATUS, vec![json!(hidden)]).await.unwrap();
    for s in statuses.as_array().unwrap() {
        assert_eq!(
            s[1], 403,
            "{user}: {} is not in the navigation, so it must be refused",
            s[0]
        );
    }
    // A figure that says it counts a list shows that list's count.
    for f in page["figures"].as_array().unwrap() {
        if f["listed"] == true {
            let href = f["href"].as_str().unwrap();
            let total = c.execute_async(TOTAL, vec![json!(href)]).await.unwrap();
            assert_eq!(
                total.as_str(),
                f["value"].as_str(),
                "{user}: {} shows {} and its list {href} holds {total}",
                f["id"],
                f["value"]
            );
        }
    }
    assert_eq!(
        page["wide"], false,
        "{user}: the home fits the window's width"
    );
    page
}

async fn screenshot(c: &Client, name: &str) {
    if std::env::var("UPDATE_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let png = c.screenshot().await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_sees_its_dashboard_and_only_links_it_may_follow() {
    let Some(driver) = browser::driver() else {
        return;
    };
    let d = demo();
    let c = browser::browser(&driver).await;
    c.set_window_size(1280, 2400).await.unwrap();
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    centre(&c, &d, today).await;
    clerk(&c, &d, today).await;
    others(&c, &d).await;

    // A tablet at an exchange point: the clerk's home fits 768 px.
    c.set_window_size(768, 1024).await.unwrap();
    home(&c, &d, "clerk", 1).await;
    c.close().await.unwrap();
}

/// The centre: cards, batches, institutions, terminals, pickups today, settlements per hour.
async fn centre(c: &Client, d: &Demo, today: chrono::NaiveDate) {
    let page = home(c, d, "admin", 5).await;
    assert_eq!(
        figure(&page, "cards"),
        count(d, "SELECT COUNT(*) FROM cards").await
    );
    assert_eq!(
        figure(&page, "cards-1"),
        count(d, "SELECT COUNT(*) FROM cards WHERE ss_status = 1").await
    );
    assert_eq!(
        figure(&page, "batches"),
        count(d, "SELECT COUNT(*) FROM batches").await
    );
    assert_eq!(
        figure(&page, "institutions"),
        count(d, "SELECT COUNT(*) FROM institutions").await
    );
    assert_eq!(
        figure(&page, "terminals-ready"),
        count(d, "SELECT COUNT(*) FROM terminals WHERE state = 20").await
    );
    let midnight = today.and_hms_opt(0, 0, 0).unwrap().and_utc() - chrono::Duration::hours(8);
    assert_eq!(
        figure(&page, "pickups-today"),
        count(
            d,
            &format!(
                "SELECT COUNT(*) FROM pickups WHERE at_us >= {}",
                midnight.timestamp_micros()
            )
        )
        .await
    );
    // Settlements per hour are of the latest day with one (the demo's visits are last month).
    let latest = count(
        d,
        "SELECT COUNT(*) FROM settlements WHERE kind = 1 \
         AND substr(setl_time, 1, 10) = (SELECT substr(MAX(setl_time), 1, 10) FROM settlements WHERE kind = 1)",
    )
    .await;
    assert_eq!(figure(&page, "settlements-day"), latest);
    assert!(latest > 0, "the demo settles visits");
    screenshot(c, "console-centre.png").await;
    sign_out(c).await;
}

/// A counter clerk: its point's queue, bookings and cards waiting; the keyboard search.
async fn clerk(c: &Client, d: &Demo, today: chrono::NaiveDate) {
    let page = home(c, d, "clerk", 1).await;
    let outlet = "(SELECT outlet FROM staff WHERE username = 'clerk')";
    assert_eq!(
        figure(&page, "bookings-today"),
        count(
            d,
            &format!(
                "SELECT COUNT(*) FROM appointments WHERE point = {outlet} AND day = '{today}'"
            )
        )
        .await
    );
    assert_eq!(
        figure(&page, "waiting"),
        count(
            d,
            &format!(
                "SELECT COUNT(*) FROM applications a WHERE a.outlet = {outlet} AND a.status = '02' \
                 AND NOT EXISTS (SELECT 1 FROM cards c JOIN distribution_slots s ON s.card_id = c.id \
                 WHERE c.application_id = a.id AND s.missing_at IS NOT NULL)"
            )
        )
        .await
    );
    c.set_window_size(1280, 1000).await.unwrap();
    screenshot(c, "console-clerk.png").await;
    // The keyboard: the persons list has the search box focused; typing and Enter searches.
    c.goto(&format!("{}/console/persons?lang=zh", d.url))
        .await
        .unwrap();
    c.active_element()
        .await
        .unwrap()
        .send_keys("王\u{E007}")
        .await
        .unwrap();
    for _ in 0..100 {
        if c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("q=%E7%8E%8B")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("q=%E7%8E%8B"),
        "Enter in the focused search box searched"
    );
    let found: i64 = c
        .find(Locator::Id("list-total"))
        .await
        .unwrap()
        .attr("data-total")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        found,
        count(d, "SELECT COUNT(*) FROM persons WHERE name LIKE '王%'").await
    );
    assert!(found > 0, "the demo has people named 王");
    sign_out(c).await;
}

/// An employer agent, a production operator, a bank and an auditor.
async fn others(c: &Client, d: &Demo) {
    // An employer agent: its own batches only.
    let page = home(c, d, "agent", 1).await;
    assert_eq!(
        figure(&page, "batches"),
        count(
            d,
            "SELECT COUNT(*) FROM batches WHERE employer_id = (SELECT employer_id FROM staff WHERE username = 'agent')"
        )
        .await
    );
    sign_out(c).await;

    // A production operator: rows waiting on each partner.
    let page = home(c, d, "operator", 1).await;
    assert_eq!(
        figure(&page, "to-receive"),
        count(
            d,
            "SELECT COUNT(*) FROM batch_rows WHERE step = 'personalised'"
        )
        .await
    );
    sign_out(c).await;

    // A bank: its own cards only.
    let page = home(c, d, "bank", 1).await;
    assert_eq!(
        figure(&page, "cards"),
        count(
            d,
            "SELECT COUNT(*) FROM cards WHERE bank_code = (SELECT bank_code FROM staff WHERE username = 'bank')"
        )
        .await
    );
    sign_out(c).await;

    // An auditor: the chain's state and the latest events.
    let page = home(c, d, "auditor", 0).await;
    assert_eq!(
        figure(&page, "persons"),
        count(d, "SELECT COUNT(*) FROM persons").await
    );
    c.find(Locator::Css("#audit-status.flash")).await.unwrap();
    sign_out(c).await;
}
