//! The NHSA interface (定点医药机构接口) as the store runs it: one [`Message`] per call, already
//! authenticated by the gateway (its institution is the caller's scope), decided in one
//! transaction together with the record of its answer, so a repeated `msgid` is answered from
//! that record and changes nothing. Inputs are typed here (the server parses the JSON once);
//! outputs are the interface's JSON, because that is what is kept and answered again.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use sscard_core::money::{Fixed4, Money};
use sscard_ids::ResidentId;

/// An institution's gateway credentials (`x-tif-paasid` and its token).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Credentials {
    /// `fixmedins_code`.
    pub institution: String,
    /// `x-tif-paasid`.
    pub paasid: String,
    /// The token the signature is computed with. Never printed by `Debug`.
    pub token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("institution", &self.institution)
            .field("paasid", &self.paasid)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// What the gateway knows of a paasid: whose it is and the token to verify with.
#[derive(Clone, PartialEq, Eq)]
pub struct GatewayKey {
    /// `fixmedins_code`.
    pub institution: String,
    /// The institution's name (`fixmedins_name`).
    pub name: String,
    /// The institution's region (a district code).
    pub region: String,
    /// The token.
    pub token: String,
}

impl std::fmt::Debug for GatewayKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayKey")
            .field("institution", &self.institution)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// One interface call, authenticated.
#[derive(Debug, Clone)]
pub struct Message {
    /// The calling institution (from its credentials, not from the body).
    pub institution: String,
    /// `x-tif-paasid`.
    pub paasid: String,
    /// `x-tif-nonce`: accepted once.
    pub nonce: String,
    /// `msgid`.
    pub msgid: String,
    /// `infno`.
    pub infno: String,
    /// `sign_no` (from 9001; every other transaction needs one of the institution's).
    pub sign_no: String,
    /// `opter`.
    pub opter: String,
    /// When the platform received it.
    pub at: DateTime<Utc>,
    /// The transaction's input.
    pub input: Input,
}

/// How a person shows themselves (`mdtrt_cert_type`).
#[derive(Debug, Clone)]
pub enum Certificate {
    /// `02`: the ID number.
    IdNumber(ResidentId),
    /// `03`: the social security card, checked online at one of the institution's terminals.
    Card {
        /// `mdtrt_cert_no`: the card number.
        number: String,
        /// `card_sn`: the card identification code.
        card_sn: String,
        /// `dev_safe_info`'s `check_token`, from the terminal's online check.
        check_token: String,
    },
}

impl Certificate {
    /// `02` / `03`.
    pub fn code(&self) -> &'static str {
        match self {
            Certificate::IdNumber(_) => "02",
            Certificate::Card { .. } => "03",
        }
    }
}

/// A registration (2201) or an admission (2401).
#[derive(Debug, Clone)]
pub struct Registration {
    /// `psn_no`.
    pub psn_no: String,
    /// `insutype`.
    pub insutype: String,
    /// `med_type` (2201 leaves it to 2203: 11, or 41 at a pharmacy).
    pub med_type: Option<String>,
    /// `begntime`.
    pub begntime: NaiveDateTime,
    /// `mdtrt_cert_type`.
    pub cert_type: String,
    /// `mdtrt_cert_no` (a card number with `03`).
    pub cert_no: String,
    /// `ipt_otp_no`: the institution's own outpatient or inpatient number.
    pub ipt_otp_no: String,
    /// `dise_codg` (2401's main diagnosis).
    pub dise_codg: Option<String>,
    /// `dise_name`.
    pub dise_name: Option<String>,
    /// An emergency (`med_type` 13 or 24, or 2401's `emergency_flag` 1): counts as filed.
    pub emergency: bool,
}

/// 2203: the visit's `med_type` and diagnosis.
#[derive(Debug, Clone)]
pub struct VisitInfo {
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// `med_type`.
    pub med_type: String,
    /// `dise_codg`.
    pub dise_codg: Option<String>,
    /// `dise_name`.
    pub dise_name: Option<String>,
}

/// One fee line (`feedetail`, 2204 / 2301).
#[derive(Debug, Clone)]
pub struct FeeInput {
    /// `feedetl_sn`: unique within the visit.
    pub feedetl_sn: String,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// `chrg_bchno`: the charge batch.
    pub chrg_bchno: String,
    /// `med_list_codg`: the item's code in the treatment place's catalogue.
    pub med_list_codg: String,
    /// `medins_list_codg`: the institution's own code.
    pub medins_list_codg: String,
    /// `fee_ocur_time`.
    pub fee_ocur_time: NaiveDateTime,
    /// `pric`.
    pub pric: Fixed4,
    /// `cnt` (negative: a refund of `init_feedetl_sn`, 2301).
    pub cnt: Fixed4,
    /// `det_item_fee_sumamt`.
    pub amount: Money,
}

/// Pre-settlement or settlement (2206 / 2207 / 2303 / 2304).
#[derive(Debug, Clone)]
pub struct SettleInput {
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// `insutype`.
    pub insutype: String,
    /// `med_type` (none: the visit's).
    pub med_type: Option<String>,
    /// `medfee_sumamt`: must be the sum of the visit's unsettled lines.
    pub medfee_sumamt: Money,
    /// `acct_used_flag` = 1.
    pub use_account: bool,
    /// `mid_setl_flag` = 1: an interim settlement of an inpatient stay before discharge.
    pub interim: bool,
}

/// 3201: the institution's totals for a period.
#[derive(Debug, Clone)]
pub struct TotalsInput {
    /// `insutype`.
    pub insutype: String,
    /// `clr_type` (11 outpatient, 21 inpatient, 41 pharmacy).
    pub clr_type: String,
    /// `stmt_begndate`.
    pub from: NaiveDate,
    /// `stmt_enddate`.
    pub to: NaiveDate,
    /// `medfee_sumamt`.
    pub medfee_sumamt: Money,
    /// `fund_pay_sumamt`.
    pub fund_pay_sumamt: Money,
    /// `acct_pay`.
    pub acct_pay: Money,
    /// `fixmedins_setl_cnt`.
    pub count: i64,
}

/// One settlement as the institution recorded it (3202's detail).
#[derive(Debug, Clone)]
pub struct DetailLine {
    /// `setl_id`.
    pub setl_id: String,
    /// `medfee_sumamt`.
    pub medfee_sumamt: Money,
    /// `fund_pay_sumamt`.
    pub fund_pay_sumamt: Money,
    /// `acct_pay`.
    pub acct_pay: Money,
}

/// 3202: the period and the institution's detail.
#[derive(Debug, Clone)]
pub struct DetailInput {
    /// The period and totals.
    pub totals: TotalsInput,
    /// Every settlement the institution has for the period.
    pub lines: Vec<DetailLine>,
}

/// 2501: a referral filing from a hospital.
#[derive(Debug, Clone)]
pub struct ReferralInput {
    /// `psn_no`.
    pub psn_no: String,
    /// `insutype`.
    pub insutype: String,
    /// `mdtrtarea_admdvs`: the city referred to.
    pub region: String,
    /// `reflin_medins_no`: the institution referred to.
    pub to_institution: String,
    /// `diag_code`.
    pub diag_code: String,
    /// `begndate`.
    pub from: NaiveDate,
    /// `enddate`.
    pub to: NaiveDate,
}

/// A transaction's input.
#[derive(Debug, Clone)]
pub enum Input {
    /// 9001 sign-in.
    SignIn {
        /// `opter_no`.
        opter_no: String,
        /// `mac`.
        mac: String,
        /// `ip`.
        ip: String,
    },
    /// 1101 person information.
    PersonInfo(Certificate),
    /// 2201 registration, 2401 admission.
    Register(Registration),
    /// 2202 cancel a registration, 2404 cancel an admission: a visit with nothing settled.
    CancelVisit {
        /// `mdtrt_id`.
        mdtrt_id: String,
        /// `psn_no`.
        psn_no: String,
    },
    /// 2203 visit and diagnosis.
    VisitInfo(VisitInfo),
    /// 2204 / 2301 fee lines.
    Fees(Vec<FeeInput>),
    /// 2205 / 2302: cancel a visit's unsettled lines (all, one charge batch, or the lines
    /// named; `feedetl_sn` `0000` is all).
    CancelFees {
        /// `mdtrt_id`.
        mdtrt_id: String,
        /// `psn_no`.
        psn_no: String,
        /// `chrg_bchno`.
        chrg_bchno: Option<String>,
        /// `feedetl_sn`s (none: all, or the charge batch's).
        feedetl_sn: Vec<String>,
    },
    /// 2206 / 2303 (`commit` false), 2207 / 2304 (`commit` true).
    Settle {
        /// The request.
        input: SettleInput,
        /// Settle (true) or only compute (false).
        commit: bool,
    },
    /// 2208 / 2305.
    CancelSettlement {
        /// `setl_id`.
        setl_id: String,
        /// `mdtrt_id`.
        mdtrt_id: String,
        /// `psn_no`.
        psn_no: String,
    },
    /// 2402 discharge.
    Discharge {
        /// `mdtrt_id`.
        mdtrt_id: String,
        /// `psn_no`.
        psn_no: String,
        /// `endtime`.
        endtime: NaiveDateTime,
    },
    /// 2501 referral filing.
    Referral(ReferralInput),
    /// 2502 cancel a referral filing.
    CancelReferral {
        /// `trt_dcla_detl_sn`.
        serial: String,
        /// `psn_no`.
        psn_no: String,
        /// `memo`.
        memo: String,
    },
    /// 2601 reversal of a message by its msgid.
    Reverse {
        /// `psn_no`.
        psn_no: String,
        /// `omsgid`.
        omsgid: String,
        /// `oinfno`.
        oinfno: String,
    },
    /// 3201 totals reconciliation.
    Totals(TotalsInput),
    /// 3202 detail reconciliation.
    Detail(DetailInput),
    /// 3203 the institution's clearing application for a month.
    ClearingApplication(ClearingApplication),
    /// 5206 the person's cumulative figures.
    Cumulative {
        /// `psn_no`.
        psn_no: String,
        /// The year (none: the current one).
        year: Option<i32>,
    },
}

/// A refusal, as the answer records it (`err_code`, `err_msg` zh, `err_msg_en`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Refusal {
    /// Our stable code.
    pub code: String,
    /// 中文.
    pub zh: String,
    /// English.
    pub en: String,
}

/// The answer to a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// `inf_refmsgid`.
    pub refmsgid: String,
    /// `output`, or the refusal (`infcode` −1).
    pub outcome: Result<serde_json::Value, Refusal>,
    /// Answered from the first message with the same msgid.
    pub replayed: bool,
}

/// 3203: an institution's clearing application for a month.
#[derive(Debug, Clone)]
pub struct ClearingApplication {
    /// `clr_type` (11, 21, 41).
    pub clr_type: String,
    /// `clr_way`.
    pub clr_way: String,
    /// `setlym`: the month, as `YYYYMM`.
    pub setlym: String,
    /// `psntime`: settlements (person-times).
    pub psntime: i64,
    /// `medfee_sumamt`.
    pub medfee_sumamt: Money,
    /// `fund_appy_sum`: the funds applied for.
    pub fund_appy_sum: Money,
    /// `acct_pay`.
    pub acct_pay: Money,
    /// `cash_payamt`.
    pub cash_payamt: Money,
}

/// One cell of the month's clearing: what the insured city's fund owes the treatment city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClearingEntry {
    /// The insured city (it pays).
    pub insured_region: String,
    /// The treatment city (it is paid).
    pub treatment_region: String,
    /// Settlements in force (cancelled ones do not count).
    pub settlements: i64,
    /// Funds paid.
    pub fund_pay_sumamt: Money,
    /// Personal accounts paid.
    pub acct_pay: Money,
}

/// A city's position in the month's clearing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CityPosition {
    /// The city.
    pub region: String,
    /// Owed to it (its institutions treated people insured elsewhere).
    pub owed: Money,
    /// It owes (its insured were treated elsewhere).
    pub owes: Money,
    /// `owed − owes`.
    pub net: Money,
}

/// The month's clearing between the cities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clearing {
    /// `YYYY-MM`.
    pub month: String,
    /// Every (insured city, treatment city) with cross-region settlements.
    pub entries: Vec<ClearingEntry>,
    /// Each city's position; the nets sum to zero.
    pub positions: Vec<CityPosition>,
}
