//! Console input, the part that is plain logic: which VM has the input focus, and the escape
//! sequence that moves it. Ctrl-A then a VM number gives that VM the keyboard; Ctrl-A x powers
//! the machine off; Ctrl-A h prints help; Ctrl-A Ctrl-A sends one Ctrl-A. The pump that moves
//! bytes from the board UART into a VM's console device is in console_in.rs.
use crate::machine::{HAS_CONSOLE, NUM_VMS};

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
    /// Part of an escape sequence, or an unknown command: nothing to do.
    Nothing,
}

/// The escape-sequence state machine.
#[derive(Debug, Default)]
pub struct Escape {
    armed: bool,
}

impl Escape {
    pub const fn new() -> Self {
        Escape { armed: false }
    }

    pub fn feed(&mut self, b: u8) -> Key {
        if !self.armed {
            if b == ESCAPE {
                self.armed = true;
                return Key::Nothing;
            }
            return Key::Data(b);
        }
        self.armed = false;
        match b {
            ESCAPE => Key::Data(ESCAPE),
            b'0'..=b'9' => Key::Switch((b - b'0') as usize),
            b'x' | b'X' => Key::Quit,
            b'h' | b'H' | b'?' => Key::Help,
            _ => Key::Nothing,
        }
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

pub const HELP: &str =
    "hv: console input: Ctrl-A then a VM number gives it the keyboard, Ctrl-A x powers off, Ctrl-A Ctrl-A sends Ctrl-A";

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
    }

    #[test]
    fn focus_follows_the_description() {
        // The default machine's one VM has a PL011.
        assert_eq!(first_focus(), Some(0));
        assert!(focusable(0));
        assert!(!focusable(NUM_VMS));
    }
}
