//! Staff roles (DESIGN.md §2) and what each may do. The one table every interface (API,
//! console, CLI) authorises against.

use serde::Serialize;

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 中心管理员: configures everything, sees everything.
    Admin,
    /// 柜员: applications, pickup, loss/unfreeze/activation, exchange.
    Clerk,
    /// 单位经办人: its own employer's people only.
    EmployerAgent,
    /// 制卡操作员: production batches.
    ProductionOperator,
    /// 医院/药店终端: card checks and uses.
    Terminal,
    /// 合作银行: accounts, the financial function, formal loss at its outlets.
    Bank,
    /// 审计员: reads everything, changes nothing.
    Auditor,
    /// 持卡人本人: a cardholder on the self-service page; no staff permission at all — the
    /// self-service operations check the holder's own scope in the store. Not a staff role (not
    /// in [`Role::ALL`]).
    Holder,
}

/// Something a role may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read persons (masked).
    ReadPersons,
    /// Register or update persons.
    RegisterPersons,
    /// Reveal a full ID number on screen (audited).
    RevealId,
    /// Apply for cards.
    Apply,
    /// Read cards.
    ReadCards,
    /// Hand over, enable, cancel, reissue, exchange.
    CardService,
    /// Report temporary/formal loss, unfreeze.
    CardLoss,
    /// Record a use at a terminal.
    RecordUse,
    /// Bank-side events: account opened, financial function activated.
    BankOps,
    /// Read the partner-bank list.
    ReadBanks,
    /// Register employers.
    ManageEmployers,
    /// Read and verify the audit trail.
    ReadAudit,
    /// Run scheduled jobs (lapse of temporary losses).
    RunJobs,
    /// Upload employee lists and photos (an employer agent: for its own employer).
    UploadBatches,
    /// See production batches (an employer agent: its own).
    ReadBatches,
    /// Run the production chain: send to banks and the factory, apply results, personalise,
    /// receive at outlets.
    RunProduction,
    /// Hand cards out at a pickup desk, mark cards missing, count the queue.
    Distribute,
    /// See distribution plans and a point's live figures.
    ReadDistribution,
    /// See institutions, terminals, readiness problems and the readiness report.
    ReadTerminals,
    /// Enrol, suspend and resume terminals; open and resolve readiness problems.
    ManageTerminals,
    /// See settlements and the month's clearing between the cities, with the statements.
    ReadSettlements,
    /// See benefit payment batches (a bank: its own files) and the status exchange.
    ReadPayments,
    /// Create benefit payment batches, send them, apply the banks' results.
    RunPayments,
    /// Book, cancel and check in exchange appointments at a counter (a clerk: check-in at its
    /// own point only).
    Appointments,
    /// See the migration's progress, its forecast and the notices outbox.
    ReadMigration,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Clerk,
        Role::EmployerAgent,
        Role::ProductionOperator,
        Role::Terminal,
        Role::Bank,
        Role::Auditor,
    ];

    /// Snake-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Clerk => "clerk",
            Role::EmployerAgent => "employer_agent",
            Role::ProductionOperator => "production_operator",
            Role::Terminal => "terminal",
            Role::Bank => "bank",
            Role::Auditor => "auditor",
            Role::Holder => "holder",
        }
    }

    /// The role for a name.
    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s.replace('-', "_"))
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            Role::Admin => "中心管理员",
            Role::Clerk => "柜员",
            Role::EmployerAgent => "单位经办人",
            Role::ProductionOperator => "制卡操作员",
            Role::Terminal => "医药机构终端",
            Role::Bank => "合作银行",
            Role::Auditor => "审计员",
            Role::Holder => "持卡人本人",
        }
    }

    /// Whether the role may do `p`. An employer agent's permissions hold for its own
    /// employer's people only; the caller applies that scope.
    pub fn can(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Admin => true,
            Role::Holder => false,
            Role::Clerk => matches!(
                p,
                P::ReadPersons
                    | P::RegisterPersons
                    | P::RevealId
                    | P::Apply
                    | P::ReadCards
                    | P::CardService
                    | P::CardLoss
                    | P::ReadBanks
                    | P::Distribute
                    | P::ReadDistribution
                    | P::Appointments
            ),
            Role::EmployerAgent => {
                matches!(
                    p,
                    P::ReadPersons
                        | P::RegisterPersons
                        | P::Apply
                        | P::ReadBanks
                        | P::UploadBatches
                        | P::ReadBatches
                )
            }
            Role::ProductionOperator => matches!(
                p,
                P::ReadCards
                    | P::ReadBanks
                    | P::ReadBatches
                    | P::RunProduction
                    | P::ReadDistribution
                    | P::ReadTerminals
            ),
            Role::Terminal => matches!(p, P::ReadCards | P::RecordUse),
            Role::Bank => matches!(
                p,
                P::ReadCards | P::BankOps | P::CardLoss | P::ReadBanks | P::ReadPayments
            ),
            Role::Auditor => {
                matches!(
                    p,
                    P::ReadPersons
                        | P::ReadCards
                        | P::ReadBanks
                        | P::ReadAudit
                        | P::ReadBatches
                        | P::ReadDistribution
                        | P::ReadTerminals
                        | P::ReadSettlements
                        | P::ReadPayments
                        | P::ReadMigration
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auditors_change_nothing_and_only_some_roles_reveal() {
        use Permission as P;
        let changes = [
            P::RegisterPersons,
            P::Apply,
            P::CardService,
            P::CardLoss,
            P::RecordUse,
            P::BankOps,
            P::ManageEmployers,
            P::RunJobs,
            P::RevealId,
            P::UploadBatches,
            P::RunProduction,
            P::Distribute,
            P::RunPayments,
        ];
        assert!(changes.iter().all(|p| !Role::Auditor.can(*p)));
        let revealers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.can(P::RevealId))
            .collect();
        assert_eq!(revealers, [Role::Admin, Role::Clerk]);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
