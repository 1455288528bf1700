//! Terminals at designated institutions: enrolment, the online card check, the readiness
//! programme's problems and report.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sscard_core::{CheckResult, SsStatus, TerminalState};

/// A terminal just enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerminalEnrolment {
    /// The 12-digit terminal number (district + serial): also the PSAM's terminal number.
    pub number: String,
    /// The institution's code.
    pub institution: String,
    /// The institution's name.
    pub institution_name: String,
    /// The PSAM's algorithm (`sm4` or `3des`).
    pub alg: String,
    /// The device number.
    pub device: String,
    /// `enrolled`.
    pub state: TerminalState,
}

/// A terminal as the registry shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerminalView {
    /// Terminal number.
    pub number: String,
    /// Institution code.
    pub institution: String,
    /// Institution name.
    pub institution_name: String,
    /// District of the institution.
    pub region: String,
    /// `enrolled`, `ready` or `suspended`.
    pub state: TerminalState,
    /// When it passed the self-test.
    pub ready_at: Option<DateTime<Utc>>,
    /// Problems not resolved yet.
    pub open_problems: u32,
    /// Checks recorded.
    pub checks: u32,
}

/// What a terminal sends for one card check (`POST /api/v1/terminal/checks`).
pub use sscard_chip::online::CheckBody as CheckRequest;

/// The cryptography a check needs, provided by the key service (the store holds no key).
pub trait CheckCrypto: Send + Sync {
    /// Whether the request's MAC is the terminal's.
    fn mac_ok(&self, req: &CheckRequest) -> bool;
    /// Whether the card's cryptogram proves it holds its keys; `sm4` says the card's algorithm.
    fn card_ok(&self, req: &CheckRequest, sm4: bool) -> bool;
    /// Whether the request is about the platform's test card (number and identification code).
    fn is_test_card(&self, req: &CheckRequest) -> bool;
    /// Self-test: whether the PSAM's answer is what this province's keys give.
    fn psam_ok(&self, req: &CheckRequest) -> bool;
}

/// Online check, self-test, or an offline use uploaded later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// `POST /api/v1/terminal/checks`.
    Online,
    /// `POST /api/v1/terminal/selftest`.
    Selftest,
}

impl CheckKind {
    pub(crate) fn code(self) -> i32 {
        match self {
            Self::Online => 1,
            Self::Selftest => 2,
        }
    }
}

/// The platform's answer to a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    /// The decision.
    pub result: CheckResult,
    /// The card checked (when known).
    pub card_number: Option<String>,
    /// `legacy`, `second` or `third`.
    pub generation: Option<String>,
    /// The card's social-security status.
    pub ss_status: Option<SsStatus>,
    /// The holder's name, masked.
    pub holder_masked: Option<String>,
    /// The insured city (six digits) the settlement goes to.
    pub insured_city: Option<String>,
    /// Proof the card was present, for settlement (ok checks only; shown once).
    pub check_token: Option<String>,
    /// Until when the token is accepted.
    pub valid_until: Option<DateTime<Utc>>,
    /// Older cards this first use superseded.
    pub superseded: Vec<String>,
    /// When the platform decided.
    pub checked_at: DateTime<Utc>,
}

/// A readiness problem (改造问题) of one terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerminalProblem {
    /// Its number (for `resolve`).
    pub number: i64,
    /// Terminal number.
    pub terminal: String,
    /// Institution code.
    pub institution: String,
    /// Institution name.
    pub institution_name: String,
    /// District.
    pub region: String,
    /// `reader`, `psam`, `network`, `his`, `other`.
    pub category: String,
    /// What is wrong.
    pub note: String,
    /// When it was opened, and by whom.
    pub opened_at: DateTime<Utc>,
    /// Who opened it.
    pub opened_by: String,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// How.
    pub resolution: Option<String>,
}

/// The categories of readiness problems.
pub const PROBLEM_CATEGORIES: [&str; 5] = ["reader", "psam", "network", "his", "other"];

/// One line of the readiness report: a district and an institution kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadinessLine {
    /// District (six digits).
    pub region: String,
    /// `hospital` or `pharmacy`.
    pub kind: String,
    /// Institutions registered.
    pub institutions: u32,
    /// Terminals enrolled (any state).
    pub terminals: u32,
    /// Terminals ready.
    pub ready: u32,
    /// Terminals suspended.
    pub suspended: u32,
    /// Problems open.
    pub open_problems: u32,
    /// Ready terminals in tenths of a percent of all terminals (exact integer arithmetic).
    pub ready_permille: u32,
}

fn from_hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_default()
}

/// The key service is the platform's check cryptography.
impl CheckCrypto for sscard_chip::online::KeyService {
    fn mac_ok(&self, req: &CheckRequest) -> bool {
        sscard_chip::online::request_mac_ok(
            &self.terminal_key(&req.terminal),
            &req.mac_text(),
            &from_hex(&req.mac),
        )
    }

    fn card_ok(&self, req: &CheckRequest, sm4: bool) -> bool {
        let alg = if sm4 {
            sscard_chip::crypto::Algorithm::Sm4
        } else {
            sscard_chip::crypto::Algorithm::Tdes
        };
        self.card_answer_ok(
            alg,
            &req.card_id_code,
            &req.binding(),
            &from_hex(&req.card_cryptogram),
        )
    }

    fn is_test_card(&self, req: &CheckRequest) -> bool {
        let card = sscard_chip::issue::IssueData::demo();
        req.card_number == card.card_number.as_str()
            && req
                .card_id_code
                .eq_ignore_ascii_case(card.card_id_code.as_str())
    }

    fn psam_ok(&self, req: &CheckRequest) -> bool {
        // The PSAM's answer must be what this province's keys give for the test card.
        let answer = from_hex(req.psam_answer.as_deref().unwrap_or_default());
        self.card_answer_ok(
            sscard_chip::crypto::Algorithm::Sm4,
            &req.card_id_code,
            &req.binding(),
            &answer,
        )
    }
}

/// `part` in tenths of a percent of `whole` (0 when there is no whole), in integers.
pub fn permille(part: u32, whole: u32) -> u32 {
    (part * 1000).checked_div(whole).unwrap_or(0)
}

/// The deny list since a version: changes in order (a card may appear more than once; the last
/// change wins), and the version to ask from next time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DenyList {
    /// The version after these changes.
    pub version: i64,
    /// The changes, oldest first.
    pub changes: Vec<DenyChange>,
}

/// One change of a card's blocked status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DenyChange {
    /// Its version.
    pub version: i64,
    /// The card.
    pub card_number: String,
    /// What a check answers (`card.formal_loss`, …); `None`: no longer blocked.
    pub reason: Option<String>,
}

/// What became of one uploaded offline use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfflineOutcome {
    /// The terminal's counter of the use.
    pub counter: u64,
    /// The card.
    pub card_number: String,
    /// `accepted`, `flagged`, `already` (uploaded before; nothing changed) or `refused` (not
    /// this terminal's: bad MAC or unknown terminal; nothing recorded).
    pub outcome: String,
    /// Why it was flagged or refused (a check result code).
    pub reason: Option<String>,
}

/// A reconciled offline use, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfflineUse {
    /// Terminal number.
    pub terminal: String,
    /// Institution code.
    pub institution: String,
    /// The terminal's counter.
    pub counter: i64,
    /// The card.
    pub card_number: String,
    /// When the terminal accepted it.
    pub used_at: DateTime<Utc>,
    /// When it was uploaded.
    pub uploaded_at: DateTime<Utc>,
    /// `accepted` or `flagged`.
    pub outcome: String,
    /// Why it was flagged.
    pub reason: Option<String>,
}

/// A check's cryptography, decided by the caller before the check joins a batch: the batch
/// holds no key, and the callers' threads share the work.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decided {
    mac: bool,
    card_sm4: bool,
    card_3des: bool,
}

impl Decided {
    pub(crate) fn new(req: &CheckRequest, crypto: &dyn CheckCrypto) -> Self {
        let mac = crypto.mac_ok(req);
        let card_sm4 = mac && crypto.card_ok(req, true);
        Self {
            mac,
            card_sm4,
            // An 8-byte answer that is the card's under SM4 is not also its 3DES answer (but
            // for a chance of 2⁻⁶⁴), so the second is worked out only when the first fails.
            card_3des: mac && !card_sm4 && crypto.card_ok(req, false),
        }
    }
}

impl CheckCrypto for Decided {
    fn mac_ok(&self, _req: &CheckRequest) -> bool {
        self.mac
    }
    fn card_ok(&self, _req: &CheckRequest, sm4: bool) -> bool {
        if sm4 { self.card_sm4 } else { self.card_3des }
    }
    // Self-tests do not come in batches.
    fn is_test_card(&self, _req: &CheckRequest) -> bool {
        false
    }
    fn psam_ok(&self, _req: &CheckRequest) -> bool {
        false
    }
}

/// One online check waiting for the check writer.
#[derive(Debug, Clone)]
pub(crate) struct BatchedCheck {
    pub(crate) ctx: crate::Ctx,
    pub(crate) req: CheckRequest,
    pub(crate) crypto: Decided,
}
