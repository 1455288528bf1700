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
/// 32 bytes.
pub(crate) fn chain_hash(prev_hash: &str, e: &AuditEvent) -> String {
    let mut h = Sm3::new();
    h.update(hex::decode(prev_hash).unwrap_or_else(|_| prev_hash.as_bytes().to_vec()));
    h.update(canonical(e));
    hex::encode(h.finalize())
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
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditReport {
    /// Events read.
    pub events: i64,
    /// The first problem, if any.
    pub problem: Option<AuditProblem>,
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
            Some(AuditProblem::TruncatedAfter { seq, head_seq }) => (
                format!("审计链在 #{seq} 之后被截断：链头记录到 #{head_seq}，其后的事件已被删除"),
                format!(
                    "audit chain truncated after #{seq}: the head records #{head_seq}, later events were deleted"
                ),
            ),
        }
    }
}

/// Walks events in `seq` order and compares with the head. Stops at the first problem.
pub(crate) fn verify<'a>(
    events: impl IntoIterator<Item = &'a AuditEvent>,
    head: (i64, &str),
) -> AuditReport {
    let mut prev_hash = GENESIS.to_owned();
    let mut expected_seq = 1;
    let mut count = 0;
    for e in events {
        count += 1;
        if e.seq != expected_seq {
            return AuditReport {
                events: count,
                problem: Some(AuditProblem::Missing { seq: expected_seq }),
            };
        }
        if e.prev_hash != prev_hash {
            return AuditReport {
                events: count,
                problem: Some(AuditProblem::OutOfOrder {
                    seq: e.seq,
                    action: e.action.clone(),
                }),
            };
        }
        if chain_hash(&e.prev_hash, e) != e.hash {
            return AuditReport {
                events: count,
                problem: Some(AuditProblem::Altered {
                    seq: e.seq,
                    action: e.action.clone(),
                }),
            };
        }
        prev_hash.clone_from(&e.hash);
        expected_seq += 1;
    }
    let last = expected_seq - 1;
    let (head_seq, head_hash) = head;
    if head_seq > last {
        return AuditReport {
            events: count,
            problem: Some(AuditProblem::TruncatedAfter {
                seq: last,
                head_seq,
            }),
        };
    }
    if head_seq == last && head_hash != prev_hash {
        // The last event was replaced by one with a recomputed hash.
        return AuditReport {
            events: count,
            problem: Some(AuditProblem::Altered {
                seq: last,
                action: "(head)".into(),
            }),
        };
    }
    AuditReport {
        events: count,
        problem: None,
    }
}

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
                e.hash = chain_hash(&prev, &e);
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
