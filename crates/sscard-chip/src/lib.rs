//! The social security card chip in software (work in progress, issue 5).
//!
//! - [`crypto`]: the block ciphers (SM4, GB/T 32907; two-key 3DES for 2nd-generation cards),
//!   ISO 9797-1 padding method 2, SM4-CBC-MAC and the 3DES retail MAC (MAC algorithm 3), key
//!   diversification and session keys; keys are zeroized, MACs compared in constant time.
//! - [`apdu`]: ISO 7816-4 command and response APDUs (short and extended length) and the status
//!   words the field relies on.
//!
//! - [`keys`]: the key hierarchy root → province → city → card per key usage, and the published
//!   **test** key set.
//! - [`card`]: the card OS — files, records, access conditions, PINs, authentication, the bank
//!   partition, T=0 behaviour.
//! - [`terminal`]: a terminal with a PSAM (province keys) talking to a card over any
//!   [`terminal::Transport`]; produces the national reader-interface string.
//!
//! No database, no I/O.

pub mod apdu;
pub mod card;
pub mod crypto;
pub mod file;
pub mod issue;
pub mod keys;
pub mod online;
#[cfg(feature = "pcsc")]
pub mod pcsc_transport;
pub mod psam;
pub mod terminal;
pub mod tlv;
pub mod vpcd;
