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

/// Implements `Display` (the text), `Debug` (`Name(text)`), `FromStr` (via `parse`) and
/// `Serialize` (the text) for an identifier that is not personal data and has `as_str`.
macro_rules! text_identifier {
    ($ty:ident, $err:ty) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($ty), self.as_str())
            }
        }
        impl ::std::str::FromStr for $ty {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_identifier;
