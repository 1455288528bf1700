//! Language choice: zh-CN first, English available (cookie `lang`, `?lang=`, Accept-Language).

use axum::http::HeaderMap;

/// The language of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文 (default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `zh-CN` / `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Picks one of two texts.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The console's language: zh-CN unless the `lang` cookie (set by the switch) says `en`.
    pub fn for_console(headers: &HeaderMap) -> Lang {
        match crate::auth::cookie(headers, "lang").as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The API's language: the `lang` cookie, else Accept-Language, else zh-CN.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        if let Some(v) = crate::auth::cookie(headers, "lang") {
            return if v == "en" { Lang::En } else { Lang::Zh };
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept.trim_start().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}
