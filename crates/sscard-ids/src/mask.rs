//! Masking of personal data for display, logs and error messages.

/// Keeps the first `keep_start` and last `keep_end` characters and replaces the rest with `*`.
/// If the value is too short to hide anything, every character is masked.
///
/// ```
/// assert_eq!(sscard_ids::mask_middle("32120219900101123X", 4, 4), "3212**********123X");
/// assert_eq!(sscard_ids::mask_middle("abc", 4, 4), "***");
/// ```
pub fn mask_middle(value: &str, keep_start: usize, keep_end: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if n <= keep_start + keep_end {
        return "*".repeat(n);
    }
    let mut out = String::with_capacity(value.len());
    out.extend(&chars[..keep_start]);
    out.extend(std::iter::repeat_n('*', n - keep_start - keep_end));
    out.extend(&chars[n - keep_end..]);
    out
}
