//! Check-character schemes used by the identifiers. Pure arithmetic, no allocation.

/// ISO 7064:1983 MOD 11-2 over the 17 leading digits of a GB 11643 number.
///
/// Weights are 2^(18−i) mod 11 for position i; the result maps `r = Σ mod 11` to
/// `1 0 X 9 8 7 6 5 4 3 2`.
pub(crate) fn mod11_2(digits: &[u8; 17]) -> u8 {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// Value of a card-number / organisation-code character: `0`–`9` → 0–9, `A`–`Z` → 10–35.
pub(crate) fn alnum_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// Weighted MOD 11 check over 8 characters with weights `3 7 9 10 5 8 4 2`, as used by the
/// social security card number (ssc-facts §2.2) and the GB 11714 organisation code.
///
/// `c = 11 − (Σ mod 11)`; 10 is written `X`, 11 is written `0`.
pub(crate) fn weighted_mod11(body: [u8; 8]) -> Option<u8> {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let mut sum = 0;
    for (c, w) in body.iter().zip(WEIGHTS) {
        sum += alnum_value(*c)? * w;
    }
    Some(match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        c => b'0' + c as u8,
    })
}

/// The 31 characters of a unified social credit code (GB 32100-2015): digits and capital
/// letters without I, O, Z, S and V.
pub(crate) const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Value of a credit-code character in [`CREDIT_ALPHABET`].
pub(crate) fn credit_value(c: u8) -> Option<u32> {
    CREDIT_ALPHABET
        .iter()
        .position(|&a| a == c)
        .map(|p| p as u32)
}

/// GB 32100-2015 MOD 31 check character over the first 17 characters.
///
/// Weights are 3^(i−1) mod 31; `c = 31 − (Σ mod 31)`, with 31 written `0`.
pub(crate) fn mod31(body: &[u8; 17]) -> Option<u8> {
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let mut sum = 0;
    for (c, w) in body.iter().zip(WEIGHTS) {
        sum += credit_value(*c)? * w;
    }
    let c = (31 - sum % 31) % 31;
    Some(CREDIT_ALPHABET[c as usize])
}

/// Luhn (ISO/IEC 7812-1) check over a digit string including its check digit.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    luhn_sum(digits).is_multiple_of(10)
}

/// The Luhn check digit to append to `payload` (digits only).
pub(crate) fn luhn_check_digit(payload: &[u8]) -> u8 {
    // Appending a 0 and computing the sum gives the deficit to the next multiple of ten.
    let mut with_zero = payload.to_vec();
    with_zero.push(b'0');
    b'0' + ((10 - luhn_sum(&with_zero) % 10) % 10) as u8
}

fn luhn_sum(digits: &[u8]) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod11_2_matches_the_standard_examples() {
        assert_eq!(mod11_2(b"11010519491231002"), b'X');
        assert_eq!(mod11_2(b"44052418800101001"), b'4');
    }

    #[test]
    fn mod11_2_weights_are_powers_of_two() {
        // A single 1 at position i contributes exactly its weight 2^(17-i) mod 11.
        for i in 0..17 {
            let mut digits = [b'0'; 17];
            digits[i] = b'1';
            let weight = (1u32 << (17 - i)) % 11;
            let expected = b"10X98765432"[(weight % 11) as usize];
            assert_eq!(mod11_2(&digits), expected, "position {i}");
        }
    }

    #[test]
    fn card_number_sample_from_the_spec() {
        assert_eq!(weighted_mod11(*b"X0000001"), Some(b'9'));
    }

    #[test]
    fn organisation_code_check() {
        // GB 11714 organisation code example D2143569-X is a documented textbook value.
        assert_eq!(weighted_mod11(*b"D2143569"), Some(b'X'));
    }

    #[test]
    fn luhn_known_values() {
        assert!(luhn_valid(b"79927398713"));
        assert!(!luhn_valid(b"79927398710"));
        assert_eq!(luhn_check_digit(b"7992739871"), b'3');
    }

    #[test]
    fn mod31_known_value() {
        // A widely published sample code; its check character is computed by the standard rule.
        assert_eq!(mod31(b"91350100M000100Y4"), Some(b'3'));
    }
}
