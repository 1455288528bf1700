//! A partner bank and a card factory in software, for demos and tests where the real ones are
//! absent. They read the centre's signed file, refuse it if the signature fails, and answer
//! with a signed result, failing the rows a [`FailPlan`] names.

use sscard_ids::BankCardNumber;

use crate::{Envelope, ExchangeError, ExchangeKey, Kind};

/// Which rows a simulator fails: by sequence number, and/or a share of all rows chosen by a
/// hash of the row (the same file always fails the same rows).
#[derive(Debug, Clone, Default)]
pub struct FailPlan {
    /// Sequence numbers (first column) to fail.
    pub seqs: Vec<String>,
    /// Share of the other rows to fail, 0.0–1.0.
    pub rate: f64,
}

impl FailPlan {
    fn fails(&self, seq: &str, salt: &str) -> bool {
        if self.seqs.iter().any(|s| s == seq) {
            return true;
        }
        if self.rate <= 0.0 {
            return false;
        }
        let digest = sm3_of(&format!("{salt}/{seq}"));
        let x = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        f64::from(x) / f64::from(u32::MAX) < self.rate
    }
}

fn sm3_of(s: &str) -> [u8; 32] {
    use sm3::Digest;
    sm3::Sm3::digest(s.as_bytes()).into()
}

/// The issuer identification number a simulated bank uses for its social security cards.
fn bin_of(bank: &str) -> &'static str {
    match bank {
        "105" => "621700",
        "103" => "622848",
        "301" => "622262",
        "314" => "623199",
        "403" => "621799",
        _ => "620000",
    }
}

/// The bank's answer to an account-opening file. `centre_key` verifies the file, `bank_key`
/// signs the answer.
pub fn sim_bank(
    file: &[u8],
    centre_key: &ExchangeKey,
    bank_key: &ExchangeKey,
    plan: &FailPlan,
    now: &str,
) -> Result<Vec<u8>, ExchangeError> {
    let order = Envelope::parse(file, centre_key)?;
    if order.kind != Kind::AccountOpen {
        return Err(ExchangeError::Unexpected {
            expected: Kind::AccountOpen.as_str().into(),
            found: order.kind.as_str().into(),
        });
    }
    let mut result = Envelope::new(Kind::AccountResult, order.batch, &order.partner, now);
    for row in &order.rows {
        let (seq, ssn) = (&row[0], &row[1]);
        if plan.fails(seq, &format!("bank/{}/{}", order.batch, order.partner)) {
            result.rows.push(vec![
                seq.clone(),
                ssn.clone(),
                "FAIL".into(),
                "KYC_MISMATCH".into(),
                "身份核验未通过，请持身份证到网点办理 / identity check failed; visit a branch with the ID card".into(),
            ]);
            continue;
        }
        // Account number: the bank's BIN, nine digits from the person and the batch, Luhn digit.
        let digest = sm3_of(&format!("{}/{ssn}/{}", order.partner, order.batch));
        let digits: String = digest
            .iter()
            .take(9)
            .map(|b| char::from(b'0' + b % 10))
            .collect();
        let account = BankCardNumber::from_payload(&format!("{}{digits}", bin_of(&order.partner)))
            .expect("digits only");
        result.rows.push(vec![
            seq.clone(),
            ssn.clone(),
            "OK".into(),
            account.expose().to_owned(),
            String::new(),
        ]);
    }
    result.to_bytes(bank_key)
}

/// The factory's answer to a card order. A row fails when the plan says so or when its photo
/// is missing or does not match the order.
pub fn sim_factory(
    package: &[u8],
    centre_key: &ExchangeKey,
    factory_key: &ExchangeKey,
    plan: &FailPlan,
    now: &str,
) -> Result<Vec<u8>, ExchangeError> {
    let (order, photos) = crate::open_card_order(package, centre_key)?;
    let mut result = Envelope::new(Kind::CardResult, order.batch, &order.partner, now);
    for (row, photo) in order.rows.iter().zip(&photos) {
        let (seq, card) = (&row[0], &row[5]);
        if photo.is_none() {
            result.rows.push(vec![
                seq.clone(),
                card.clone(),
                "FAIL".into(),
                "PHOTO".into(),
                "照片缺失或与订单不符 / photo missing or not the one ordered".into(),
            ]);
        } else if plan.fails(seq, &format!("factory/{}", order.batch)) {
            result.rows.push(vec![
                seq.clone(),
                card.clone(),
                "FAIL".into(),
                "PRINT_DEFECT".into(),
                "印刷质检不合格，需重新制作 / failed print inspection; to be made again".into(),
            ]);
        } else {
            let serial = hex::encode_upper(&sm3_of(&format!("chip/{card}"))[..8]);
            result.rows.push(vec![
                seq.clone(),
                card.clone(),
                "OK".into(),
                serial,
                String::new(),
            ]);
        }
    }
    result.to_bytes(factory_key)
}

/// Which payment rows a simulated bank fails, and with which outcome code
/// (`account_frozen`, `account_closed`, `name_mismatch`): by row number, by account, or a
/// share of all rows chosen by a hash of the row (the same file always fails the same rows).
#[derive(Debug, Clone, Default)]
pub struct PaymentFailPlan {
    /// Row number (first column) → outcome.
    pub rows: Vec<(String, String)>,
    /// Account number → outcome (the bank's own view of its accounts).
    pub accounts: Vec<(String, String)>,
    /// Share of the other rows failed as `account_frozen`, 0.0–1.0.
    pub rate: f64,
}

impl PaymentFailPlan {
    fn outcome(&self, row: &[String], salt: &str) -> &str {
        let (seq, account) = (&row[0], &row[5]);
        if let Some((_, o)) = self.rows.iter().find(|(s, _)| s == seq) {
            return o;
        }
        if let Some((_, o)) = self.accounts.iter().find(|(a, _)| a == account) {
            return o;
        }
        let plan = FailPlan {
            seqs: Vec::new(),
            rate: self.rate,
        };
        if plan.fails(&format!("{seq}/{}", row[1]), salt) {
            "account_frozen"
        } else {
            "paid"
        }
    }
}

/// The bank's answer to a payment order: every row `paid` unless the plan fails it. The
/// answer echoes each row's attempt, send, account and amount, so the centre can check it
/// answers the file it sent.
pub fn sim_bank_payments(
    file: &[u8],
    centre_key: &ExchangeKey,
    bank_key: &ExchangeKey,
    plan: &PaymentFailPlan,
    now: &str,
) -> Result<Vec<u8>, ExchangeError> {
    let order = Envelope::parse(file, centre_key)?;
    if order.kind != Kind::PaymentOrder {
        return Err(ExchangeError::Unexpected {
            expected: Kind::PaymentOrder.as_str().into(),
            found: order.kind.as_str().into(),
        });
    }
    let salt = format!("pay/{}/{}", order.batch, order.partner);
    let mut result = Envelope::new(Kind::PaymentResult, order.batch, &order.partner, now);
    result.rows = order
        .rows
        .iter()
        .map(|row| {
            vec![
                row[0].clone(),
                row[1].clone(),
                row[2].clone(),
                row[5].clone(),
                row[6].clone(),
                plan.outcome(row, &salt).to_owned(),
            ]
        })
        .collect();
    result.to_bytes(bank_key)
}
