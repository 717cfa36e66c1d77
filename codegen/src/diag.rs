//! Diagnostics: every problem found in a description, each with a position, rendered like a
//! compiler (`file:line:col: error: …`, the source line, a caret, then notes at other places).
//!
//! Hand-written rather than miette: the required first line is the gcc/rustc one-line form that
//! editors and CI parse, which miette's graphical report does not print.
use crate::spans::{Pos, SpanIndex};
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Note,
}

/// One located message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub severity: Severity,
    pub msg: String,
    pub pos: Option<Pos>,
}

/// An error with optional notes pointing at the conflicting places.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub main: Label,
    pub notes: Vec<Label>,
}

impl Diagnostic {
    pub fn error(msg: impl Into<String>, pos: Option<Pos>) -> Self {
        Diagnostic { main: Label { severity: Severity::Error, msg: msg.into(), pos }, notes: vec![] }
    }
    pub fn note(mut self, msg: impl Into<String>, pos: Option<Pos>) -> Self {
        self.notes.push(Label { severity: Severity::Note, msg: msg.into(), pos });
        self
    }
}

/// Collects diagnostics against config paths, resolving them to positions.
pub struct Diags<'a> {
    spans: &'a SpanIndex,
    pub list: Vec<Diagnostic>,
}

impl<'a> Diags<'a> {
    pub fn new(spans: &'a SpanIndex) -> Self {
        Diags { spans, list: Vec::new() }
    }
    pub fn at(&self, path: &str) -> Option<Pos> {
        self.spans.get(path)
    }
    /// Report an error at `path`.
    pub fn err(&mut self, path: &str, msg: impl Into<String>) {
        let d = Diagnostic::error(msg, self.at(path));
        self.list.push(d);
    }
    /// Report an error at `path` with a note at `other`.
    pub fn clash(&mut self, path: &str, msg: impl Into<String>, other: &str, note: impl Into<String>) {
        let d = Diagnostic::error(msg, self.at(path)).note(note, self.at(other));
        self.list.push(d);
    }
}

/// Render all diagnostics against `src`, naming the file `file`.
pub fn render(file: &str, src: &str, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        for l in std::iter::once(&d.main).chain(&d.notes) {
            render_label(&mut out, file, src, l);
        }
    }
    let n = diags.len();
    let _ = writeln!(out, "error: {n} problem{} in {file}", if n == 1 { "" } else { "s" });
    out
}

fn render_label(out: &mut String, file: &str, src: &str, l: &Label) {
    let sev = match l.severity {
        Severity::Error => "error",
        Severity::Note => "note",
    };
    match l.pos {
        Some(p) => {
            let _ = writeln!(out, "{file}:{}:{}: {sev}: {}", p.line, p.col, l.msg);
            if let Some(text) = src.lines().nth(p.line - 1) {
                let num = p.line.to_string();
                let pad = " ".repeat(num.len());
                let caret = " ".repeat(p.col.saturating_sub(1));
                let _ = writeln!(out, "{pad} |\n{num} | {text}\n{pad} | {caret}^");
            }
        }
        None => {
            let _ = writeln!(out, "{file}: {sev}: {}", l.msg);
        }
    }
}
