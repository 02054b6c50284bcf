//! Evaluation of the small Perl expression subset allowed in `--- name eval` sections.
//!
//! Supported: single- and double-quoted strings (and `q{}` / `qq{}`), integer and decimal
//! numbers, `qr/.../flags` with any delimiter, `.` concatenation, `x N` repetition,
//! `[ ... ]` arrays, `( ... )` lists (which may be repeated with `x`), `$ENV{NAME}`.
//! Anything else is an error with a message that names what was not understood.

use std::fmt;

/// A section value after filtering.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Re(PerlRegex),
    Array(Vec<Value>),
}

/// A `qr//` regex: Perl source text and flags (a subset of `imsx`).
#[derive(Clone, Debug, PartialEq)]
pub struct PerlRegex {
    pub src: String,
    pub flags: String,
}

impl fmt::Display for PerlRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "qr/{}/{}", self.src, self.flags)
    }
}

impl Value {
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Re(_) => "a regex",
            Value::Array(_) => "an array",
        }
    }
}

/// Intermediate value: a parenthesised list is kept apart so `(..) x N` can repeat it.
#[derive(Clone, Debug)]
enum Item {
    V(Value),
    List(Vec<Value>),
}

impl Item {
    fn into_scalar(self) -> Result<Value, String> {
        match self {
            Item::V(v) => Ok(v),
            Item::List(mut l) if l.len() == 1 => Ok(l.remove(0)),
            // `("ab") x 3` in scalar context is the repeated string
            Item::List(l) if l.iter().all(|v| matches!(v, Value::Str(_))) => Ok(Value::Str(
                l.into_iter()
                    .map(|v| match v {
                        Value::Str(s) => s,
                        _ => String::new(),
                    })
                    .collect(),
            )),
            Item::List(_) => Err("a parenthesised list is only supported inside [ ... ]".into()),
        }
    }
}

struct Parser<'a, 'e> {
    s: &'a [char],
    i: usize,
    env: &'e dyn Fn(&str) -> Option<String>,
}

/// Evaluate `src` as a Perl expression of the supported subset.
pub fn eval(src: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Value, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut p = Parser {
        s: &chars,
        i: 0,
        env,
    };
    p.ws();
    if p.eof() {
        return Err("eval: empty expression".into());
    }
    let v = p.expr()?.into_scalar()?;
    p.ws();
    while p.peek() == Some(';') {
        p.i += 1;
        p.ws();
    }
    if !p.eof() {
        return Err(format!(
            "eval: unsupported Perl at `{}` (supported: strings, qr//, ., x, [..])",
            p.rest_preview()
        ));
    }
    Ok(v)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn closing(c: char) -> char {
    match c {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        '<' => '>',
        other => other,
    }
}

impl Parser<'_, '_> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }
    fn peek_at(&self, n: usize) -> Option<char> {
        self.s.get(self.i + n).copied()
    }
    fn rest_preview(&self) -> String {
        self.s[self.i..].iter().take(40).collect()
    }
    /// Skip whitespace and `#` comments.
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.i += 1;
            } else if c == '#' {
                while let Some(c) = self.peek() {
                    self.i += 1;
                    if c == '\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    fn expr(&mut self) -> Result<Item, String> {
        let mut left = self.repeat()?;
        loop {
            self.ws();
            if self.peek() == Some('.') && !matches!(self.peek_at(1), Some('.') | Some('=')) {
                self.i += 1;
                let right = self.repeat()?;
                let l = as_string(left.into_scalar()?, "left side of `.`")?;
                let r = as_string(right.into_scalar()?, "right side of `.`")?;
                left = Item::V(Value::Str(l + &r));
            } else {
                return Ok(left);
            }
        }
    }

    fn repeat(&mut self) -> Result<Item, String> {
        let mut v = self.primary()?;
        loop {
            self.ws();
            if self.peek() == Some('x')
                && self
                    .peek_at(1)
                    .is_some_and(|c| c.is_ascii_digit() || c.is_whitespace() || c == '(')
            {
                self.i += 1;
                self.ws();
                let n = self.count()?;
                v = match v {
                    Item::List(l) => {
                        let mut out = Vec::new();
                        for _ in 0..n {
                            out.extend(l.iter().cloned());
                        }
                        Item::List(out)
                    }
                    Item::V(val) => {
                        Item::V(Value::Str(as_string(val, "left side of `x`")?.repeat(n)))
                    }
                };
            } else {
                return Ok(v);
            }
        }
    }

    fn count(&mut self) -> Result<usize, String> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!(
                "eval: `x` must be followed by an integer literal, at `{}`",
                self.rest_preview()
            ));
        }
        let n: String = self.s[start..self.i].iter().collect();
        n.parse().map_err(|e| format!("eval: bad count {n}: {e}"))
    }

    fn primary(&mut self) -> Result<Item, String> {
        self.ws();
        let c = match self.peek() {
            Some(c) => c,
            None => return Err("eval: unexpected end of expression".into()),
        };
        match c {
            '"' => {
                self.i += 1;
                Ok(Item::V(Value::Str(self.dq_body('"', '"')?)))
            }
            '\'' => {
                self.i += 1;
                Ok(Item::V(Value::Str(self.sq_body('\'', '\'')?)))
            }
            '[' => {
                self.i += 1;
                let items = self.list(']')?;
                Ok(Item::V(Value::Array(items)))
            }
            '(' => {
                self.i += 1;
                let items = self.list(')')?;
                Ok(Item::List(items))
            }
            '$' => self.env_var(),
            c if c.is_ascii_digit() => {
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '_') {
                    self.i += 1;
                }
                if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.i += 1;
                    }
                }
                let n: String = self.s[start..self.i]
                    .iter()
                    .filter(|c| **c != '_')
                    .collect();
                Ok(Item::V(Value::Str(n)))
            }
            c if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self.peek().is_some_and(is_ident) {
                    self.i += 1;
                }
                let word: String = self.s[start..self.i].iter().collect();
                match word.as_str() {
                    "qr" | "q" | "qq" => {
                        self.ws();
                        let d = match self.peek() {
                            Some(d) if !is_ident(d) && !d.is_whitespace() && d != ',' => d,
                            _ => return Err(format!("eval: `{word}` without a delimiter")),
                        };
                        self.i += 1;
                        let close = closing(d);
                        match word.as_str() {
                            "q" => Ok(Item::V(Value::Str(self.sq_body(d, close)?))),
                            "qq" => Ok(Item::V(Value::Str(self.dq_body(d, close)?))),
                            _ => self.qr_body(d, close),
                        }
                    }
                    _ => Err(format!(
                        "eval: unsupported Perl `{word}` (only strings, qr//, ., x and [..] are supported)"
                    )),
                }
            }
            _ => Err(format!(
                "eval: unsupported Perl at `{}` (only strings, qr//, ., x and [..] are supported)",
                self.rest_preview()
            )),
        }
    }

    /// `$ENV{NAME}` / `$ENV{'NAME'}` as a term.
    fn env_var(&mut self) -> Result<Item, String> {
        match self.try_env()? {
            Some(v) => Ok(Item::V(Value::Str(v))),
            None => Err(format!(
                "eval: Perl variables are not supported, at `{}`",
                self.rest_preview()
            )),
        }
    }

    /// At a `$`: parse `$ENV{...}` and return its value (unset → empty, like Perl).
    fn try_env(&mut self) -> Result<Option<String>, String> {
        let rest: String = self.s[self.i..].iter().take(5).collect();
        if rest != "$ENV{" {
            return Ok(None);
        }
        let start = self.i;
        self.i += 5;
        let mut name = String::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == '}' {
                let name = name
                    .trim()
                    .trim_matches(|c| c == '\'' || c == '"')
                    .to_string();
                if name.is_empty() || !name.chars().all(is_ident) {
                    self.i = start;
                    return Err("eval: bad $ENV{...}".into());
                }
                return Ok(Some((self.env)(&name).unwrap_or_default()));
            }
            name.push(c);
        }
        Err("eval: unterminated $ENV{".into())
    }

    fn list(&mut self, close: char) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None => return Err(format!("eval: missing `{close}`")),
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => {}
            }
            match self.expr()? {
                Item::V(v) => out.push(v),
                Item::List(l) => out.extend(l),
            }
            self.ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some('=') if self.peek_at(1) == Some('>') => self.i += 2,
                Some(c) if c == close => {}
                _ => {
                    return Err(format!(
                        "eval: expected `,` or `{close}` at `{}`",
                        self.rest_preview()
                    ))
                }
            }
        }
    }

    /// Body of a single-quoted string, after the opening delimiter.
    fn sq_body(&mut self, open: char, close: char) -> Result<String, String> {
        let mut out = String::new();
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == '\\' {
                match self.peek() {
                    Some(n) if n == '\\' || n == close || n == open => {
                        self.i += 1;
                        out.push(n);
                    }
                    _ => out.push('\\'),
                }
            } else if c == close && depth == 0 {
                return Ok(out);
            } else {
                if open != close {
                    if c == open {
                        depth += 1;
                    } else if c == close {
                        depth -= 1;
                    }
                }
                out.push(c);
            }
        }
        Err("eval: unterminated string".into())
    }

    /// Body of a double-quoted string, after the opening delimiter.
    fn dq_body(&mut self, open: char, close: char) -> Result<String, String> {
        let mut out = String::new();
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            if c == '\\' {
                self.i += 1;
                let n = self.peek().ok_or("eval: unterminated string")?;
                self.i += 1;
                match n {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'f' => out.push('\x0c'),
                    'a' => out.push('\x07'),
                    'e' => out.push('\x1b'),
                    '0' => out.push('\0'),
                    'x' => {
                        let code = if self.peek() == Some('{') {
                            self.i += 1;
                            let mut h = String::new();
                            while let Some(c) = self.peek() {
                                self.i += 1;
                                if c == '}' {
                                    break;
                                }
                                h.push(c);
                            }
                            u32::from_str_radix(h.trim(), 16).unwrap_or(0)
                        } else {
                            let mut h = String::new();
                            while h.len() < 2 && self.peek().is_some_and(|c| c.is_ascii_hexdigit())
                            {
                                h.push(self.peek().unwrap_or('0'));
                                self.i += 1;
                            }
                            u32::from_str_radix(&h, 16).unwrap_or(0)
                        };
                        out.push(char::from_u32(code).ok_or("eval: bad \\x escape")?);
                    }
                    c if c.is_ascii_alphanumeric() => {
                        return Err(format!("eval: unsupported escape \\{c} in a string"))
                    }
                    other => out.push(other),
                }
                continue;
            }
            if c == close && depth == 0 {
                self.i += 1;
                return Ok(out);
            }
            if c == '$' {
                if let Some(v) = self.try_env()? {
                    out.push_str(&v);
                    continue;
                }
                if self.peek_at(1).is_some_and(|n| is_ident(n) || n == '{') {
                    return Err(format!(
                        "eval: variable interpolation is not supported, at `{}` (escape it as \\$)",
                        self.rest_preview()
                    ));
                }
            }
            if c == '@' && self.peek_at(1).is_some_and(|n| is_ident(n) || n == '{') {
                return Err(format!(
                    "eval: array interpolation is not supported, at `{}` (escape it as \\@)",
                    self.rest_preview()
                ));
            }
            if open != close {
                if c == open {
                    depth += 1;
                } else if c == close {
                    depth -= 1;
                }
            }
            self.i += 1;
            out.push(c);
        }
        Err("eval: unterminated string".into())
    }

    fn qr_body(&mut self, open: char, close: char) -> Result<Item, String> {
        let mut src = String::new();
        let mut depth = 0usize;
        loop {
            let c = self.peek().ok_or("eval: unterminated qr")?;
            self.i += 1;
            if c == '\\' {
                let n = self.peek().ok_or("eval: unterminated qr")?;
                self.i += 1;
                if (n == close || n == open) && !"()[]{}<>".contains(n) {
                    // an escaped delimiter such as `\/` is the character itself
                    src.push('\\');
                    src.push(n);
                } else {
                    src.push('\\');
                    src.push(n);
                }
                continue;
            }
            if c == close && depth == 0 {
                break;
            }
            if open != close {
                if c == open {
                    depth += 1;
                } else if c == close {
                    depth -= 1;
                }
            }
            if c == '$' && self.peek().is_some_and(|n| is_ident(n) || n == '{') {
                return Err(format!(
                    "eval: variable interpolation in qr is not supported, at `${}`",
                    self.rest_preview()
                ));
            }
            if c == '@' && self.peek().is_some_and(|n| is_ident(n) || n == '{') {
                return Err("eval: array interpolation in qr is not supported".into());
            }
            src.push(c);
        }
        let mut flags = String::new();
        while let Some(c) = self.peek().filter(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
            match c {
                'i' | 'm' | 's' | 'x' => {
                    if !flags.contains(c) {
                        flags.push(c)
                    }
                }
                'o' => {}
                other => return Err(format!("eval: unsupported qr flag `{other}`")),
            }
        }
        Ok(Item::V(Value::Re(PerlRegex { src, flags })))
    }
}

fn as_string(v: Value, what: &str) -> Result<String, String> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(format!(
            "eval: {what} is {}, expected a string",
            other.describe()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> Result<Value, String> {
        eval(s, &|n| if n == "FOO" { Some("bar".into()) } else { None })
    }
    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(ev(r#""a\n\t\r\\\"\$\@b""#).unwrap(), s("a\n\t\r\\\"$@b"));
        assert_eq!(ev(r#"'a\n\'\\'"#).unwrap(), s("a\\n'\\"));
        assert_eq!(ev(r#""\x41\x{42}""#).unwrap(), s("AB"));
        assert_eq!(ev(r#"q{a{b}c}"#).unwrap(), s("a{b}c"));
        assert_eq!(ev(r#"qq!x\n!"#).unwrap(), s("x\n"));
        assert_eq!(ev(r#""a@ b $ c""#).unwrap(), s("a@ b $ c"));
        assert_eq!(ev("\"GET /t\"\n").unwrap(), s("GET /t"));
    }

    #[test]
    fn concat_and_repeat() {
        assert_eq!(ev(r#""a" . "b" x 3 . "c""#).unwrap(), s("abbbc"));
        assert_eq!(ev(r#"("ab") x 2"#).unwrap(), s("abab"));
        assert_eq!(ev(r#""a"x3"#).unwrap(), s("aaa"));
        assert_eq!(ev(r#""p=" . $ENV{FOO}"#).unwrap(), s("p=bar"));
        assert_eq!(ev(r#""p=$ENV{'FOO'}""#).unwrap(), s("p=bar"));
    }

    #[test]
    fn arrays() {
        assert_eq!(
            ev(r#"["GET /a", 'GET /b', 200,]"#).unwrap(),
            Value::Array(vec![s("GET /a"), s("GET /b"), s("200")])
        );
        assert_eq!(
            ev(r#"[("GET /t") x 3]"#).unwrap(),
            Value::Array(vec![s("GET /t"), s("GET /t"), s("GET /t")])
        );
        assert_eq!(
            ev(r#"[qr/a$/, "b\n" . "c"]"#).unwrap(),
            Value::Array(vec![
                Value::Re(PerlRegex {
                    src: "a$".into(),
                    flags: "".into()
                }),
                s("b\nc")
            ])
        );
    }

    #[test]
    fn qr_flags_and_delims() {
        assert_eq!(
            ev(r#"qr/a\/b/ism"#).unwrap(),
            Value::Re(PerlRegex {
                src: r"a\/b".into(),
                flags: "ism".into()
            })
        );
        assert_eq!(
            ev(r#"qr{x{2}}"#).unwrap(),
            Value::Re(PerlRegex {
                src: "x{2}".into(),
                flags: "".into()
            })
        );
        assert!(ev("qr/a/g").is_err());
    }

    #[test]
    fn refused() {
        assert!(ev("$x").is_err());
        assert!(ev(r#""a $x""#).is_err());
        assert!(ev(r#"qr/$x/"#).is_err());
        assert!(ev(r#"join(",", 1)"#).is_err());
        assert!(ev(r#""a" "b""#).is_err());
        assert!(ev(r#"sub { 1 }"#).is_err());
        assert!(ev(r#"[1, 2"#).is_err());
    }
}
