//! The city's migration from legacy cards to the provincial card: exchange appointments in
//! half-day slots, and the simulation that answers "how long, with how many points" — for a
//! plan (`sscard migration simulate`) or from the real data (`sscard migration forecast`).
//!
//! The simulation follows every person: on the day they decide to come (drawn from the arrival
//! profile within their phase's window) they book the first half-day with a free place, from the
//! next working day on; they are exchanged on that day. Capacity is per working day (Monday to
//! Friday), the sum of the points' daily capacities.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;

/// Taizhou's districts: code, Chinese and English name, approximate share (per mille) of the
/// household register — the proportions of synthetic legacy files and of simulations.
pub const TAIZHOU_DISTRICTS: [(u32, &str, &str, u32); 6] = [
    (321_281, "兴化市", "Xinghua", 290),
    (321_283, "泰兴市", "Taixing", 230),
    (321_204, "姜堰区", "Jiangyan", 170),
    (321_282, "靖江市", "Jingjiang", 130),
    (321_202, "海陵区", "Hailing", 110),
    (
        321_203,
        "医药高新区（高港区）",
        "Medical High-tech Zone (Gaogang)",
        70,
    ),
];

/// A district's Chinese name, for Taizhou's districts (the code itself otherwise).
pub fn district_name(code: &str) -> String {
    TAIZHOU_DISTRICTS
        .iter()
        .find(|d| d.0.to_string() == code)
        .map_or_else(|| code.to_owned(), |d| d.1.to_owned())
}

/// 上午 / 下午: the half-day of an appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Half {
    /// 上午 (09:00–12:00).
    Am,
    /// 下午 (13:30–17:00).
    Pm,
}

impl Half {
    /// `am` / `pm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Half::Am => "am",
            Half::Pm => "pm",
        }
    }

    /// From `am` / `pm` (also 上午 / 下午).
    pub fn parse(s: &str) -> Option<Half> {
        match s.trim() {
            "am" | "AM" | "上午" => Some(Half::Am),
            "pm" | "PM" | "下午" => Some(Half::Pm),
            _ => None,
        }
    }

    /// 上午 / 下午.
    pub fn zh(self) -> &'static str {
        match self {
            Half::Am => "上午",
            Half::Pm => "下午",
        }
    }

    /// The places of this half of a point's daily capacity (the morning takes the odd one).
    pub fn places(self, daily: u32) -> u32 {
        match self {
            Half::Am => daily.div_ceil(2),
            Half::Pm => daily / 2,
        }
    }
}

/// Whether exchange points receive people on `day` (Monday to Friday).
pub fn is_working_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// How the people of a phase decide when to come, over the phase's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Most come in the first weeks after the phase opens (the usual rush).
    Front,
    /// Evenly over the window.
    Even,
    /// Most wait until close to the end of the window.
    Late,
}

impl Arrival {
    /// From `front` / `even` / `late`.
    pub fn parse(s: &str) -> Option<Arrival> {
        match s {
            "front" => Some(Arrival::Front),
            "even" => Some(Arrival::Even),
            "late" => Some(Arrival::Late),
            _ => None,
        }
    }
}

/// A group of people whose exchange opens on one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimGroup {
    /// The phase's name.
    pub name: String,
    /// The day the exchange opens for them.
    pub from: NaiveDate,
    /// How many people.
    pub people: u64,
}

/// What the simulation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimInput {
    /// The first day simulated (today for a forecast).
    pub start: NaiveDate,
    /// The people, by the day their exchange opens.
    pub groups: Vec<SimGroup>,
    /// Places per working day, over all points.
    pub daily_capacity: u64,
    /// When people decide to come.
    pub arrival: Arrival,
    /// The window, in working days from a phase's opening, within which its people come.
    pub window_days: u32,
    /// Places already booked per day (a forecast from real bookings), taken before anyone else.
    pub booked: Vec<(NaiveDate, u64)>,
    /// Seed of the arrival draw (the same seed, the same run).
    pub seed: u64,
}

/// One simulated day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SimDay {
    /// The day.
    pub date: NaiveDate,
    /// People who decided to book that day.
    pub arrivals: u64,
    /// People exchanged that day.
    pub exchanged: u64,
    /// People who had decided and were not yet exchanged at the end of the day.
    pub backlog: u64,
    /// Days from that day to the first free place a person deciding then would get.
    pub wait_days: u32,
}

/// The simulation's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimOutcome {
    /// Day by day, from the start to the last exchange.
    pub days: Vec<SimDay>,
    /// People simulated.
    pub people: u64,
    /// The day the last person is exchanged (none when nobody is).
    pub completion: Option<NaiveDate>,
    /// The largest backlog.
    pub peak_backlog: u64,
    /// The longest wait for a free place, in days.
    pub peak_wait_days: u32,
}

/// A small deterministic generator (`SplitMix64`): the simulation must give the same answer for
/// the same seed on every machine.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits.
    #[allow(clippy::cast_precision_loss)]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The working day `offset` working days after `from` (`from` itself moved to a working day).
fn working_day_after(from: NaiveDate, offset: u32) -> NaiveDate {
    let mut d = from;
    while !is_working_day(d) {
        d += Duration::days(1);
    }
    let mut left = offset;
    while left > 0 {
        d += Duration::days(1);
        if is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// The working-day offset a person of an arrival profile decides on, within `window` days.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
fn decide(arrival: Arrival, window: u32, rng: &mut Mix) -> u32 {
    let w = f64::from(window.max(1));
    // The front profile: exponential with a quarter of the window as its scale, truncated to
    // the window (drawn from the truncated distribution, so nobody piles up on its last day).
    let tail = 1.0 - (-4.0f64).exp();
    let front = |u: f64| -(1.0 - u * tail).ln() * w / 4.0;
    let u = rng.unit();
    let x = match arrival {
        Arrival::Front => front(u),
        Arrival::Even => u * w,
        Arrival::Late => w - 1.0 - front(u),
    };
    (x.max(0.0) as u32).min(window.max(1) - 1)
}

/// Decisions per calendar day from the start (a phase opened before the start: its people
/// who would have decided earlier decide on the start day), and how many people in all.
fn decisions(input: &SimInput) -> (Vec<u64>, u64) {
    let day_index =
        |d: NaiveDate| usize::try_from((d - input.start).num_days().max(0)).unwrap_or(0);
    let mut arrivals: Vec<u64> = Vec::new();
    let mut rng = Mix(input.seed ^ 0x5353_4341_5244);
    let mut people = 0u64;
    for g in &input.groups {
        people += g.people;
        for _ in 0..g.people {
            let d = working_day_after(g.from, decide(input.arrival, input.window_days, &mut rng));
            let i = day_index(d);
            if arrivals.len() <= i {
                arrivals.resize(i + 1, 0);
            }
            arrivals[i] += 1;
        }
    }
    (arrivals, people)
}

/// Places already booked, per calendar day from the start.
fn booked_places(input: &SimInput) -> Vec<u64> {
    let mut taken: Vec<u64> = Vec::new();
    for (d, n) in &input.booked {
        if *d >= input.start {
            let i = usize::try_from((*d - input.start).num_days()).unwrap_or(0);
            if taken.len() <= i {
                taken.resize(i + 1, 0);
            }
            taken[i] += n;
        }
    }
    taken
}

/// Runs the simulation. Every person is followed: decisions are drawn per person, then each
/// day's deciders take the first free places from the next working day on.
pub fn simulate(input: &SimInput) -> SimOutcome {
    let start = input.start;
    let (arrivals, people) = decisions(input);
    // Places per calendar day, less the places already booked.
    let capacity_on = |i: usize, taken: &[u64]| -> u64 {
        let d = start + Duration::days(i64::try_from(i).unwrap_or(i64::MAX));
        if is_working_day(d) {
            input
                .daily_capacity
                .saturating_sub(taken.get(i).copied().unwrap_or(0))
        } else {
            0
        }
    };
    let taken = booked_places(input);
    let pre_booked: u64 = taken.iter().sum();
    let mut exchanged: Vec<u64> = taken.clone();
    let mut days = Vec::new();
    let (mut decided, mut served) = (0u64, 0u64);
    let mut cursor = 1usize; // the first day that may still have a free place
    let mut left_on_cursor = capacity_on(cursor, &taken);
    let mut i = 0usize;
    let mut peak_backlog = 0;
    let mut peak_wait = 0;
    let everyone = people + pre_booked;
    // Cap: a plan that can never finish (no capacity) stops after ten years.
    while (served < everyone || i < arrivals.len()) && i < 3660 {
        if input.daily_capacity == 0 && i >= arrivals.len().max(taken.len()) {
            break; // nobody left who could be served
        }
        if cursor <= i {
            cursor = i + 1;
            left_on_cursor = capacity_on(cursor, &taken);
        }
        let mut n = arrivals.get(i).copied().unwrap_or(0);
        decided += n;
        if input.daily_capacity == 0 {
            n = 0; // no place will ever be free: they wait
        }
        while n > 0 {
            while left_on_cursor == 0 {
                cursor += 1;
                left_on_cursor = capacity_on(cursor, &taken);
            }
            let k = n.min(left_on_cursor);
            if exchanged.len() <= cursor {
                exchanged.resize(cursor + 1, 0);
            }
            exchanged[cursor] += k;
            left_on_cursor -= k;
            n -= k;
        }
        // The next free place for someone deciding today.
        let mut probe = cursor.max(i + 1);
        let mut left = if probe == cursor {
            left_on_cursor
        } else {
            capacity_on(probe, &taken)
        };
        while left == 0 && input.daily_capacity > 0 && probe < i + 3660 {
            probe += 1;
            left = capacity_on(probe, &taken);
        }
        let today_served = exchanged.get(i).copied().unwrap_or(0);
        served += today_served;
        let backlog = (decided + pre_booked).saturating_sub(served);
        let wait = u32::try_from(probe - i).unwrap_or(u32::MAX);
        peak_backlog = peak_backlog.max(backlog);
        peak_wait = peak_wait.max(wait);
        days.push(SimDay {
            date: start + Duration::days(i64::try_from(i).unwrap_or(0)),
            arrivals: arrivals.get(i).copied().unwrap_or(0),
            exchanged: today_served,
            backlog,
            wait_days: wait,
        });
        i += 1;
    }
    let completion = days
        .iter()
        .rev()
        .find(|d| d.exchanged > 0)
        .filter(|_| served >= everyone)
        .map(|d| d.date);
    SimOutcome {
        days,
        people: everyone,
        completion,
        peak_backlog,
        peak_wait_days: peak_wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn input(people: u64, capacity: u64, arrival: Arrival) -> SimInput {
        SimInput {
            start: day("2026-08-24"),
            groups: vec![SimGroup {
                name: "一期".into(),
                from: day("2026-08-25"),
                people,
            }],
            daily_capacity: capacity,
            arrival,
            window_days: 120,
            booked: Vec::new(),
            seed: 7,
        }
    }

    #[test]
    fn everyone_is_exchanged_once_and_never_above_capacity() {
        for arrival in [Arrival::Front, Arrival::Even, Arrival::Late] {
            let out = simulate(&input(50_000, 800, arrival));
            let total: u64 = out.days.iter().map(|d| d.exchanged).sum();
            assert_eq!(total, 50_000, "{arrival:?}");
            assert!(out.days.iter().all(|d| d.exchanged <= 800));
            assert!(
                out.days
                    .iter()
                    .filter(|d| !is_working_day(d.date))
                    .all(|d| d.exchanged == 0)
            );
            assert_eq!(out.days.last().map(|d| d.backlog), Some(0));
            assert!(out.completion.is_some());
        }
    }

    #[test]
    fn the_front_rush_waits_longer_than_an_even_spread() {
        let front = simulate(&input(60_000, 600, Arrival::Front));
        let even = simulate(&input(60_000, 600, Arrival::Even));
        assert!(front.peak_wait_days > even.peak_wait_days);
        assert!(front.peak_backlog > even.peak_backlog);
    }

    #[test]
    fn more_capacity_finishes_sooner_and_the_seed_repeats() {
        let small = simulate(&input(40_000, 300, Arrival::Front));
        let big = simulate(&input(40_000, 1200, Arrival::Front));
        assert!(big.completion < small.completion);
        assert_eq!(small, simulate(&input(40_000, 300, Arrival::Front)));
    }

    #[test]
    fn booked_places_are_taken_first() {
        let mut i = input(1_000, 100, Arrival::Front);
        i.booked = vec![(day("2026-08-25"), 100)];
        let out = simulate(&i);
        let first = out.days.iter().find(|d| d.date == day("2026-08-25"));
        assert_eq!(first.map(|d| d.exchanged), Some(100));
        assert_eq!(out.people, 1_100);
        assert_eq!(out.days.iter().map(|d| d.exchanged).sum::<u64>(), 1_100);
    }

    #[test]
    fn half_days_split_the_capacity() {
        assert_eq!(Half::Am.places(200) + Half::Pm.places(200), 200);
        assert_eq!((Half::Am.places(11), Half::Pm.places(11)), (6, 5));
        assert_eq!(Half::parse("下午"), Some(Half::Pm));
        assert!(is_working_day(day("2026-08-25")));
        assert!(!is_working_day(day("2026-08-29")));
    }
}
