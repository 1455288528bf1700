//! Who acts: one value for every caller — a staff member through the console or the API, an API
//! token, a system job, later a terminal — with its [`Role`] and its [`Scope`]. The store checks
//! the scope inside each operation's transaction, so no door (API, console, CLI) can skip it.
//!
//! A scope narrows one dimension only: a clerk's outlet bounds the distribution points it works
//! at (a clerk serves any person at the counter), an employer agent's employer bounds the people
//! it acts for, a bank's code bounds the cards it acts on. What a role may do at all is
//! [`Role::can`]'s business; the scope says on which objects.

use sscard_ids::{Bilingual, CreditCode};

use crate::Role;

/// The objects an actor may act on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Everything (centre administrators, auditors, production operators, system jobs).
    All,
    /// 网点: the distribution points of one outlet (a counter clerk).
    Outlet(String),
    /// 单位: the people of one employer (an employer agent).
    Employer(CreditCode),
    /// 合作银行: the cards of one bank (a bank's account), by bank code.
    Bank(String),
    /// 定点医药机构: a terminal acts for the institution it is installed at, by code.
    Institution(String),
    /// 持卡人本人: a cardholder acting for themself through the self-service page, by ID
    /// number (never printed: [`Scope::label`] masks it).
    Holder(String),
    /// No object: an account whose role needs a scope it was not given acts on nothing.
    Nothing,
}

impl Scope {
    /// `all`, `outlet:CODE`, `employer:CODE`, `bank:CODE` (for logs and the audit trail).
    pub fn label(&self) -> String {
        match self {
            Scope::All => "all".into(),
            Scope::Outlet(o) => format!("outlet:{o}"),
            Scope::Employer(e) => format!("employer:{}", e.as_str()),
            Scope::Bank(b) => format!("bank:{b}"),
            Scope::Institution(i) => format!("institution:{i}"),
            Scope::Holder(id) => format!("holder:{}", sscard_ids::mask_middle(id, 4, 4)),
            Scope::Nothing => "nothing".into(),
        }
    }
}

/// The identity behind an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    name: String,
    role: Role,
    scope: Scope,
}

impl Actor {
    /// An actor: `name` is what the audit trail records (`clerk:wang`, `system:lapse`).
    pub fn new(name: impl Into<String>, role: Role, scope: Scope) -> Self {
        Self {
            name: name.into(),
            role,
            scope,
        }
    }

    /// A job or command run by the centre itself on its own database (`system:lapse`, the CLI's
    /// `--actor`): the administrator's role, every object in scope. The name is recorded as given.
    pub fn system(name: impl Into<String>) -> Self {
        Self::new(name, Role::Admin, Scope::All)
    }

    /// A terminal: `terminal:NUMBER`, scoped to its institution.
    pub fn terminal(number: &str, institution: &str) -> Self {
        Self::new(
            format!("terminal:{number}"),
            Role::Terminal,
            Scope::Institution(institution.to_owned()),
        )
    }

    /// An institution's own system (HIS) calling the settlement interface:
    /// `institution:CODE`, scoped to that institution, with a terminal's permissions.
    pub fn institution(code: &str) -> Self {
        Self::new(
            format!("institution:{code}"),
            Role::Terminal,
            Scope::Institution(code.to_owned()),
        )
    }

    /// A cardholder on the self-service page, acting for the person with ID number `id` only:
    /// `self:ID` masked.
    pub fn holder(id: &str) -> Self {
        Self::new(
            format!("self:{}", sscard_ids::mask_middle(id, 4, 4)),
            Role::Holder,
            Scope::Holder(id.to_owned()),
        )
    }

    /// Whether the actor may act for the person with ID number `id` in matters of their own
    /// (an exchange appointment): the centre, a counter, or the holder themself.
    pub fn check_holder(&self, id: &str) -> Result<(), ScopeError> {
        match &self.scope {
            Scope::All | Scope::Outlet(_) => Ok(()),
            Scope::Holder(own) if own == id => Ok(()),
            _ => Err(self.refusal(ScopeObject::Person { employer: None })),
        }
    }

    /// Whether the actor may act at institution `code`'s terminals: the centre, or a terminal
    /// of that institution.
    pub fn check_at_institution(&self, code: &str) -> Result<(), ScopeError> {
        match &self.scope {
            Scope::All => Ok(()),
            Scope::Institution(own) if own == code => Ok(()),
            _ => Err(self.refusal(ScopeObject::Institution {
                code: code.to_owned(),
            })),
        }
    }

    /// The name recorded in the audit trail.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Whether the actor may work at distribution point `point`.
    pub fn check_point(&self, point: &str) -> Result<(), ScopeError> {
        match &self.scope {
            Scope::Outlet(own) if own != point => Err(self.refusal(ScopeObject::Point {
                point: point.to_owned(),
            })),
            Scope::Employer(_)
            | Scope::Bank(_)
            | Scope::Institution(_)
            | Scope::Holder(_)
            | Scope::Nothing => Err(self.refusal(ScopeObject::Point {
                point: point.to_owned(),
            })),
            _ => Ok(()),
        }
    }

    /// Whether the actor may act for a person of `employer` (none: a person without one).
    pub fn check_employer(&self, employer: Option<&str>) -> Result<(), ScopeError> {
        match &self.scope {
            Scope::Employer(own) if employer != Some(own.as_str()) => {
                Err(self.refusal(ScopeObject::Person {
                    employer: employer.map(str::to_owned),
                }))
            }
            Scope::Holder(_) | Scope::Nothing => Err(self.refusal(ScopeObject::Person {
                employer: employer.map(str::to_owned),
            })),
            _ => Ok(()),
        }
    }

    /// Whether the actor may act on a card of bank `bank`.
    pub fn check_bank(&self, bank: &str) -> Result<(), ScopeError> {
        match &self.scope {
            Scope::Bank(own) if own != bank => Err(self.refusal(ScopeObject::Card {
                bank: bank.to_owned(),
            })),
            Scope::Holder(_) | Scope::Nothing => Err(self.refusal(ScopeObject::Card {
                bank: bank.to_owned(),
            })),
            _ => Ok(()),
        }
    }

    /// Whether the actor may register or change institution `code`: the centre's work, so an
    /// actor bounded to an outlet, employer or bank may not.
    pub fn check_institution(&self, code: &str) -> Result<(), ScopeError> {
        match &self.scope {
            Scope::All => Ok(()),
            _ => Err(self.refusal(ScopeObject::Institution {
                code: code.to_owned(),
            })),
        }
    }

    /// Whether the actor may change configuration the centre keeps (`what`, e.g. 结算政策 /
    /// settlement policies): the centre only.
    pub fn check_centre(&self, what: &str) -> Result<(), ScopeError> {
        match &self.scope {
            Scope::All => Ok(()),
            _ => Err(self.refusal(ScopeObject::Configuration {
                what: what.to_owned(),
            })),
        }
    }

    /// Whether the actor may keep a person's insurance record: the centre, a counter, or the
    /// person's own employer — not a bank or a terminal.
    pub fn check_insured(&self, employer: Option<&str>) -> Result<(), ScopeError> {
        match &self.scope {
            Scope::Bank(_) | Scope::Institution(_) => Err(self.refusal(ScopeObject::Person {
                employer: employer.map(str::to_owned),
            })),
            _ => self.check_employer(employer),
        }
    }

    fn refusal(&self, object: ScopeObject) -> ScopeError {
        ScopeError {
            scope: self.scope.clone(),
            object,
        }
    }
}

/// What an out-of-scope request was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeObject {
    /// A distribution point.
    Point { point: String },
    /// A person, by the employer they belong to.
    Person { employer: Option<String> },
    /// A card, by its bank.
    Card { bank: String },
    /// A designated medical institution (registering or changing one is the centre's).
    Institution { code: String },
    /// Configuration the centre keeps (settlement policies, catalogues).
    Configuration { what: String },
}

/// An actor asked for an object outside its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeError {
    /// The actor's scope.
    pub scope: Scope,
    /// What it asked for.
    pub object: ScopeObject,
}

impl ScopeError {
    /// The object, for the audit trail (`point:CODE`, `employer:CODE`, `bank:CODE`).
    pub fn object_label(&self) -> String {
        match &self.object {
            ScopeObject::Point { point } => format!("point:{point}"),
            ScopeObject::Person { employer } => {
                format!("employer:{}", employer.as_deref().unwrap_or("-"))
            }
            ScopeObject::Card { bank } => format!("bank:{bank}"),
            ScopeObject::Institution { code } => format!("institution:{code}"),
            ScopeObject::Configuration { what } => format!("config:{what}"),
        }
    }
}

impl Bilingual for ScopeError {
    fn code(&self) -> &'static str {
        "auth.out_of_scope"
    }

    fn zh(&self) -> String {
        match (&self.scope, &self.object) {
            (Scope::Outlet(own), ScopeObject::Point { point }) => {
                format!("发放点 {point} 不属于您所在的网点 {own}：柜员只能在本网点的发放点办理发放")
            }
            (Scope::Employer(_), ScopeObject::Person { .. }) => {
                "该人员不属于您所在的单位，单位经办人只能办理本单位职工的业务".into()
            }
            (Scope::Bank(own), ScopeObject::Card { bank }) => {
                format!("该卡的合作银行是 {bank}，不是您所在的银行 {own}：银行只能办理本行的卡")
            }
            (_, ScopeObject::Point { point }) => {
                format!("您的账号不在发放点 {point} 办理业务")
            }
            (_, ScopeObject::Institution { code }) => {
                format!("定点医药机构 {code} 的登记由中心办理，您的账号无此权限")
            }
            (_, ScopeObject::Configuration { what }) => {
                format!("{what}由中心维护，您的账号无此权限")
            }
            _ => "该对象不在您的账号权限范围内".into(),
        }
    }

    fn en(&self) -> String {
        match (&self.scope, &self.object) {
            (Scope::Outlet(own), ScopeObject::Point { point }) => format!(
                "distribution point {point} does not belong to your outlet {own}: a clerk hands out cards at its own outlet's points only"
            ),
            (Scope::Employer(_), ScopeObject::Person { .. }) => {
                "this person does not belong to your employer; an employer agent acts for its own employees only".into()
            }
            (Scope::Bank(own), ScopeObject::Card { bank }) => format!(
                "this card's partner bank is {bank}, not your bank {own}: a bank acts on its own cards only"
            ),
            (_, ScopeObject::Point { point }) => {
                format!("your account does not work at distribution point {point}")
            }
            (_, ScopeObject::Institution { code }) => format!(
                "institution {code} is registered by the centre; your account may not change it"
            ),
            (_, ScopeObject::Configuration { what }) => {
                format!("{what}: kept by the centre; your account may not change it")
            }
            _ => "this object is outside your account's scope".into(),
        }
    }
}

crate::display_bilingual!(ScopeError);

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> CreditCode {
        CreditCode::parse("91350100M000100Y43").expect("valid")
    }

    #[test]
    fn each_scope_bounds_its_own_dimension_only() {
        let clerk = Actor::new("clerk:wang", Role::Clerk, Scope::Outlet("TZ-HL-01".into()));
        assert!(clerk.check_point("TZ-HL-01").is_ok());
        assert_eq!(
            clerk.check_point("TZ-KS-ONSITE").map_err(|e| e.code()),
            Err("auth.out_of_scope")
        );
        assert!(clerk.check_bank("105").is_ok());
        assert!(clerk.check_employer(None).is_ok());

        let employer = code();
        let agent = Actor::new(
            "employer_agent:li",
            Role::EmployerAgent,
            Scope::Employer(employer),
        );
        assert!(agent.check_employer(Some(employer.as_str())).is_ok());
        assert!(agent.check_employer(None).is_err());
        assert!(agent.check_employer(Some("91320000000000000X")).is_err());
        assert!(agent.check_point("TZ-HL-01").is_err());

        let bank = Actor::new("bank:ccb", Role::Bank, Scope::Bank("105".into()));
        assert!(bank.check_bank("105").is_ok());
        let e = bank.check_bank("314").expect_err("another bank");
        assert!(e.zh().contains("314") && e.en().contains("314"));
        assert_eq!(e.object_label(), "bank:314");

        let admin = Actor::system("system:test");
        assert!(admin.check_point("X").is_ok() && admin.check_bank("1").is_ok());
        assert!(admin.check_employer(None).is_ok());
        assert_eq!(admin.name(), "system:test");
    }
}
