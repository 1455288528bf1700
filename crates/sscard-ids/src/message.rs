//! Bilingual, coded messages shared by every error type of the crate.

/// An error or notice a person may see: a stable machine code plus zh-CN and English text.
///
/// `Display` of the error types prints `中文（English）` so a log line or a CLI message carries
/// both; APIs pick one language with [`Bilingual::zh`] / [`Bilingual::en`].
pub trait Bilingual {
    /// A stable, lower-case, dotted code such as `resident_id.check_character`. Clients match
    /// on it; it never changes once released.
    fn code(&self) -> &'static str;
    /// The message in Simplified Chinese: what is wrong and how to fix it.
    fn zh(&self) -> String;
    /// The same message in English.
    fn en(&self) -> String;
}

/// Implements `Display` as `zh（en）` for a type that implements [`Bilingual`].
macro_rules! display_bilingual {
    ($ty:ty) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                use $crate::message::Bilingual as _;
                write!(f, "{}（{}）", self.zh(), self.en())
            }
        }
        impl ::std::error::Error for $ty {}
    };
}
pub(crate) use display_bilingual;

/// Describes a character for a message: printable characters as themselves, others as `U+XXXX`.
pub(crate) fn describe_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    }
}
