//! Terminals: their states and the answers of an online (or offline) card check.

use serde::Serialize;

/// A terminal's state: `enrolled` → `ready` (passed the self-test) ↔ `suspended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminalState {
    /// Created, PSAM and key issued; has not passed the self-test.
    Enrolled,
    /// Passed the self-test: may check cards.
    Ready,
    /// Taken out of service by the centre.
    Suspended,
}

impl TerminalState {
    /// Every state.
    pub const ALL: [TerminalState; 3] = [Self::Enrolled, Self::Ready, Self::Suspended];

    /// The stored code.
    pub fn code(self) -> i32 {
        match self {
            Self::Enrolled => 10,
            Self::Ready => 20,
            Self::Suspended => 30,
        }
    }

    /// From the stored code.
    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// `enrolled`, `ready`, `suspended`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enrolled => "enrolled",
            Self::Ready => "ready",
            Self::Suspended => "suspended",
        }
    }

    /// In Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Enrolled => "已登记",
            Self::Ready => "已就绪",
            Self::Suspended => "已暂停",
        }
    }
}

/// The answer of a card check. `code()` is the stable string terminals and HIS software match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckResult {
    /// The card is genuine and its social-security function may be used.
    Ok,
    /// Decided by the terminal alone while the platform was unreachable.
    OkOffline,
    /// No such card number.
    CardUnknown,
    /// The card did not prove it holds its keys (a clone), or its identification code is not
    /// the one issued with that number.
    CardNotGenuine,
    /// The card has not reached its holder yet (in production, at the outlet).
    CardNotIssued,
    /// Temporarily reported lost.
    CardTemporaryLoss,
    /// Formally reported lost.
    CardFormalLoss,
    /// The social-security application is locked.
    CardLocked,
    /// Cancelled.
    CardCancelled,
    /// A newer card of the holder has taken over the social-security function.
    CardSuperseded,
    /// Past its expiry date.
    CardExpired,
    /// A legacy card after the city's cut-over: its social-security function has ended (its
    /// bank function is the bank's).
    CardLegacyRetired,
    /// No such terminal.
    TerminalUnknown,
    /// The request's MAC is not the terminal's.
    TerminalBadMac,
    /// The request's counter was used before.
    TerminalReplay,
    /// The terminal has not passed its self-test.
    TerminalNotReady,
    /// The terminal is suspended.
    TerminalSuspended,
    /// The terminal's PSAM does not hold this province's keys.
    TerminalPsamForeign,
    /// The request's time is too far from the platform's clock.
    RequestStale,
}

impl CheckResult {
    /// Every result.
    pub const ALL: [CheckResult; 19] = [
        Self::Ok,
        Self::OkOffline,
        Self::CardUnknown,
        Self::CardNotGenuine,
        Self::CardNotIssued,
        Self::CardTemporaryLoss,
        Self::CardFormalLoss,
        Self::CardLocked,
        Self::CardCancelled,
        Self::CardSuperseded,
        Self::CardExpired,
        Self::CardLegacyRetired,
        Self::TerminalUnknown,
        Self::TerminalBadMac,
        Self::TerminalReplay,
        Self::TerminalNotReady,
        Self::TerminalSuspended,
        Self::TerminalPsamForeign,
        Self::RequestStale,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::OkOffline => "ok_offline",
            Self::CardUnknown => "card.unknown",
            Self::CardNotGenuine => "card.not_genuine",
            Self::CardNotIssued => "card.not_issued",
            Self::CardTemporaryLoss => "card.temporary_loss",
            Self::CardFormalLoss => "card.formal_loss",
            Self::CardLocked => "card.locked",
            Self::CardCancelled => "card.cancelled",
            Self::CardSuperseded => "card.superseded",
            Self::CardExpired => "card.expired",
            Self::CardLegacyRetired => "card.legacy_retired",
            Self::TerminalUnknown => "terminal.unknown",
            Self::TerminalBadMac => "terminal.bad_mac",
            Self::TerminalReplay => "terminal.replay",
            Self::TerminalNotReady => "terminal.not_ready",
            Self::TerminalSuspended => "terminal.suspended",
            Self::TerminalPsamForeign => "terminal.psam_foreign",
            Self::RequestStale => "request.stale",
        }
    }

    /// From the stable code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Why a card in `state` is blocked for every terminal (what deny lists carry): cancelled,
    /// superseded, formally or temporarily lost, locked. `None`: not blocked.
    pub fn blocking(state: &crate::CardState) -> Option<CheckResult> {
        use crate::SsStatus as S;
        if state.ss == S::Cancelled {
            return Some(Self::CardCancelled);
        }
        if state.superseded_by.is_some() {
            return Some(Self::CardSuperseded);
        }
        match state.ss {
            S::FormalLoss => Some(Self::CardFormalLoss),
            S::TemporaryLoss => Some(Self::CardTemporaryLoss),
            S::Locked => Some(Self::CardLocked),
            _ => None,
        }
    }

    /// Whether the card may be used.
    pub fn is_ok(self) -> bool {
        matches!(self, Self::Ok | Self::OkOffline)
    }

    /// Whether the refusal is about the terminal or the request rather than the card.
    pub fn is_terminal_side(self) -> bool {
        matches!(
            self,
            Self::TerminalUnknown
                | Self::TerminalBadMac
                | Self::TerminalReplay
                | Self::TerminalNotReady
                | Self::TerminalSuspended
                | Self::TerminalPsamForeign
                | Self::RequestStale
        )
    }

    /// What the terminal shows, in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Ok => "卡片有效，可以使用社保功能",
            Self::OkOffline => "平台暂时无法连接，终端离线核验通过；联网后将上传核对",
            Self::CardUnknown => "平台没有这张卡：请核对卡号，或请持卡人到社保卡服务网点查询",
            Self::CardNotGenuine => {
                "卡片未通过内部认证（可能是伪造或复制的卡）：请勿受理，并请持卡人到服务网点核实"
            }
            Self::CardNotIssued => "这张卡尚未发放给持卡人：请持卡人到网点领卡后再使用",
            Self::CardTemporaryLoss => "这张卡已临时挂失：请持卡人解挂后再使用",
            Self::CardFormalLoss => "这张卡已正式挂失：请勿受理，请持卡人到网点补卡",
            Self::CardLocked => "这张卡的社保应用已锁定：请持卡人到网点解锁",
            Self::CardCancelled => "这张卡已注销：请勿受理",
            Self::CardSuperseded => {
                "持卡人已启用新卡，这张旧卡的社保功能已停用（金融功能不受影响）：请使用新卡"
            }
            Self::CardExpired => "这张卡已过有效期：请持卡人到网点换卡",
            Self::CardLegacyRetired => {
                "旧社保卡已停止社保功能（换卡截止日已过），金融功能不受影响：请持卡人到换卡网点换领新卡"
            }
            Self::TerminalUnknown => "平台没有这台终端：请检查终端配置文件，或联系中心登记终端",
            Self::TerminalBadMac => {
                "请求校验码（MAC）不正确：请求被改动，或终端密钥不对；请联系中心"
            }
            Self::TerminalReplay => "请求计数器已用过（重放）：请重新读卡核验",
            Self::TerminalNotReady => "终端尚未通过自检：请先运行 sscard terminal selftest",
            Self::TerminalSuspended => "终端已被中心暂停使用：请联系中心",
            Self::TerminalPsamForeign => "终端的 PSAM 不是本省密钥：请更换为中心发放的 PSAM",
            Self::RequestStale => "请求时间与平台时间相差过大：请校准终端时钟后重试",
        }
    }

    /// What the terminal shows, in English.
    pub fn en(self) -> &'static str {
        match self {
            Self::Ok => "the card is valid; its social-security function may be used",
            Self::OkOffline => {
                "the platform is unreachable; the terminal accepted the card offline and will upload the use"
            }
            Self::CardUnknown => {
                "the platform has no such card: check the number, or ask the holder to visit a card outlet"
            }
            Self::CardNotGenuine => {
                "the card failed internal authentication (possibly a forged or copied card): do not accept it"
            }
            Self::CardNotIssued => "the card has not been handed to its holder yet",
            Self::CardTemporaryLoss => {
                "the card is temporarily reported lost: it must be unfrozen first"
            }
            Self::CardFormalLoss => {
                "the card is formally reported lost: do not accept it; the holder needs a replacement"
            }
            Self::CardLocked => "the card's social-security application is locked",
            Self::CardCancelled => "the card is cancelled: do not accept it",
            Self::CardSuperseded => {
                "the holder's new card has taken over; this old card's social-security function has ended (its bank function is unaffected)"
            }
            Self::CardExpired => "the card has expired: the holder should exchange it",
            Self::CardLegacyRetired => {
                "legacy cards' social-security function ended at the cut-over (the bank function is unaffected): the holder should exchange the card at an exchange point"
            }
            Self::TerminalUnknown => {
                "the platform has no such terminal: check the configuration file or have the centre enrol it"
            }
            Self::TerminalBadMac => {
                "the request's MAC is wrong: the request was altered or the terminal key is not this terminal's"
            }
            Self::TerminalReplay => {
                "the request's counter was used before (a replay): read the card again"
            }
            Self::TerminalNotReady => {
                "the terminal has not passed its self-test: run sscard terminal selftest"
            }
            Self::TerminalSuspended => "the centre has suspended this terminal",
            Self::TerminalPsamForeign => {
                "the terminal's PSAM does not hold this province's keys: install the PSAM the centre issued"
            }
            Self::RequestStale => {
                "the request's time is too far from the platform's clock: set the terminal's clock"
            }
        }
    }
}

impl Serialize for CheckResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for r in CheckResult::ALL {
            assert_eq!(CheckResult::parse(r.code()), Some(r));
            assert!(seen.insert(r.code()));
        }
        for s in TerminalState::ALL {
            assert_eq!(TerminalState::from_code(s.code()), Some(s));
        }
    }
}
