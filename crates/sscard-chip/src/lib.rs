//! The social security card chip in software (work in progress, issue 5).
//!
//! - [`crypto`]: the block ciphers (SM4, GB/T 32907; two-key 3DES for 2nd-generation cards),
//!   ISO 9797-1 padding method 2, SM4-CBC-MAC and the 3DES retail MAC (MAC algorithm 3), key
//!   diversification and session keys; keys are zeroized, MACs compared in constant time.
//! - [`apdu`]: ISO 7816-4 command and response APDUs (short and extended length) and the status
//!   words the field relies on.
//!
//! No database, no I/O.

pub mod apdu;
pub mod crypto;
