//! Perl regex → fancy-regex translation.
//!
//! The differences that matter for test suites:
//! - Perl's `$` (without `/m`) matches at the end *or before a final newline*: emitted as
//!   the lookahead `(?=\n?\z)`; `\Z` likewise.
//! - `{` that does not start a quantifier is a literal in Perl.
//! - `\h`, `\H`, `\e`, `\Q...\E`; escaped punctuation is always a literal.
//! - inside a class, `[` (not `[:name:]`), `&` and `~` are literals.

use fancy_regex::Regex;

/// Compile a Perl regex with Perl flags (`imsx`).
pub fn compile(src: &str, flags: &str) -> Result<Regex, String> {
    let translated = translate(src, flags.contains('m'));
    let mut prefix = String::new();
    for f in ['i', 'm', 's', 'x'] {
        if flags.contains(f) {
            prefix.push(f);
        }
    }
    let full = if prefix.is_empty() {
        translated
    } else {
        format!("(?{prefix}){translated}")
    };
    Regex::new(&full).map_err(|e| format!("cannot compile Perl regex /{src}/{flags}: {e}"))
}

fn lit(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    }
}

fn is_quantifier(rest: &[char]) -> Option<usize> {
    // rest starts at '{'; valid forms: {n} {n,} {n,m}
    let mut i = 1;
    let mut digits = 0;
    while rest.get(i).is_some_and(|c| c.is_ascii_digit()) {
        i += 1;
        digits += 1;
    }
    if digits == 0 {
        return None;
    }
    if rest.get(i) == Some(&',') {
        i += 1;
        while rest.get(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
    }
    if rest.get(i) == Some(&'}') {
        Some(i + 1)
    } else {
        None
    }
}

/// Translate Perl regex syntax into fancy-regex syntax.
pub fn translate(src: &str, multiline: bool) -> String {
    let s: Vec<char> = src.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        match c {
            '\\' if i + 1 < s.len() => {
                let n = s[i + 1];
                i += 2;
                match n {
                    'Z' => out.push_str(r"(?=\n?\z)"),
                    'h' => out.push_str(r"[\t\x{20}]"),
                    'H' => out.push_str(r"[^\t\x{20}]"),
                    'e' => out.push_str(r"\x{1B}"),
                    'E' => {}
                    'Q' => {
                        while i < s.len() {
                            if s[i] == '\\' && s.get(i + 1) == Some(&'E') {
                                i += 2;
                                break;
                            }
                            lit(&mut out, s[i]);
                            i += 1;
                        }
                    }
                    n if n.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(n);
                    }
                    n => lit(&mut out, n),
                }
            }
            '\\' => {
                out.push_str(r"\\");
                i += 1;
            }
            '[' => {
                i = class(&s, i, &mut out);
            }
            '$' => {
                if multiline {
                    out.push('$');
                } else {
                    out.push_str(r"(?=\n?\z)");
                }
                i += 1;
            }
            '{' => {
                if let Some(len) = is_quantifier(&s[i..]) {
                    out.extend(&s[i..i + len]);
                    i += len;
                } else {
                    out.push_str(r"\{");
                    i += 1;
                }
            }
            '}' => {
                out.push_str(r"\}");
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Copy a character class starting at `s[start] == '['`; return the index after it.
fn class(s: &[char], start: usize, out: &mut String) -> usize {
    let mut i = start + 1;
    out.push('[');
    if s.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    if s.get(i) == Some(&']') {
        out.push_str(r"\x{5D}");
        i += 1;
    }
    while i < s.len() {
        let c = s[i];
        match c {
            ']' => {
                out.push(']');
                return i + 1;
            }
            '\\' if i + 1 < s.len() => {
                let n = s[i + 1];
                i += 2;
                match n {
                    'h' => out.push_str(r"\t\x{20}"),
                    'e' => out.push_str(r"\x{1B}"),
                    n if n.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(n);
                    }
                    n => lit(out, n),
                }
            }
            '[' if s.get(i + 1) == Some(&':') => {
                // POSIX class [:name:]
                let mut j = i + 2;
                while j + 1 < s.len() && !(s[j] == ':' && s[j + 1] == ']') {
                    j += 1;
                }
                if j + 1 < s.len() {
                    out.extend(&s[i..j + 2]);
                    i = j + 2;
                } else {
                    lit(out, '[');
                    i += 1;
                }
            }
            '[' | '&' | '~' => {
                lit(out, c);
                i += 1;
            }
            '-' if s.get(i + 1) == Some(&'-') => {
                lit(out, '-');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    // unterminated: the regex compiler reports it
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(re: &str, flags: &str, text: &str) -> bool {
        compile(re, flags).unwrap().is_match(text).unwrap()
    }

    #[test]
    fn dollar_before_final_newline() {
        assert!(m("^ok$", "", "ok\n"));
        assert!(m("^ok$", "", "ok"));
        assert!(!m("^ok$", "", "ok\nmore\n"));
        assert!(m("^ok$\n", "", "ok\n"));
        assert!(m("^a\nb$\n", "s", "a\nb\n"));
        assert!(m("^b$", "m", "a\nb\nc\n"));
        assert!(m(r"ok\Z", "", "ok\n"));
        assert!(!m(r"ok\z", "", "ok\n"));
    }

    #[test]
    fn perl_literals() {
        assert!(m(r"a\/b", "", "a/b"));
        assert!(m(r"a{b}", "", "a{b}"));
        assert!(m(r"a{2}", "", "aa"));
        assert!(m(r"x\h+y", "", "x \ty"));
        assert!(m(r"\Qa.b\E", "", "a.b"));
        assert!(!m(r"\Qa.b\E", "", "axb"));
        assert!(m(r"[[]", "", "["));
        assert!(m(r"[]a]", "", "]"));
        assert!(m(r"[[:digit:]]+", "", "42"));
        assert!(m(r"(?<!x)y", "", "zy"));
        assert!(m(r"a\ b", "x", "a b"));
        assert!(m(r"HELLO", "i", "hello"));
        assert!(m(r"a.b", "s", "a\nb"));
        assert!(!m(r"a.b", "", "a\nb"));
    }
}
