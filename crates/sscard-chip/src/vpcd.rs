//! The bridge to Debian's `vsmartcard-vpcd`: the vpcd driver inside `pcscd` listens on a TCP
//! port (35963 by default) for a virtual card to connect. Messages in both directions are a
//! 2-byte big-endian length and a payload; a 1-byte payload from vpcd is a control code
//! (`00` power off, `01` power on, `02` reset, `04` get ATR — answered with the ATR), anything
//! longer is a command APDU, answered with the response APDU.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::card::SoftCard;

/// Serves `card` on one connection to vpcd until it closes. Returns the number of APDUs served.
pub fn serve_connection(card: &mut SoftCard, stream: &mut TcpStream) -> std::io::Result<u64> {
    let mut served = 0;
    loop {
        let mut len = [0u8; 2];
        if let Err(e) = stream.read_exact(&mut len) {
            return if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Ok(served)
            } else {
                Err(e)
            };
        }
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut payload)?;
        let answer = match payload.as_slice() {
            [0x00..=0x02] => {
                card.reset();
                None
            }
            [0x04] => Some(card.atr().to_vec()),
            [_] => None,
            apdu => {
                served += 1;
                Some(card.process(apdu))
            }
        };
        if let Some(a) = answer {
            let mut msg = (a.len() as u16).to_be_bytes().to_vec();
            msg.extend_from_slice(&a);
            stream.write_all(&msg)?;
        }
    }
}
