//! The store's error type, and the one place where `sqlx::Error` is mapped to it.

use sscard_ids::Bilingual;

/// A database rule (constraint) that a write ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `card_live_per_person`: at most one live social-security function per person.
    LiveCardPerPerson,
    /// `application_open_per_person`: at most one open application per person.
    OpenApplicationPerPerson,
    /// `card_number_unique`.
    CardNumberUnique,
    /// `card_id_code_unique`.
    CardIdCodeUnique,
    /// `person_ssn_unique`.
    PersonSsnUnique,
    /// `employer_credit_code_unique`.
    EmployerCreditCodeUnique,
    /// `pickup_card_unique`: a card is handed over at a pickup desk once.
    OnePickupPerCard,
    /// A `CHECK` on a status code or other coded value.
    ValidCode,
    /// A reference to a row that does not exist.
    Reference,
}

impl Rule {
    /// The constraint's name in the schema.
    pub fn name(self) -> &'static str {
        match self {
            Rule::LiveCardPerPerson => "card_live_per_person",
            Rule::OpenApplicationPerPerson => "application_open_per_person",
            Rule::CardNumberUnique => "card_number_unique",
            Rule::CardIdCodeUnique => "card_id_code_unique",
            Rule::PersonSsnUnique => "person_ssn_unique",
            Rule::EmployerCreditCodeUnique => "employer_credit_code_unique",
            Rule::OnePickupPerCard => "pickup_card_unique",
            Rule::ValidCode => "valid_code",
            Rule::Reference => "reference",
        }
    }

    /// Identifies the rule from a PostgreSQL constraint name or a SQLite error message.
    fn identify(constraint: Option<&str>, message: &str) -> Option<Rule> {
        // SQLite names the columns of the violated unique index, not the index.
        const BY_COLUMNS: [(&str, Rule); 7] = [
            ("pickups.card_id", Rule::OnePickupPerCard),
            ("cards.person_id", Rule::LiveCardPerPerson),
            ("applications.person_id", Rule::OpenApplicationPerPerson),
            ("cards.card_number", Rule::CardNumberUnique),
            ("cards.card_id_code", Rule::CardIdCodeUnique),
            ("persons.ssn", Rule::PersonSsnUnique),
            ("employers.credit_code", Rule::EmployerCreditCodeUnique),
        ];
        const BY_NAME: [(&str, Rule); 7] = [
            ("pickup_card_unique", Rule::OnePickupPerCard),
            ("card_live_per_person", Rule::LiveCardPerPerson),
            (
                "application_open_per_person",
                Rule::OpenApplicationPerPerson,
            ),
            ("card_number_unique", Rule::CardNumberUnique),
            ("card_id_code_unique", Rule::CardIdCodeUnique),
            ("person_ssn_unique", Rule::PersonSsnUnique),
            (
                "employer_credit_code_unique",
                Rule::EmployerCreditCodeUnique,
            ),
        ];
        if let Some(name) = constraint {
            if let Some((_, rule)) = BY_NAME.iter().find(|(n, _)| *n == name) {
                return Some(*rule);
            }
            if name.ends_with("_check") {
                return Some(Rule::ValidCode);
            }
            if name.ends_with("_fkey") {
                return Some(Rule::Reference);
            }
        }
        if message.contains("UNIQUE constraint failed") {
            return BY_COLUMNS
                .iter()
                .find(|(c, _)| message.contains(c))
                .map(|(_, r)| *r);
        }
        if message.contains("CHECK constraint failed") {
            return Some(Rule::ValidCode);
        }
        if message.contains("FOREIGN KEY constraint failed") {
            return Some(Rule::Reference);
        }
        None
    }
}

/// What the store can refuse or fail with. Domain refusals carry the rule's bilingual message;
/// database failures never leak raw SQL text to people (it is kept for the logs in `detail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The thing asked for does not exist. `key` is safe to show (masked where personal).
    NotFound { what: &'static str, key: String },
    /// A business rule refused the request.
    Refused {
        code: &'static str,
        zh: String,
        en: String,
    },
    /// A database constraint refused the write.
    Conflict(Rule),
    /// The actor asked for an object outside its scope (another outlet's point, another
    /// employer's person, another bank's card). Nothing was changed; the refusal is audited.
    OutOfScope(sscard_core::ScopeError),
    /// The request could not be completed after retrying concurrent conflicts.
    Busy { attempts: u32 },
    /// The database could not be reached or failed; `detail` is for operators' logs.
    Database { detail: String },
    /// The schema could not be migrated.
    Migration { detail: String },
    /// Internal: a concurrent transaction changed a row first; the transaction is retried.
    #[doc(hidden)]
    Retry,
}

impl StoreError {
    /// Turns any bilingual domain error into a refusal.
    pub fn refused(e: &impl Bilingual) -> Self {
        StoreError::Refused {
            code: e.code(),
            zh: e.zh(),
            en: e.en(),
        }
    }

    /// Whether the request was refused by a rule (as opposed to failing).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::Refused { .. }
                | StoreError::Conflict(_)
                | StoreError::NotFound { .. }
                | StoreError::OutOfScope(_)
        )
    }

    /// Whether retrying the whole transaction may succeed.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Retry)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            let code = db
                .code()
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default();
            // PostgreSQL: serialization failure / deadlock (CockroachDB and YugabyteDB report
            // 40001 for their transaction conflicts). SQLite: SQLITE_BUSY (5) / SQLITE_LOCKED (6)
            // and their extended codes.
            let retryable = matches!(code.as_str(), "40001" | "40P01")
                || code
                    .parse::<i32>()
                    .is_ok_and(|c| c & 0xFF == 5 || c & 0xFF == 6);
            if retryable {
                return StoreError::Retry;
            }
            if let Some(rule) = Rule::identify(db.constraint(), db.message()) {
                return StoreError::Conflict(rule);
            }
        }
        // No connection within the acquire timeout: busy now, not retried (a retry would only
        // queue again on the same exhausted pool).
        if matches!(e, sqlx::Error::PoolTimedOut) {
            return StoreError::Busy { attempts: 1 };
        }
        StoreError::Database {
            detail: e.to_string(),
        }
    }
}

impl From<sscard_core::ScopeError> for StoreError {
    fn from(e: sscard_core::ScopeError) -> Self {
        StoreError::OutOfScope(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration {
            detail: e.to_string(),
        }
    }
}

impl Bilingual for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound { what, .. } => match *what {
                "card" => "not_found.card",
                "person" => "not_found.person",
                "bank" => "not_found.bank",
                "employer" => "not_found.employer",
                "outlet" => "not_found.outlet",
                "staff" => "not_found.staff",
                _ => "not_found",
            },
            StoreError::Refused { code, .. } => code,
            StoreError::OutOfScope(e) => e.code(),
            StoreError::Conflict(rule) => match rule {
                Rule::LiveCardPerPerson => "conflict.card_live_per_person",
                Rule::OpenApplicationPerPerson => "conflict.application_open_per_person",
                Rule::CardNumberUnique => "conflict.card_number_unique",
                Rule::CardIdCodeUnique => "conflict.card_id_code_unique",
                Rule::PersonSsnUnique => "conflict.person_ssn_unique",
                Rule::EmployerCreditCodeUnique => "conflict.employer_credit_code_unique",
                Rule::OnePickupPerCard => "conflict.pickup_card_unique",
                Rule::ValidCode => "conflict.valid_code",
                Rule::Reference => "conflict.reference",
            },
            StoreError::Busy { .. } | StoreError::Retry => "store.busy",
            StoreError::Database { .. } => "store.database",
            StoreError::Migration { .. } => "store.migration",
        }
    }

    fn zh(&self) -> String {
        match self {
            StoreError::NotFound { what, key } => {
                let what = match *what {
                    "card" => "卡",
                    "person" => "人员",
                    "bank" => "合作银行",
                    "employer" => "单位",
                    "outlet" => "服务网点",
                    "staff" => "工作人员账号",
                    other => other,
                };
                format!("未找到{what}：{key}")
            }
            StoreError::Refused { zh, .. } => zh.clone(),
            StoreError::OutOfScope(e) => e.zh(),
            StoreError::Conflict(rule) => match rule {
                Rule::LiveCardPerPerson => {
                    "一人一卡：该人员已有一张社保功能有效的卡（数据库规则 card_live_per_person）".into()
                }
                Rule::OpenApplicationPerPerson => {
                    "该人员已有一笔未完成的申领，请勿重复申领（数据库规则 application_open_per_person）".into()
                }
                Rule::CardNumberUnique => "卡号已被使用（数据库规则 card_number_unique）".into(),
                Rule::CardIdCodeUnique => "卡识别码已被使用（数据库规则 card_id_code_unique）".into(),
                Rule::PersonSsnUnique => "该社会保障号码已登记（数据库规则 person_ssn_unique）".into(),
                Rule::EmployerCreditCodeUnique => {
                    "该统一社会信用代码已登记（数据库规则 employer_credit_code_unique）".into()
                }
                Rule::OnePickupPerCard => "此卡已发放（数据库规则 pickup_card_unique）".into(),
                Rule::ValidCode => "状态或代码取值无效（数据库检查约束）".into(),
                Rule::Reference => "引用的记录不存在（数据库外键约束）".into(),
            },
            StoreError::Busy { attempts } => {
                format!("系统繁忙：并发冲突重试 {attempts} 次仍未完成，请稍后再试")
            }
            StoreError::Retry => "系统繁忙，请稍后再试".into(),
            StoreError::Database { .. } => "数据库访问失败，请联系管理员（详情见服务日志）".into(),
            StoreError::Migration { .. } => "数据库结构升级失败，请联系管理员（详情见服务日志）".into(),
        }
    }

    fn en(&self) -> String {
        match self {
            StoreError::NotFound { what, key } => format!("no {what} {key}"),
            StoreError::Refused { en, .. } => en.clone(),
            StoreError::OutOfScope(e) => e.en(),
            StoreError::Conflict(rule) => match rule {
                Rule::LiveCardPerPerson => "one person, one card: this person already has a card \
                                            with a live social-security function (rule \
                                            card_live_per_person)"
                    .into(),
                Rule::OpenApplicationPerPerson => "this person already has an open application \
                                                   (rule application_open_per_person)"
                    .into(),
                Rule::CardNumberUnique => {
                    "the card number is taken (rule card_number_unique)".into()
                }
                Rule::CardIdCodeUnique => {
                    "the card identification code is taken (rule card_id_code_unique)".into()
                }
                Rule::PersonSsnUnique => {
                    "this social security number is registered already (rule person_ssn_unique)"
                        .into()
                }
                Rule::EmployerCreditCodeUnique => "this credit code is registered already (rule \
                                                   employer_credit_code_unique)"
                    .into(),
                Rule::OnePickupPerCard => {
                    "this card has already been handed over (database rule pickup_card_unique)"
                        .into()
                }
                Rule::ValidCode => "a status or code value is not valid (check constraint)".into(),
                Rule::Reference => "a referenced record does not exist (foreign key)".into(),
            },
            StoreError::Busy { attempts } => format!(
                "busy: the request met concurrent changes {attempts} times; try again shortly"
            ),
            StoreError::Retry => "busy; try again shortly".into(),
            StoreError::Database { .. } => {
                "the database failed; contact the administrator (details in the service log)".into()
            }
            StoreError::Migration { .. } => {
                "migrating the database failed; contact the administrator (details in the log)"
                    .into()
            }
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}（{}）", self.zh(), self.en())
    }
}

impl std::error::Error for StoreError {}
