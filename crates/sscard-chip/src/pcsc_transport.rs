//! The PC/SC transport (cargo feature `pcsc`): a card in a reader of the system's `pcscd`.

use crate::terminal::{TerminalError, Transport};

/// A connection to a card in a PC/SC reader.
pub struct Pcsc {
    card: pcsc::Card,
    reader: String,
}

impl std::fmt::Debug for Pcsc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pcsc")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

fn err(e: impl std::fmt::Display) -> TerminalError {
    TerminalError::Transport(e.to_string())
}

impl Pcsc {
    /// The readers pcscd knows.
    pub fn readers() -> Result<Vec<String>, TerminalError> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(err)?;
        let names = ctx.list_readers_owned().map_err(err)?;
        Ok(names
            .into_iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect())
    }

    /// Connects to the card in `reader`, or in the first reader that holds one.
    pub fn connect(reader: Option<&str>) -> Result<Pcsc, TerminalError> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(err)?;
        let names = ctx.list_readers_owned().map_err(err)?;
        let mut failed = Vec::new();
        for name in names {
            let text = name.to_string_lossy().into_owned();
            if reader.is_some_and(|r| !text.contains(r)) {
                continue;
            }
            match ctx.connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY) {
                Ok(card) => return Ok(Pcsc { card, reader: text }),
                Err(e) => failed.push(format!("{text}: {e}")),
            }
        }
        Err(TerminalError::Transport(if failed.is_empty() {
            "没有读卡器（no PC/SC reader）".into()
        } else {
            failed.join("; ")
        }))
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }
}

impl Transport for Pcsc {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TerminalError> {
        let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let r = self.card.transmit(apdu, &mut buf).map_err(err)?;
        Ok(r.to_vec())
    }

    fn atr(&mut self) -> Result<Vec<u8>, TerminalError> {
        let status = self.card.status2_owned().map_err(err)?;
        Ok(status.atr().to_vec())
    }
}
