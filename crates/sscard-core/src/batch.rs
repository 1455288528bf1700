//! Production batches (制卡批次) and their status chain through bank, card factory and key
//! personalisation, with a failure state for each export and each returned result.

use serde::Serialize;
use sscard_ids::Bilingual;

use crate::display_bilingual;

/// A production step that exchanges files with a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Account opening at the partner bank.
    Bank,
    /// Card manufacture at the card factory.
    Factory,
    /// Key personalisation at the initialisation centre.
    Personalisation,
}

impl Stage {
    /// All stages in order.
    pub const ALL: [Stage; 3] = [Stage::Bank, Stage::Factory, Stage::Personalisation];

    fn base(self) -> u8 {
        match self {
            Stage::Bank => 20,
            Stage::Factory => 30,
            Stage::Personalisation => 40,
        }
    }
    /// Snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Bank => "bank",
            Stage::Factory => "factory",
            Stage::Personalisation => "personalisation",
        }
    }
}

/// What a batch is waiting for at a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// The file was sent; the result is awaited (x0).
    Sent,
    /// The result came back and was imported (x1).
    Returned,
    /// Sending the file failed (x2).
    ExportFailed,
    /// The returned result could not be imported (x3).
    ReturnFailed,
}

/// Status of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "stage")]
pub enum BatchStatus {
    /// 10 created.
    Created,
    /// 20–23, 30–33, 40–43: at a stage.
    At(Stage, StepState),
    /// 60 received at the outlet.
    ReceivedAtOutlet,
    /// 70 issued (distribution finished).
    Issued,
}

/// Something that happens to a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchEvent {
    /// The stage's file was sent.
    Export(Stage),
    /// Sending the stage's file failed.
    ExportFailed(Stage),
    /// The stage's result file was imported.
    ImportResult(Stage),
    /// The stage's result file could not be imported.
    ImportFailed(Stage),
    /// Try the failed step again (its failed rows only; rows are the store's business).
    Retry,
    /// The cards arrived at the outlet.
    ReceiveAtOutlet,
    /// Distribution of the batch is finished.
    FinishIssuing,
}

impl BatchStatus {
    /// Every status.
    pub fn all() -> Vec<BatchStatus> {
        let mut v = vec![BatchStatus::Created];
        for s in Stage::ALL {
            for t in [
                StepState::Sent,
                StepState::Returned,
                StepState::ExportFailed,
                StepState::ReturnFailed,
            ] {
                v.push(BatchStatus::At(s, t));
            }
        }
        v.push(BatchStatus::ReceivedAtOutlet);
        v.push(BatchStatus::Issued);
        v
    }

    /// The two-digit code (10, 20–23, 30–33, 40–43, 60, 70).
    pub fn code(self) -> u8 {
        match self {
            BatchStatus::Created => 10,
            BatchStatus::At(stage, step) => {
                stage.base()
                    + match step {
                        StepState::Sent => 0,
                        StepState::Returned => 1,
                        StepState::ExportFailed => 2,
                        StepState::ReturnFailed => 3,
                    }
            }
            BatchStatus::ReceivedAtOutlet => 60,
            BatchStatus::Issued => 70,
        }
    }

    /// The status for a code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::all().into_iter().find(|s| s.code() == code)
    }

    /// Whether the batch is in a failure state waiting for a retry.
    pub fn is_failed(self) -> bool {
        matches!(
            self,
            BatchStatus::At(_, StepState::ExportFailed | StepState::ReturnFailed)
        )
    }

    /// The Chinese name.
    pub fn zh(self) -> String {
        let stage = |s: Stage| match s {
            Stage::Bank => "银行",
            Stage::Factory => "卡厂",
            Stage::Personalisation => "个人化",
        };
        match self {
            BatchStatus::Created => "已创建".into(),
            BatchStatus::At(s, StepState::Sent) => format!("已送{}", stage(s)),
            BatchStatus::At(s, StepState::Returned) => format!("{}已返回", stage(s)),
            BatchStatus::At(s, StepState::ExportFailed) => format!("送{}失败", stage(s)),
            BatchStatus::At(s, StepState::ReturnFailed) => format!("{}返回失败", stage(s)),
            BatchStatus::ReceivedAtOutlet => "网点已接收".into(),
            BatchStatus::Issued => "已发放".into(),
        }
    }

    /// The English name.
    pub fn en(self) -> String {
        let stage = |s: Stage| match s {
            Stage::Bank => "bank",
            Stage::Factory => "factory",
            Stage::Personalisation => "personalisation",
        };
        match self {
            BatchStatus::Created => "created".into(),
            BatchStatus::At(s, StepState::Sent) => format!("sent to {}", stage(s)),
            BatchStatus::At(s, StepState::Returned) => format!("{} returned", stage(s)),
            BatchStatus::At(s, StepState::ExportFailed) => {
                format!("sending to {} failed", stage(s))
            }
            BatchStatus::At(s, StepState::ReturnFailed) => format!("{} result failed", stage(s)),
            BatchStatus::ReceivedAtOutlet => "received at the outlet".into(),
            BatchStatus::Issued => "issued".into(),
        }
    }

    /// The state a stage's export starts from.
    fn ready_for(stage: Stage) -> BatchStatus {
        match stage {
            Stage::Bank => BatchStatus::Created,
            Stage::Factory => BatchStatus::At(Stage::Bank, StepState::Returned),
            Stage::Personalisation => BatchStatus::At(Stage::Factory, StepState::Returned),
        }
    }

    /// The status after `event`, or the error naming the refused pair.
    pub fn apply(self, event: BatchEvent) -> Result<Self, BatchTransitionError> {
        use BatchEvent as E;
        use BatchStatus as B;
        use StepState as T;
        let next = match (self, event) {
            (s, E::Export(stage)) if s == Self::ready_for(stage) => B::At(stage, T::Sent),
            (s, E::ExportFailed(stage)) if s == Self::ready_for(stage) => {
                B::At(stage, T::ExportFailed)
            }
            (B::At(s, T::Sent), E::ImportResult(stage)) if s == stage => B::At(stage, T::Returned),
            (B::At(s, T::Sent), E::ImportFailed(stage)) if s == stage => {
                B::At(stage, T::ReturnFailed)
            }
            // A failed export goes back to where it started; a failed import waits for a
            // corrected result file again.
            (B::At(stage, T::ExportFailed), E::Retry) => Self::ready_for(stage),
            (B::At(stage, T::ReturnFailed), E::Retry) => B::At(stage, T::Sent),
            (B::At(Stage::Personalisation, T::Returned), E::ReceiveAtOutlet) => B::ReceivedAtOutlet,
            (B::ReceivedAtOutlet, E::FinishIssuing) => B::Issued,
            _ => return Err(BatchTransitionError { from: self, event }),
        };
        Ok(next)
    }
}

/// A batch event that its current status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchTransitionError {
    /// Current status.
    pub from: BatchStatus,
    /// The refused event.
    pub event: BatchEvent,
}

impl Bilingual for BatchTransitionError {
    fn code(&self) -> &'static str {
        "batch.transition"
    }
    fn zh(&self) -> String {
        format!(
            "批次状态为“{}”（{}），不能执行 {:?}",
            self.from.zh(),
            self.from.code(),
            self.event
        )
    }
    fn en(&self) -> String {
        format!(
            "a batch in status {} cannot take {:?}",
            self.from.code(),
            self.event
        )
    }
}
display_bilingual!(BatchTransitionError);
