//! Card/terminal cryptography: SM4 and two-key 3DES block encryption, ISO 9797-1 MACs, key
//! diversification and session keys.
//!
//! Conventions (documented here because the normative texts are not public in full, see
//! ssc-facts §4):
//! - **Padding**: ISO 9797-1 method 2 — append `80`, then `00` up to a multiple of the block.
//! - **SM4 MAC**: CBC-MAC (ISO 9797-1 MAC algorithm 1) with SM4 over the padded data, IV given
//!   (the card's challenge, zero-extended to 16 bytes); the MAC carried in APDUs is the left
//!   4 bytes of the last block.
//! - **3DES retail MAC**: ISO 9797-1 MAC algorithm 3 — single-DES CBC with K1 over every block,
//!   then the last block decrypted with K2 and encrypted with K1; APDUs carry its left 4 bytes.
//! - **Diversification** (one level): for 3DES the child key is
//!   `3DES(K, D) ‖ 3DES(K, ¬D)` for the 8-byte factor D (PBoC); for SM4 it is `SM4(K, D ‖ ¬D)`.
//!   The factor of each level is listed in [`DiversificationFactor`].
//! - **Session keys**: one more diversification step with the card's 8-byte challenge; secure
//!   messaging MACs ([`session_mac`]) are computed under the session key with a zero IV.

use cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The algorithm a key is used with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// SM4 (GB/T 32907-2016), 16-byte blocks: the current generation.
    Sm4,
    /// Two-key triple DES (EDE), 8-byte blocks: 2nd-generation compatibility.
    Tdes,
}

impl Algorithm {
    /// Block size in bytes.
    pub fn block(self) -> usize {
        match self {
            Algorithm::Sm4 => 16,
            Algorithm::Tdes => 8,
        }
    }
}

/// A 16-byte secret key (SM4, or 3DES K1‖K2). Zeroized on drop; `Debug` never shows it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key16([u8; 16]);

impl PartialEq for Key16 {
    /// Constant-time: key comparisons must not leak where two keys differ.
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl Eq for Key16 {}

impl std::fmt::Debug for Key16 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key16(**redacted**)")
    }
}

impl Key16 {
    /// Wraps raw key bytes.
    pub fn new(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Parses 32 hex characters.
    pub fn from_hex(hex_text: &str) -> Option<Self> {
        let v = hex::decode(hex_text).ok()?;
        Some(Self(v.try_into().ok()?))
    }

    /// The raw bytes, for sealing into a key store. Named so every use stands out.
    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }

    /// The key expanded for `alg`, for encrypting many blocks.
    pub fn cipher(&self, alg: Algorithm) -> Cipher {
        match alg {
            Algorithm::Sm4 => Cipher::Sm4(sm4::Sm4::new(GenericArray::from_slice(&self.0))),
            Algorithm::Tdes => Cipher::Tdes(des::TdesEde2::new(GenericArray::from_slice(&self.0))),
        }
    }

    /// Encrypts one block (16 bytes for SM4, 8 for 3DES) in place.
    pub fn encrypt_block(&self, alg: Algorithm, block: &mut [u8]) {
        self.cipher(alg).encrypt_block(block);
    }

    /// Decrypts one block in place.
    pub fn decrypt_block(&self, alg: Algorithm, block: &mut [u8]) {
        self.cipher(alg).decrypt_block(block);
    }

    /// Derives a child key from an 8-byte factor (see the module documentation).
    #[must_use]
    pub fn diversify(&self, alg: Algorithm, factor: &[u8; 8]) -> Key16 {
        let mut inverted = *factor;
        for b in &mut inverted {
            *b = !*b;
        }
        let mut out = [0u8; 16];
        match alg {
            Algorithm::Sm4 => {
                out[..8].copy_from_slice(factor);
                out[8..].copy_from_slice(&inverted);
                self.encrypt_block(alg, &mut out);
            }
            Algorithm::Tdes => {
                out[..8].copy_from_slice(factor);
                out[8..].copy_from_slice(&inverted);
                let (left, right) = out.split_at_mut(8);
                self.encrypt_block(alg, left);
                self.encrypt_block(alg, right);
            }
        }
        let key = Key16(out);
        out.zeroize();
        key
    }
}

/// An expanded key. The cipher crates zeroize their round keys on drop (their `zeroize` feature).
pub enum Cipher {
    /// SM4.
    Sm4(sm4::Sm4),
    /// Two-key 3DES.
    Tdes(des::TdesEde2),
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(**redacted**)")
    }
}

impl Cipher {
    /// Encrypts one block in place.
    pub fn encrypt_block(&self, block: &mut [u8]) {
        match self {
            Cipher::Sm4(c) => c.encrypt_block(GenericArray::from_mut_slice(block)),
            Cipher::Tdes(c) => c.encrypt_block(GenericArray::from_mut_slice(block)),
        }
    }

    /// Decrypts one block in place.
    pub fn decrypt_block(&self, block: &mut [u8]) {
        match self {
            Cipher::Sm4(c) => c.decrypt_block(GenericArray::from_mut_slice(block)),
            Cipher::Tdes(c) => c.decrypt_block(GenericArray::from_mut_slice(block)),
        }
    }
}

/// The data that diversifies a key one level down the hierarchy root → province → city → card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiversificationFactor {
    /// Province level: the 2-digit province code in ASCII, `0000`, then `sh` (ssc-facts §4.2).
    Province(u8),
    /// City level: the 6-digit region code in ASCII, then `sx`.
    City(u32),
    /// Card level: the 8 chip-specific bytes of the card identification code.
    Card([u8; 8]),
}

impl DiversificationFactor {
    /// The 8 bytes fed to [`Key16::diversify`].
    pub fn bytes(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        match self {
            DiversificationFactor::Province(p) => {
                out.copy_from_slice(format!("{p:02}0000sh").as_bytes());
            }
            DiversificationFactor::City(c) => {
                out.copy_from_slice(format!("{c:06}sx").as_bytes());
            }
            DiversificationFactor::Card(b) => out = *b,
        }
        out
    }
}

/// ISO 9797-1 padding method 2.
pub fn pad_method2(data: &[u8], block: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + block);
    v.extend_from_slice(data);
    v.push(0x80);
    while v.len() % block != 0 {
        v.push(0);
    }
    v
}

/// SM4-CBC-MAC over `data` (padding method 2) with the given IV; the full last block.
pub fn sm4_cbc_mac(key: &Key16, iv: &[u8; 16], data: &[u8]) -> [u8; 16] {
    let cipher = key.cipher(Algorithm::Sm4);
    let mut state = *iv;
    for chunk in pad_method2(data, 16).chunks(16) {
        for (s, d) in state.iter_mut().zip(chunk) {
            *s ^= d;
        }
        cipher.encrypt_block(&mut state);
    }
    state
}

/// ISO 9797-1 MAC algorithm 3 (the retail MAC) over `data` (padding method 2) with the given
/// IV: DES-CBC under K1, then the last block decrypted under K2 and encrypted under K1.
pub fn retail_mac(key: &Key16, iv: &[u8; 8], data: &[u8]) -> [u8; 8] {
    let k = key.expose();
    let k1 = des::Des::new(GenericArray::from_slice(&k[..8]));
    let k2 = des::Des::new(GenericArray::from_slice(&k[8..]));
    let mut state = *iv;
    for chunk in pad_method2(data, 8).chunks(8) {
        for (s, d) in state.iter_mut().zip(chunk) {
            *s ^= d;
        }
        k1.encrypt_block(GenericArray::from_mut_slice(&mut state));
    }
    k2.decrypt_block(GenericArray::from_mut_slice(&mut state));
    k1.encrypt_block(GenericArray::from_mut_slice(&mut state));
    state
}

/// The 4-byte MAC carried in secure-messaging APDUs for `alg`; the IV is the card's challenge
/// (8 bytes, zero-extended for SM4).
pub fn mac4(alg: Algorithm, key: &Key16, challenge: &[u8; 8], data: &[u8]) -> [u8; 4] {
    let mut out = [0u8; 4];
    match alg {
        Algorithm::Sm4 => {
            let mut iv = [0u8; 16];
            iv[..8].copy_from_slice(challenge);
            out.copy_from_slice(&sm4_cbc_mac(key, &iv, data)[..4]);
        }
        Algorithm::Tdes => out.copy_from_slice(&retail_mac(key, challenge, data)[..4]),
    }
    out
}

/// The MAC of a secure-messaging command: a session key derived from the card key with the
/// card's fresh 8-byte challenge (one more diversification step), then [`mac4`] with a zero IV.
/// A spent challenge makes every earlier MAC worthless.
pub fn session_mac(alg: Algorithm, key: &Key16, challenge: &[u8; 8], data: &[u8]) -> [u8; 4] {
    let session = key.diversify(alg, challenge);
    mac4(alg, &session, &[0; 8], data)
}

/// Compares two MACs or cryptograms in constant time.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The 8-byte cryptogram of authentication: the key's encryption of `data8` (SM4: of
/// `data8 ‖ ¬data8`, left 8 bytes).
pub fn cryptogram(alg: Algorithm, key: &Key16, data8: &[u8; 8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    match alg {
        Algorithm::Sm4 => {
            let mut block = [0u8; 16];
            block[..8].copy_from_slice(data8);
            for (i, b) in data8.iter().enumerate() {
                block[8 + i] = !b;
            }
            key.encrypt_block(alg, &mut block);
            out.copy_from_slice(&block[..8]);
            block.zeroize();
        }
        Algorithm::Tdes => {
            out = *data8;
            key.encrypt_block(alg, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn sm4_gbt_32907_example_1() {
        let key = Key16::from_hex("0123456789abcdeffedcba9876543210").unwrap();
        let mut block = h("0123456789abcdeffedcba9876543210");
        key.encrypt_block(Algorithm::Sm4, &mut block);
        assert_eq!(hex::encode(&block), "681edf34d206965e86b3e94f536e4246");
        key.decrypt_block(Algorithm::Sm4, &mut block);
        assert_eq!(hex::encode(&block), "0123456789abcdeffedcba9876543210");
    }

    #[test]
    fn sm4_gbt_32907_example_2_million_iterations() {
        let key = Key16::from_hex("0123456789abcdeffedcba9876543210").unwrap();
        let mut block = h("0123456789abcdeffedcba9876543210");
        for _ in 0..1_000_000 {
            key.encrypt_block(Algorithm::Sm4, &mut block);
        }
        assert_eq!(hex::encode(&block), "595298c7c6fd271f0402f804c33d3f66");
    }

    #[test]
    fn des_classic_worked_example_and_tdes_degenerates_to_des() {
        // K1 = K2 makes EDE single DES: the classic worked example 133457799BBCDFF1.
        let key = Key16::from_hex("133457799bbcdff1133457799bbcdff1").unwrap();
        let mut block = h("0123456789abcdef");
        key.encrypt_block(Algorithm::Tdes, &mut block);
        assert_eq!(hex::encode(&block), "85e813540f0ab405");
    }

    #[test]
    fn padding_method_2() {
        assert_eq!(pad_method2(b"", 8), h("8000000000000000"));
        assert_eq!(
            pad_method2(&h("0102030405060708"), 8),
            h("01020304050607088000000000000000")
        );
        assert_eq!(pad_method2(&h("01"), 16).len(), 16);
    }

    #[test]
    fn retail_mac_with_equal_halves_is_plain_des_cbc_mac() {
        // With K1 = K2 the final D_K2/E_K1 cancel out: the result is the DES CBC-MAC.
        let key = Key16::from_hex("0123456789abcdef0123456789abcdef").unwrap();
        let data = b"Now is the time for all ";
        let mac = retail_mac(&key, &[0; 8], data);
        let single = Key16::from_hex("0123456789abcdef0123456789abcdef").unwrap();
        let mut state = [0u8; 8];
        for chunk in pad_method2(data, 8).chunks(8) {
            for (s, d) in state.iter_mut().zip(chunk) {
                *s ^= d;
            }
            single.encrypt_block(Algorithm::Tdes, &mut state);
        }
        assert_eq!(mac, state);
    }

    #[test]
    fn iso9797_mac_algorithm_3_known_answer() {
        // Padding method 2, IV 0. The expected value was computed independently with OpenSSL 3.0:
        // `enc -des-cbc` under K1 over the padded data, then `enc -d -des-ecb` under K2 and
        // `enc -des-ecb` under K1 on the last block.
        let key = Key16::from_hex("0123456789abcdeffedcba9876543210").unwrap();
        let mac = retail_mac(&key, &[0; 8], b"Now is the time for all ");
        assert_eq!(hex::encode(mac), "e9086230ca3be796");
        assert_eq!(
            mac4(Algorithm::Tdes, &key, &[0; 8], b"Now is the time for all "),
            [0xe9, 0x08, 0x62, 0x30]
        );
    }

    #[test]
    fn diversification_factors() {
        assert_eq!(&DiversificationFactor::Province(32).bytes(), b"320000sh");
        assert_eq!(&DiversificationFactor::City(321_200).bytes(), b"321200sx");
    }

    #[test]
    fn diversified_keys_differ_per_factor_and_algorithm() {
        let root = Key16::from_hex("00112233445566778899aabbccddeeff").unwrap();
        let a = root.diversify(Algorithm::Sm4, b"320000sh");
        let b = root.diversify(Algorithm::Sm4, b"330000sh");
        let c = root.diversify(Algorithm::Tdes, b"320000sh");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(format!("{a:?}"), "Key16(**redacted**)");
    }

    #[test]
    fn constant_time_compare() {
        assert!(ct_eq(&[1, 2, 3, 4], &[1, 2, 3, 4]));
        assert!(!ct_eq(&[1, 2, 3, 4], &[1, 2, 3, 5]));
        assert!(!ct_eq(&[1, 2, 3], &[1, 2, 3, 4]));
    }
}
