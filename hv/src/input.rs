//! Console input, the part that is plain logic: which VM has the input focus, and the escape
//! sequences that move it and manage VMs. Ctrl-A then a VM number gives that VM the keyboard;
//! Ctrl-A s lists the VMs and their states; Ctrl-A p, c, r or k then a VM number pauses,
//! continues, restarts or stops (kills) it; Ctrl-A x powers the machine off; Ctrl-A h prints
//! help; Ctrl-A Ctrl-A sends one Ctrl-A. The pump that moves bytes from the board UART into a
//! VM's console device is in console_in.rs.
use crate::machine::{HAS_CONSOLE, NUM_VMS};
use crate::vm::Control as Op;

pub const ESCAPE: u8 = 0x01;

/// What one byte typed on the console means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Input for the focused VM.
    Data(u8),
    /// Give the focus to VM n (as typed: it may not exist).
    Switch(usize),
    Quit,
    Help,
    /// List the VMs and their states.
    Status,
    /// Do this to VM n (as typed: it may not exist).
    Manage(Op, usize),
    /// Part of an escape sequence, or an unknown command: nothing to do.
    Nothing,
}

/// The escape-sequence state machine.
#[derive(Debug, Default)]
pub struct Escape {
    armed: bool,
    /// A management command waiting for its VM number.
    command: Option<Op>,
}

impl Escape {
    pub const fn new() -> Self {
        Escape { armed: false, command: None }
    }

    pub fn feed(&mut self, b: u8) -> Key {
        if let Some(op) = self.command.take() {
            return match b {
                b'0'..=b'9' => Key::Manage(op, (b - b'0') as usize),
                _ => Key::Nothing,
            };
        }
        if !self.armed {
            if b == ESCAPE {
                self.armed = true;
                return Key::Nothing;
            }
            return Key::Data(b);
        }
        self.armed = false;
        let op = match b {
            ESCAPE => return Key::Data(ESCAPE),
            b'0'..=b'9' => return Key::Switch((b - b'0') as usize),
            b'x' | b'X' => return Key::Quit,
            b'h' | b'H' | b'?' => return Key::Help,
            b's' => return Key::Status,
            b'p' => Op::Pause,
            b'c' => Op::Resume,
            b'r' => Op::Restart,
            b'k' => Op::Stop,
            _ => return Key::Nothing,
        };
        self.command = Some(op);
        Key::Nothing
    }
}

/// The VM that gets console input first: the first one with a console device.
pub fn first_focus() -> Option<usize> {
    (0..NUM_VMS).find(|&v| HAS_CONSOLE[v])
}

/// Can VM `n` take the focus?
pub fn focusable(n: usize) -> bool {
    HAS_CONSOLE.get(n).copied().unwrap_or(false)
}

pub const HELP: &str = "hv: console input: Ctrl-A then a VM number gives it the keyboard; Ctrl-A s lists the VMs; Ctrl-A p|c|r|k then a VM number pauses, continues, restarts or stops it; Ctrl-A x powers off; Ctrl-A Ctrl-A sends Ctrl-A";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences() {
        let mut e = Escape::new();
        assert_eq!(e.feed(b'l'), Key::Data(b'l'));
        assert_eq!(e.feed(ESCAPE), Key::Nothing);
        assert_eq!(e.feed(b'1'), Key::Switch(1));
        assert_eq!(e.feed(b'1'), Key::Data(b'1'), "one command per Ctrl-A");
        assert_eq!([ESCAPE, ESCAPE].map(|b| e.feed(b)), [Key::Nothing, Key::Data(ESCAPE)]);
        assert_eq!([ESCAPE, b'x'].map(|b| e.feed(b)), [Key::Nothing, Key::Quit]);
        assert_eq!([ESCAPE, b'h'].map(|b| e.feed(b)), [Key::Nothing, Key::Help]);
        assert_eq!([ESCAPE, b'q'].map(|b| e.feed(b)), [Key::Nothing, Key::Nothing], "unknown: dropped");
        assert_eq!(e.feed(b'\r'), Key::Data(b'\r'));
        assert_eq!([ESCAPE, b's'].map(|b| e.feed(b)), [Key::Nothing, Key::Status]);
        assert_eq!(
            [ESCAPE, b'p', b'1'].map(|b| e.feed(b)),
            [Key::Nothing, Key::Nothing, Key::Manage(Op::Pause, 1)]
        );
        assert_eq!(
            [ESCAPE, b'c', b'1'].map(|b| e.feed(b)),
            [Key::Nothing, Key::Nothing, Key::Manage(Op::Resume, 1)]
        );
        assert_eq!(
            [ESCAPE, b'r', b'0'].map(|b| e.feed(b)),
            [Key::Nothing, Key::Nothing, Key::Manage(Op::Restart, 0)]
        );
        assert_eq!(
            [ESCAPE, b'k', b'2'].map(|b| e.feed(b)),
            [Key::Nothing, Key::Nothing, Key::Manage(Op::Stop, 2)]
        );
        assert_eq!([ESCAPE, b'p', b'z'].map(|b| e.feed(b)), [Key::Nothing; 3], "no number: dropped");
        assert_eq!(e.feed(b'z'), Key::Data(b'z'));
    }

    #[test]
    fn focus_follows_the_description() {
        // The default machine's one VM has a PL011.
        assert_eq!(first_focus(), Some(0));
        assert!(focusable(0));
        assert!(!focusable(NUM_VMS));
    }
}
