//! Maps a config path (`vms.0.ram.1.ipa`) back to the line:col where its value starts.
//!
//! serde loses positions once the RON is deserialized, and ron 0.12 has no spanned values, so
//! this is a small structural scanner over the same text. It only has to find where values begin,
//! not to validate them: ron has already accepted the file when this runs.
use std::collections::HashMap;

/// 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Lit(String),
    Punct(char),
}

/// Keys the schema accepts under two names (serde aliases): (the name paths use, the alias).
const ALIASES: &[(&str, &str)] = &[("board.gic", "board.irqchip")];

#[derive(Default, Debug)]
pub struct SpanIndex {
    map: HashMap<String, Pos>,
}

impl SpanIndex {
    pub fn build(src: &str) -> SpanIndex {
        let toks = lex(src);
        let mut p = Parser { toks: &toks, i: skip_attributes(&toks), out: HashMap::new() };
        p.value(String::new());
        SpanIndex { map: p.out }
    }

    /// Position of `path`, or of its nearest recorded ancestor. A path written under a key's
    /// alias (`board.irqchip` for `board.gic`) is found under either.
    pub fn get(&self, path: &str) -> Option<Pos> {
        for (key, alias) in ALIASES {
            if let Some(rest) = path.strip_prefix(key).filter(|r| r.is_empty() || r.starts_with('.')) {
                if !self.map.contains_key(*key) && self.map.contains_key(*alias) {
                    return self.get(&format!("{alias}{rest}"));
                }
            }
        }
        let mut p = path;
        loop {
            if let Some(pos) = self.map.get(p) {
                return Some(*pos);
            }
            p = &p[..p.rfind('.')?];
        }
    }
}

fn lex(src: &str) -> Vec<(Tok, Pos)> {
    let chars: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut col) = (0, 1, 1);
    let mut out = Vec::new();
    let advance = |i: &mut usize, line: &mut usize, col: &mut usize, n: usize| {
        for _ in 0..n {
            if *i < chars.len() && chars[*i] == '\n' {
                *line += 1;
                *col = 1;
            } else {
                *col += 1;
            }
            *i += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, col };
        if c.is_whitespace() {
            advance(&mut i, &mut line, &mut col, 1);
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut col, 1);
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    advance(&mut i, &mut line, &mut col, 2);
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    advance(&mut i, &mut line, &mut col, 2);
                    if depth == 0 {
                        break;
                    }
                } else {
                    advance(&mut i, &mut line, &mut col, 1);
                }
            }
        } else if c == '"' || (c == 'r' && matches!(chars.get(i + 1), Some('"' | '#'))) {
            let start = i;
            if c == 'r' {
                let mut hashes = 0;
                advance(&mut i, &mut line, &mut col, 1);
                while chars.get(i) == Some(&'#') {
                    hashes += 1;
                    advance(&mut i, &mut line, &mut col, 1);
                }
                advance(&mut i, &mut line, &mut col, 1);
                while i < chars.len() {
                    if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                        advance(&mut i, &mut line, &mut col, 1 + hashes);
                        break;
                    }
                    advance(&mut i, &mut line, &mut col, 1);
                }
            } else {
                advance(&mut i, &mut line, &mut col, 1);
                while i < chars.len() && chars[i] != '"' {
                    let n = if chars[i] == '\\' { 2 } else { 1 };
                    advance(&mut i, &mut line, &mut col, n);
                }
                advance(&mut i, &mut line, &mut col, 1);
            }
            let text: String = chars[start..i.min(chars.len())].iter().collect();
            out.push((Tok::Lit(text), pos));
        } else if c == '\'' {
            advance(&mut i, &mut line, &mut col, 1);
            while i < chars.len() && chars[i] != '\'' {
                let n = if chars[i] == '\\' { 2 } else { 1 };
                advance(&mut i, &mut line, &mut col, n);
            }
            advance(&mut i, &mut line, &mut col, 1);
            out.push((Tok::Lit(String::new()), pos));
        } else if c.is_alphanumeric() || c == '_' || ((c == '-' || c == '+') && i + 1 < chars.len()) {
            let start = i;
            advance(&mut i, &mut line, &mut col, 1);
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.')) {
                advance(&mut i, &mut line, &mut col, 1);
            }
            let text: String = chars[start..i].iter().collect();
            let is_ident = c.is_alphabetic() || c == '_';
            out.push((if is_ident { Tok::Ident(text) } else { Tok::Lit(text) }, pos));
        } else {
            advance(&mut i, &mut line, &mut col, 1);
            out.push((Tok::Punct(c), pos));
        }
    }
    out
}

/// Where the first token at or after `from` starts: past whitespace and comments. ron reports
/// trailing characters where the value ended, but the garbage is what the user must see.
pub fn next_token(src: &str, from: Pos) -> Pos {
    lex(src).into_iter().map(|(_, p)| p).find(|&p| p >= from).unwrap_or(from)
}

/// Index of the first token after the file's inner attributes (`#![enable(implicit_some)]`),
/// which come before the value and name no part of it.
fn skip_attributes(toks: &[(Tok, Pos)]) -> usize {
    let mut i = 0;
    while matches!(
        toks.get(i..i + 3),
        Some([(Tok::Punct('#'), _), (Tok::Punct('!'), _), (Tok::Punct('['), _)])
    ) {
        let mut depth = 0;
        while let Some((t, _)) = toks.get(i) {
            i += 1;
            match t {
                Tok::Punct('[') => depth += 1,
                Tok::Punct(']') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    i
}

struct Parser<'a> {
    toks: &'a [(Tok, Pos)],
    i: usize,
    out: HashMap<String, Pos>,
}

fn join(path: &str, seg: &str) -> String {
    if path.is_empty() {
        seg.to_string()
    } else {
        format!("{path}.{seg}")
    }
}

impl Parser<'_> {
    fn peek(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.i + k).map(|t| &t.0)
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek(0) == Some(&Tok::Punct(c)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, path: String) {
        let Some((tok, pos)) = self.toks.get(self.i).cloned() else {
            return;
        };
        self.out.entry(path.clone()).or_insert(pos);
        match tok {
            Tok::Ident(name) => {
                self.i += 1;
                if self.eat('(') {
                    // `Some(x)` is transparent: `x` is the field's value.
                    self.paren(path, name == "Some");
                }
            }
            Tok::Punct('(') => {
                self.i += 1;
                self.paren(path, false);
            }
            Tok::Punct('[') => {
                self.i += 1;
                let mut n = 0;
                while self.peek(0).is_some() && !self.eat(']') {
                    self.value(join(&path, &n.to_string()));
                    n += 1;
                    self.eat(',');
                }
            }
            Tok::Punct('{') => {
                self.i += 1;
                while self.peek(0).is_some() && !self.eat('}') {
                    let key = match self.peek(0) {
                        Some(Tok::Lit(s) | Tok::Ident(s)) => s.trim_matches('"').to_string(),
                        _ => String::new(),
                    };
                    self.value(join(&path, &key));
                    self.eat(':');
                    self.value(join(&path, &key));
                    self.eat(',');
                }
            }
            _ => self.i += 1,
        }
    }

    /// After an opening `(`: named fields, or a tuple.
    fn paren(&mut self, path: String, transparent: bool) {
        let named = matches!(self.peek(0), Some(Tok::Ident(_))) && self.peek(1) == Some(&Tok::Punct(':'));
        let mut n = 0;
        while self.peek(0).is_some() && !self.eat(')') {
            if named {
                let Some(Tok::Ident(field)) = self.peek(0).cloned() else {
                    self.i += 1;
                    continue;
                };
                self.i += 1;
                self.eat(':');
                self.value(join(&path, &field));
            } else if transparent {
                self.value(path.clone());
            } else {
                self.value(join(&path, &n.to_string()));
            }
            n += 1;
            self.eat(',');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_paths() {
        let src = "Machine(\n  board: (name: \"x\", // c\n    ram: [(base: 0x4000_0000, size: 1)],\n  ),\n  vms: [(name: \"a\", image: Guest(\"h\"), dtb: Some(Generate(bootargs: \"\")), m: {\"k\": (v: 1)})],\n)";
        let ix = SpanIndex::build(src);
        assert_eq!(ix.get("board.ram.0.size"), Some(Pos { line: 3, col: 37 }));
        assert_eq!(ix.get("vms.0.image"), Some(Pos { line: 5, col: 28 }));
        assert_eq!(ix.get("vms.0.image.0"), Some(Pos { line: 5, col: 34 }));
        assert_eq!(ix.get("vms.0.dtb.bootargs"), Some(Pos { line: 5, col: 69 }));
        assert_eq!(ix.get("vms.0.m.k.v"), Some(Pos { line: 5, col: 88 }));
        // Unknown leaf falls back to the nearest ancestor.
        assert_eq!(ix.get("vms.0.name.zzz"), Some(Pos { line: 5, col: 16 }));
    }

    #[test]
    fn trailing_characters_are_found_past_comments() {
        let src = "Machine()\n// done\n\n   junk";
        assert_eq!(next_token(src, Pos { line: 1, col: 10 }), Pos { line: 4, col: 4 });
    }

    #[test]
    fn inner_attributes_come_before_the_value() {
        let src = "#![enable(implicit_some)]\n#![enable(unwrap_newtypes)]\nMachine(\n  board: (cpus: 2),\n)";
        let ix = SpanIndex::build(src);
        assert_eq!(ix.get("board.cpus"), Some(Pos { line: 4, col: 17 }));
    }
}
