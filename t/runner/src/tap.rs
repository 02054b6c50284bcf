//! TAP output and readable diagnostics.

use std::io::Write;
use std::sync::Mutex;

/// Where a file's TAP goes: straight to stdout (one job) or buffered (parallel jobs).
pub enum Sink {
    Stdout,
    Buffer(String),
}

impl Sink {
    pub fn line(&mut self, s: &str) {
        match self {
            Sink::Stdout => {
                let out = std::io::stdout();
                let mut out = out.lock();
                let _ = writeln!(out, "{s}");
                let _ = out.flush();
            }
            Sink::Buffer(b) => {
                b.push_str(s);
                b.push('\n');
            }
        }
    }
    pub fn diag(&mut self, s: &str) {
        for l in s.split('\n') {
            self.line(&format!("# {l}"));
        }
    }
}

/// Serialises whole buffered outputs from parallel jobs.
pub static PRINT: Mutex<()> = Mutex::new(());

pub fn print_buffer(s: &str) {
    let _g = PRINT.lock();
    let out = std::io::stdout();
    let mut out = out.lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// A Perl-like double-quoted rendering of a string.
pub fn quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                o.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{head}... ({} chars in all)", s.chars().count())
    }
}

/// `got` vs `expected` lines, plus a line diff when either side spans several lines.
pub fn got_expected(got: &str, expected: &str) -> Vec<String> {
    let mut d = vec![
        format!("         got: {}", clip(&quote(got), 2000)),
        format!("    expected: {}", clip(&quote(expected), 2000)),
    ];
    if got.contains('\n')
        && expected.contains('\n')
        && got.lines().count() + expected.lines().count() > 2
    {
        d.push("  diff (- expected, + got):".into());
        d.extend(
            line_diff(expected, got)
                .into_iter()
                .map(|l| format!("    {l}")),
        );
    }
    d
}

/// A minimal LCS line diff; lines prefixed with ' ', '-' (expected only) or '+' (got only).
pub fn line_diff(expected: &str, got: &str) -> Vec<String> {
    let a: Vec<&str> = expected.split_inclusive('\n').collect();
    let b: Vec<&str> = got.split_inclusive('\n').collect();
    let show = |p: char, l: &str| {
        let q = quote(l);
        format!("{p} {}", &q[1..q.len() - 1])
    };
    if a.len() * b.len() > 4_000_000 {
        let mut out: Vec<String> = a.iter().map(|l| show('-', l)).collect();
        out.extend(b.iter().map(|l| show('+', l)));
        return out;
    }
    let (n, m) = (a.len(), b.len());
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if a[i] == b[j] {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(show(' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || t[i + 1][j] >= t[i][j + 1]) {
            out.push(show('-', a[i]));
            i += 1;
        } else {
            out.push(show('+', b[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_diff() {
        assert_eq!(quote("a\n\"b\"\t"), r#""a\n\"b\"\t""#);
        let d = line_diff("a\nb\nc\n", "a\nx\nc\n");
        assert_eq!(d, vec!["  a\\n", "- b\\n", "+ x\\n", "  c\\n"]);
        let g = got_expected("ok\n", "ko\n");
        assert_eq!(g[0], r#"         got: "ok\n""#);
        assert_eq!(g[1], r#"    expected: "ko\n""#);
    }
}
