//! Identifiers of the social security card programme as typed values.
//!
//! Each identifier is a type you can only obtain by parsing (`ResidentId::parse`,
//! `CardNumber::parse`, …); the inner value is private, so holding one means it is valid.
//! Failures are typed errors with a stable [`Bilingual::code`] and messages in zh-CN and English
//! that say what is wrong and how to fix it.
//!
//! Personal data is masked by construction: `Display` and `Debug` of [`ResidentId`] and
//! [`BankCardNumber`] show `3212**********123X`-style values; the full value comes only from an
//! explicitly named method (`expose`).
//!
//! Pure, tiny, no I/O. The one thing read from the outside world is the clock, in
//! [`china_today`], used by the convenience parsers to refuse birth dates in the future; every
//! such parser has an `_on(…, today)` twin for deterministic use.

mod bank_card;
mod card_id_code;
mod card_number;
mod checksum;
mod credit_code;
mod institution;
mod mask;
mod message;
mod person_name;
mod region;
mod resident_id;

pub use bank_card::{BankCardError, BankCardNumber};
pub use card_id_code::{CardIdCode, CardIdCodeError, MOHRSS_RID};
pub use card_number::{CardNumber, CardNumberError, CardNumberGenerator};
pub use credit_code::{CreditCode, CreditCodeError};
pub use institution::{InstitutionCode, InstitutionCodeError, InstitutionKind};
pub use mask::mask_middle;
pub use message::Bilingual;
pub use person_name::{
    ChipName, NAME_EXTENSION_BYTES, NAME_FIELD_BYTES, PersonName, PersonNameError,
};
pub use region::{
    JIANGSU_CITIES, Province, RegionCode, RegionCodeError, RegionInfo, SERVICE_AREAS, ServiceArea,
};
pub use resident_id::{ResidentId, ResidentIdError, Sex, china_today};
