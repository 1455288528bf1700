//! The tamper-evident audit trail: every state change appends an event whose hash chains to the
//! previous one, `hash = SM3(prev_hash ‖ canonical(event))`, and a head row records the last
//! sequence number and hash.
//!
//! The canonical encoding is every field as a 4-byte big-endian length followed by its UTF-8
//! bytes, in the order `seq, id, at_us, actor, action, subject, reason, payload` (numbers in
//! decimal). The payload is stored as the exact JSON text that was hashed.

use sm3::{Digest, Sm3};
use uuid::Uuid;

/// The hash the first event chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored audit event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Event id (UUIDv7).
    pub id: Uuid,
    /// Microseconds since the Unix epoch.
    pub at_us: i64,
    /// Who did it (staff account, terminal, system job).
    pub actor: String,
    /// What was done, e.g. `card.hand_over`.
    pub action: String,
    /// What it was done to (card number, masked person, application id).
    pub subject: String,
    /// Why (free text from the actor, or the rule that fired).
    pub reason: String,
    /// Details as JSON text (personal data masked).
    pub payload: String,
    /// Hash of the previous event.
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

impl AuditEvent {
    /// The hash this event should carry: `SM3(prev_hash ‖ canonical(event))`; `None` when its
    /// `prev_hash` is not hex. For auditors' own tools (and tests that rewrite a chain the way
    /// an attacker would).
    pub fn expected_hash(&self) -> Option<String> {
        chain_hash(&self.prev_hash, self)
    }
}

fn field(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

/// The canonical encoding of an event's content (everything but the two hashes).
pub(crate) fn canonical(e: &AuditEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + e.payload.len());
    field(&mut out, &e.seq.to_string());
    field(&mut out, &e.id.to_string());
    field(&mut out, &e.at_us.to_string());
    field(&mut out, &e.actor);
    field(&mut out, &e.action);
    field(&mut out, &e.subject);
    field(&mut out, &e.reason);
    field(&mut out, &e.payload);
    out
}

/// `SM3(prev_hash ‖ canonical(event))` in lower-case hex; the previous hash enters as its raw
/// 32 bytes. `None` when `prev_hash` is not hex (a stored value that was tampered with).
pub(crate) fn chain_hash(prev_hash: &str, e: &AuditEvent) -> Option<String> {
    let prev = hex::decode(prev_hash).ok()?;
    let mut h = Sm3::new();
    h.update(prev);
    h.update(canonical(e));
    Some(hex::encode(h.finalize()))
}

/// What `audit verify` found wrong first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditProblem {
    /// The event's content no longer matches its hash.
    Altered { seq: i64, action: String },
    /// An event is missing from the chain (deleted).
    Missing { seq: i64 },
    /// The event does not chain to the one before it: inserted, or moved out of order.
    OutOfOrder { seq: i64, action: String },
    /// The head records a later event than the chain holds: the last events were deleted.
    TruncatedAfter { seq: i64, head_seq: i64 },
    /// The event at the anchor's position has another hash than the anchor kept outside the
    /// database: the chain was rewritten (and its head recomputed).
    AnchorMismatch { seq: i64 },
    /// The chain ends before the anchor's position: events the anchor saw are gone.
    AnchorMissing { seq: i64, last: i64 },
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditReport {
    /// Events read.
    pub events: i64,
    /// The first problem, if any.
    pub problem: Option<AuditProblem>,
    /// The walk started after this event (0: from the genesis; otherwise a checkpoint).
    pub from_seq: i64,
    /// The last event that checked (its sequence number and hash).
    pub last_seq: i64,
    /// That event's hash.
    pub last_hash: String,
    /// Whether an anchor was given and matched.
    pub anchored: bool,
}

impl AuditReport {
    /// Whether the chain is intact.
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }

    /// A one-line summary in zh-CN and English.
    pub fn message(&self) -> (String, String) {
        match &self.problem {
            None => (
                format!("审计链完整：共 {} 条事件，哈希逐条核对无误", self.events),
                format!(
                    "audit chain intact: {} events, every hash checks",
                    self.events
                ),
            ),
            Some(AuditProblem::Altered { seq, action }) => (
                format!("审计事件 #{seq}（{action}）的内容被改动：与其哈希不符"),
                format!(
                    "audit event #{seq} ({action}) was altered: its content does not match its hash"
                ),
            ),
            Some(AuditProblem::Missing { seq }) => (
                format!("审计事件 #{seq} 缺失：已被删除"),
                format!("audit event #{seq} is missing: it was deleted"),
            ),
            Some(AuditProblem::OutOfOrder { seq, action }) => (
                format!("审计事件 #{seq}（{action}）与前一事件不衔接：被插入或调换了顺序"),
                format!(
                    "audit event #{seq} ({action}) does not chain to the one before: inserted or out of order"
                ),
            ),
            Some(AuditProblem::AnchorMismatch { seq }) => (
                format!("审计事件 #{seq} 与外部保存的锚点不符：审计链被改写过（链头也被重新计算）"),
                format!(
                    "audit event #{seq} does not match the anchor kept outside the database: the chain was rewritten (head recomputed)"
                ),
            ),
            Some(AuditProblem::AnchorMissing { seq, last }) => (
                format!("审计链只到 #{last}，而锚点记录到 #{seq}：锚点之后的事件已被删除"),
                format!(
                    "the audit chain ends at #{last} but the anchor records #{seq}: events the anchor saw were deleted"
                ),
            ),
            Some(AuditProblem::TruncatedAfter { seq, head_seq }) => (
                format!("审计链在 #{seq} 之后被截断：链头记录到 #{head_seq}，其后的事件已被删除"),
                format!(
                    "audit chain truncated after #{seq}: the head records #{head_seq}, later events were deleted"
                ),
            ),
        }
    }
}

/// Walks events in `seq` order, one at a time, in constant memory: start it at the genesis
/// (or a checkpoint), feed it every later event, then finish it against the head.
#[derive(Debug)]
pub(crate) struct Verifier {
    from_seq: i64,
    prev_hash: String,
    expected_seq: i64,
    count: i64,
    anchor: Option<(i64, String)>,
    anchored: bool,
    problem: Option<AuditProblem>,
}

impl Verifier {
    /// A walk of the events after `(seq, hash)`; `(0, GENESIS)` walks the whole chain.
    pub(crate) fn after(seq: i64, hash: &str) -> Self {
        Self {
            from_seq: seq,
            prev_hash: hash.to_owned(),
            expected_seq: seq + 1,
            count: 0,
            anchor: None,
            anchored: false,
            problem: None,
        }
    }

    /// Also checks the event at `anchor.seq` against the anchor's hash.
    pub(crate) fn with_anchor(mut self, anchor: Option<&Anchor>) -> Self {
        self.anchor = anchor.map(|a| (a.seq, a.hash.clone()));
        self
    }

    /// The next event; `false` once a problem was found (stop feeding then).
    pub(crate) fn feed(&mut self, e: &AuditEvent) -> bool {
        if self.problem.is_some() {
            return false;
        }
        self.count += 1;
        self.problem = if e.seq != self.expected_seq {
            Some(AuditProblem::Missing {
                seq: self.expected_seq,
            })
        } else if e.prev_hash != self.prev_hash {
            Some(AuditProblem::OutOfOrder {
                seq: e.seq,
                action: e.action.clone(),
            })
        } else if chain_hash(&e.prev_hash, e).as_deref() != Some(e.hash.as_str()) {
            Some(AuditProblem::Altered {
                seq: e.seq,
                action: e.action.clone(),
            })
        } else {
            match &self.anchor {
                Some((seq, hash)) if *seq == e.seq && *hash != e.hash => {
                    Some(AuditProblem::AnchorMismatch { seq: e.seq })
                }
                Some((seq, _)) if *seq == e.seq => {
                    self.anchored = true;
                    None
                }
                _ => None,
            }
        };
        if self.problem.is_some() {
            return false;
        }
        self.prev_hash.clone_from(&e.hash);
        self.expected_seq += 1;
        true
    }

    /// The report, comparing the end of the walk with the head `(seq, hash)`.
    pub(crate) fn finish(mut self, (head_seq, head_hash): (i64, &str)) -> AuditReport {
        let last = self.expected_seq - 1;
        if self.problem.is_none() {
            self.problem = if head_seq > last {
                Some(AuditProblem::TruncatedAfter {
                    seq: last,
                    head_seq,
                })
            } else if head_seq == last && head_hash != self.prev_hash {
                // The last event was replaced by one with a recomputed hash.
                Some(AuditProblem::Altered {
                    seq: last,
                    action: "(head)".into(),
                })
            } else {
                match &self.anchor {
                    Some((seq, _)) if *seq > last => {
                        Some(AuditProblem::AnchorMissing { seq: *seq, last })
                    }
                    // An anchor before a checkpoint was checked when the checkpoint was made.
                    Some((seq, _)) if *seq <= self.from_seq => {
                        self.anchored = true;
                        None
                    }
                    _ => None,
                }
            };
        }
        AuditReport {
            events: self.count,
            problem: self.problem,
            from_seq: self.from_seq,
            last_seq: last,
            last_hash: self.prev_hash,
            anchored: self.anchored,
        }
    }
}

/// Walks a whole chain held in memory (for tests and small chains).
#[cfg(test)]
pub(crate) fn verify<'a>(
    events: impl IntoIterator<Item = &'a AuditEvent>,
    head: (i64, &str),
) -> AuditReport {
    let mut v = Verifier::after(0, GENESIS);
    for e in events {
        if !v.feed(e) {
            break;
        }
    }
    v.finish(head)
}

/// The audit key: signs anchors of the chain's head (HMAC-SM3). Zeroized when dropped; its
/// `Debug` prints nothing of it.
#[derive(Clone)]
pub struct AuditKey(zeroize::Zeroizing<Vec<u8>>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(***)")
    }
}

impl AuditKey {
    /// The environment variable that holds the key (64 hex digits: 32 bytes).
    pub const ENV: &'static str = "SSCARD_AUDIT_KEY";

    /// A key from hex (at least 32 bytes).
    pub fn from_hex(text: &str) -> Result<Self, AnchorError> {
        let bytes =
            zeroize::Zeroizing::new(hex::decode(text.trim()).map_err(|_| AnchorError::BadKey)?);
        if bytes.len() < 32 {
            return Err(AnchorError::BadKey);
        }
        Ok(Self(bytes))
    }

    /// The published demo key (`sscard demo`, `--demo-keys`): anchors signed with it prove
    /// nothing.
    pub fn demo() -> Self {
        let digest = Sm3::digest(b"sscard published demo audit key - not for production");
        Self(zeroize::Zeroizing::new(digest.to_vec()))
    }

    /// The key from [`Self::ENV`]; `None` when unset, an error when malformed.
    pub fn from_env() -> Result<Option<Self>, AnchorError> {
        match std::env::var(Self::ENV) {
            Ok(v) => Self::from_hex(&v).map(Some),
            Err(_) => Ok(None),
        }
    }

    fn mac(&self, message: &str) -> String {
        use hmac::Mac;
        let mut m = hmac::Hmac::<Sm3>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(message.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }
}

/// The chain's head at a moment, signed with the audit key: kept outside the database (the
/// auditor's mailbox, a WORM log, paper), it lets `audit verify --anchor` notice a chain that
/// was rewritten with every later hash and the head recomputed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    /// Sequence number of the head event.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When the anchor was taken (RFC 3339).
    pub at: chrono::DateTime<chrono::Utc>,
    /// HMAC-SM3 over `sscard-audit-anchor-v1`, seq, hash and time, in hex.
    pub mac: String,
}

impl Anchor {
    fn message(seq: i64, hash: &str, at: chrono::DateTime<chrono::Utc>) -> String {
        format!(
            "sscard-audit-anchor-v1\n{seq}\n{hash}\n{}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        )
    }

    /// Signs the head `(seq, hash)` at `at`.
    pub fn sign(seq: i64, hash: &str, at: chrono::DateTime<chrono::Utc>, key: &AuditKey) -> Self {
        Self {
            seq,
            hash: hash.to_owned(),
            at,
            mac: key.mac(&Self::message(seq, hash, at)),
        }
    }

    /// Checks the signature (in constant time).
    pub fn check(&self, key: &AuditKey) -> Result<(), AnchorError> {
        use subtle::ConstantTimeEq;
        let expected = key.mac(&Self::message(self.seq, &self.hash, self.at));
        if expected.as_bytes().ct_eq(self.mac.as_bytes()).into() {
            Ok(())
        } else {
            Err(AnchorError::BadSignature)
        }
    }
}

/// An anchor or audit key that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorError {
    /// The key is not hex or shorter than 32 bytes.
    BadKey,
    /// The anchor's signature does not match: another key, or an edited anchor.
    BadSignature,
}

impl sscard_ids::Bilingual for AnchorError {
    fn code(&self) -> &'static str {
        match self {
            AnchorError::BadKey => "audit.key",
            AnchorError::BadSignature => "audit.anchor_signature",
        }
    }

    fn zh(&self) -> String {
        match self {
            AnchorError::BadKey => format!(
                "审计密钥无效：{} 须为至少 64 位十六进制数字（32 字节），例如用 `openssl rand -hex 32` 生成",
                AuditKey::ENV
            ),
            AnchorError::BadSignature => {
                "锚点签名不符：锚点被改动过，或不是用本中心的审计密钥签发的".into()
            }
        }
    }

    fn en(&self) -> String {
        match self {
            AnchorError::BadKey => format!(
                "the audit key is not valid: {} must be at least 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`",
                AuditKey::ENV
            ),
            AnchorError::BadSignature => {
                "the anchor's signature does not match: the anchor was edited, or signed with another key".into()
            }
        }
    }
}

impl std::fmt::Display for AnchorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use sscard_ids::Bilingual as _;
        write!(f, "{}（{}）", self.zh(), self.en())
    }
}

impl std::error::Error for AnchorError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEvent {
                    seq,
                    id: Uuid::from_u128(seq as u128),
                    at_us: 1_700_000_000_000_000 + seq,
                    actor: "clerk-1".into(),
                    action: "card.hand_over".into(),
                    subject: format!("X000000{seq}"),
                    reason: String::new(),
                    payload: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = chain_hash(&prev, &e).expect("hex");
                prev.clone_from(&e.hash);
                e
            })
            .collect()
    }

    #[test]
    fn sm3_known_answer() {
        // GB/T 32905-2016 example 1: SM3("abc").
        let mut h = Sm3::new();
        h.update(b"abc");
        assert_eq!(
            hex::encode(h.finalize()),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        // Example 2: "abcd" repeated 16 times (512 bits).
        let mut h = Sm3::new();
        h.update(b"abcd".repeat(16));
        assert_eq!(
            hex::encode(h.finalize()),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        assert!(verify(&c, (5, &c[4].hash)).ok());
    }

    #[test]
    fn each_kind_of_tampering_is_named() {
        let c = chain(5);
        let head = (5, c[4].hash.as_str());
        let mut altered = c.clone();
        altered[2].reason = "edited".into();
        assert_eq!(
            verify(&altered, head).problem,
            Some(AuditProblem::Altered {
                seq: 3,
                action: "card.hand_over".into()
            })
        );
        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(
            verify(&deleted, head).problem,
            Some(AuditProblem::Missing { seq: 2 })
        );
        let mut swapped = c.clone();
        swapped.swap(1, 2);
        swapped[1].seq = 2;
        swapped[2].seq = 3;
        assert!(matches!(
            verify(&swapped, head).problem,
            Some(AuditProblem::OutOfOrder { seq: 2, .. })
        ));
        let truncated = &c[..4];
        assert_eq!(
            verify(truncated, head).problem,
            Some(AuditProblem::TruncatedAfter {
                seq: 4,
                head_seq: 5
            })
        );
    }
}

#[cfg(test)]
mod anchor_tests {
    use super::*;

    #[test]
    fn anchors_are_signed_and_checked() {
        let key = AuditKey::from_hex(&"ab".repeat(32)).expect("valid");
        assert_eq!(format!("{key:?}"), "AuditKey(***)");
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        let a = Anchor::sign(7, &"00".repeat(32), at, &key);
        assert_eq!(a.check(&key), Ok(()));
        let mut edited = a.clone();
        edited.seq = 6;
        assert_eq!(edited.check(&key), Err(AnchorError::BadSignature));
        let other = AuditKey::from_hex(&"cd".repeat(32)).expect("valid");
        assert_eq!(a.check(&other), Err(AnchorError::BadSignature));
        assert_eq!(
            AuditKey::from_hex("abcd").map(|_| ()),
            Err(AnchorError::BadKey)
        );
    }
}
