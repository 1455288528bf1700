//! The key hierarchy root → province → city → card, one tree per key usage, each level
//! diversified from its parent ([`crate::crypto::Key16::diversify`] with the factors of
//! [`DiversificationFactor`]). Any holder of a province's keys (a PSAM) derives the keys of any
//! card of that province ("一卡通用"); a leaked card key exposes only that card.

use crate::crypto::{Algorithm, DiversificationFactor, Key16};

/// What a key is for. Each usage has its own tree, so one key never serves two purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyUsage {
    /// The card proves itself (INTERNAL AUTHENTICATE).
    InternalAuth,
    /// The terminal proves itself to the social-security application (EXTERNAL AUTHENTICATE,
    /// "RKSSSE").
    ExternalAuth,
    /// PIN unblock (`84 24` with MAC).
    PinUnblock,
    /// Updates under secure messaging (`04 DC` with MAC).
    UpdateMac,
    /// The bank application's own authentication key (its partition).
    BankAuth,
}

impl KeyUsage {
    /// Every usage.
    pub const ALL: [KeyUsage; 5] = [
        KeyUsage::InternalAuth,
        KeyUsage::ExternalAuth,
        KeyUsage::PinUnblock,
        KeyUsage::UpdateMac,
        KeyUsage::BankAuth,
    ];

    /// The social-security usages (a social-security PSAM holds these, not the bank's).
    pub const SOCIAL_SECURITY: [KeyUsage; 4] = [
        KeyUsage::InternalAuth,
        KeyUsage::ExternalAuth,
        KeyUsage::PinUnblock,
        KeyUsage::UpdateMac,
    ];

    /// The key id used in P2 of EXTERNAL AUTHENTICATE and in key-store files.
    pub fn id(self) -> u8 {
        match self {
            KeyUsage::InternalAuth => 0x01,
            KeyUsage::ExternalAuth => 0x0A,
            KeyUsage::PinUnblock => 0x03,
            KeyUsage::UpdateMac => 0x06,
            KeyUsage::BankAuth => 0x21,
        }
    }
}

/// Keys of one level for a set of usages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySet {
    /// The algorithm of every key in the set.
    pub alg: Algorithm,
    keys: Vec<(KeyUsage, Key16)>,
}

impl KeySet {
    /// A key set from keys.
    pub fn new(alg: Algorithm, keys: Vec<(KeyUsage, Key16)>) -> Self {
        Self { alg, keys }
    }

    /// The key of a usage, if this set holds it.
    pub fn get(&self, usage: KeyUsage) -> Option<&Key16> {
        self.keys.iter().find(|(u, _)| *u == usage).map(|(_, k)| k)
    }

    /// The usages held.
    pub fn usages(&self) -> impl Iterator<Item = KeyUsage> + '_ {
        self.keys.iter().map(|(u, _)| *u)
    }

    /// One level down: every key diversified with `factor`.
    #[must_use]
    pub fn diversify(&self, factor: &DiversificationFactor) -> KeySet {
        let data = factor.bytes();
        KeySet {
            alg: self.alg,
            keys: self
                .keys
                .iter()
                .map(|(u, k)| (*u, k.diversify(self.alg, &data)))
                .collect(),
        }
    }

    /// Only the given usages (what a PSAM of one kind is loaded with).
    #[must_use]
    pub fn only(&self, usages: &[KeyUsage]) -> KeySet {
        KeySet {
            alg: self.alg,
            keys: self
                .keys
                .iter()
                .filter(|(u, _)| usages.contains(u))
                .cloned()
                .collect(),
        }
    }

    /// The keys of a card: province → city → card.
    #[must_use]
    pub fn card_keys(&self, city: u32, chip: [u8; 8]) -> KeySet {
        self.diversify(&DiversificationFactor::City(city))
            .diversify(&DiversificationFactor::Card(chip))
    }
}

/// **TEST KEY SET — NOT FOR PRODUCTION.** Published root keys so that any demo card works with
/// any demo PSAM and anyone can check our traces. Real roots live in a key store outside the
/// repository. The roots are SM3-free, human-checkable patterns: usage id repeated.
pub fn test_root_keys(alg: Algorithm) -> KeySet {
    let keys = KeyUsage::ALL
        .into_iter()
        .map(|u| {
            let mut k = [0u8; 16];
            for (i, b) in k.iter_mut().enumerate() {
                *b = u.id().wrapping_mul(0x11) ^ (i as u8).wrapping_mul(0x07) ^ 0x5A;
            }
            (u, Key16::new(k))
        })
        .collect();
    KeySet::new(alg, keys)
}

/// The test province keys of Jiangsu (province code 32) for `alg`.
pub fn test_province_keys(alg: Algorithm) -> KeySet {
    test_root_keys(alg).diversify(&DiversificationFactor::Province(32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_province_key_holder_derives_any_card_key_of_the_province() {
        let province = test_province_keys(Algorithm::Sm4);
        let chip = [1, 2, 3, 4, 5, 6, 7, 8];
        let issued = test_root_keys(Algorithm::Sm4)
            .diversify(&DiversificationFactor::Province(32))
            .diversify(&DiversificationFactor::City(321_200))
            .diversify(&DiversificationFactor::Card(chip));
        assert_eq!(province.card_keys(321_200, chip), issued);
        // Another card, another key; another city, another key.
        assert_ne!(
            province
                .card_keys(321_200, [9; 8])
                .get(KeyUsage::InternalAuth),
            issued.get(KeyUsage::InternalAuth)
        );
        assert_ne!(
            province
                .card_keys(320_200, chip)
                .get(KeyUsage::InternalAuth),
            issued.get(KeyUsage::InternalAuth)
        );
        // Usages never share a key.
        assert_ne!(
            issued.get(KeyUsage::InternalAuth),
            issued.get(KeyUsage::ExternalAuth)
        );
        let ss_only = province.only(&KeyUsage::SOCIAL_SECURITY);
        assert!(ss_only.get(KeyUsage::BankAuth).is_none());
    }
}
