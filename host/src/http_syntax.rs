//! The syntax of HTTP values a plugin hands to the proxy: header names and values, decimal numbers, request
//! paths, Host values. Pure functions (the proxy decides what a refusal means); the Host rule is the one nginx
//! applies to a request's Host header, so a value the proxy accepts from a plugin is one it would accept from a
//! client.

pub fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

pub fn valid_header_name(key: &[u8]) -> bool {
    !key.is_empty() && key.iter().all(|c| is_token_char(*c))
}

pub fn valid_header_value(value: &[u8]) -> bool {
    !value.iter().any(|c| matches!(c, b'\r' | b'\n' | 0))
}

pub fn parse_number<T: std::str::FromStr>(value: &[u8]) -> Option<T> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Percent-decode a path; `None` when it decodes to a NUL byte or a dot segment (`/../`, `/./`), which nginx
/// would have normalised or refused on a request line.
pub fn decode_path(path: &[u8]) -> Option<Vec<u8>> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        if path[i] == b'%' {
            let hi = hex(*path.get(i + 1)?)?;
            let lo = hex(*path.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(path[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return None;
    }
    let dot_segment = out
        .split(|c| *c == b'/')
        .any(|seg| seg == b"." || seg == b"..");
    (!dot_segment).then_some(out)
}

/// The server name nginx takes from a Host header value (`headers_in.server`, `$host`), or `None` when nginx
/// would refuse the value (400 "client sent invalid host header"). The rule of `ngx_http_validate_host` in
/// nginx 1.21.1 and later: refused are NUL, space and other control characters, DEL, '/', "..", and a value
/// with nothing before its port; the name is what comes before the first ':' (or the whole `[...]` of a
/// bracketed literal at the start), without one trailing '.', lowercased. The port part is not checked (names
/// such as `localhost:29153-canary` are fine), other bytes, UTF-8 included, pass as they are.
pub fn host_of(value: &[u8]) -> Option<Vec<u8>> {
    #[derive(PartialEq)]
    enum State {
        Name,
        Literal,
        Rest,
    }
    let mut state = State::Name;
    let mut name_len = value.len();
    let mut last_dot = None;
    for (i, &c) in value.iter().enumerate() {
        match c {
            b'.' => {
                if i > 0 && last_dot == Some(i - 1) {
                    return None;
                }
                last_dot = Some(i);
            }
            b':' if state == State::Name => {
                name_len = i;
                state = State::Rest;
            }
            b'[' if i == 0 => state = State::Literal,
            b']' if state == State::Literal => {
                name_len = i + 1;
                state = State::Rest;
            }
            b':' | b'[' | b']' => {}
            b'/' => return None,
            c if c <= 0x20 || c == 0x7f => return None,
            _ => {}
        }
    }
    if name_len > 0 && last_dot == Some(name_len - 1) {
        name_len -= 1;
    }
    (name_len > 0).then(|| value[..name_len].to_ascii_lowercase())
}

/// Where an HTTP call goes, as the proxy's upstream machinery takes it: `name` (an upstream group of that name,
/// or a host resolved by the proxy's resolver), `name:port`, an IPv4 address with a port, or a bracketed IPv6
/// address with or without one. `localhost` is `127.0.0.1` (the proxy's resolver does not read `/etc/hosts`).
/// Returns the `host[:port]` to put in the call's URL; `None` for anything that could inject into a URL (a
/// path, a query, userinfo, spaces) or is not a host.
pub fn call_target(upstream: &[u8]) -> Option<Vec<u8>> {
    let (host, port) = if let Some(rest) = upstream.strip_prefix(b"[") {
        let end = rest.iter().position(|c| *c == b']')?;
        let (literal, after) = (&rest[..end], &rest[end + 1..]);
        if literal.is_empty()
            || !literal
                .iter()
                .all(|c| c.is_ascii_hexdigit() || b":.".contains(c))
        {
            return None;
        }
        match after {
            b"" => (&upstream[..end + 2], None),
            [b':', port @ ..] => (&upstream[..end + 2], Some(port)),
            _ => return None,
        }
    } else {
        match upstream.iter().rposition(|c| *c == b':') {
            Some(i) => (&upstream[..i], Some(&upstream[i + 1..])),
            None => (upstream, None),
        }
    };
    if let Some(port) = port {
        parse_number::<u16>(port).filter(|p| *p > 0)?;
    }
    let name_char = |c: &u8| c.is_ascii_alphanumeric() || b"-._".contains(c);
    if !host.starts_with(b"[")
        && (host.is_empty() || !host.iter().all(name_char) || host.starts_with(b"-"))
    {
        return None;
    }
    let mut out = if host.eq_ignore_ascii_case(b"localhost") {
        b"127.0.0.1".to_vec()
    } else {
        host.to_vec()
    };
    if let Some(port) = port {
        out.push(b':');
        out.extend_from_slice(port);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{
        call_target, decode_path, host_of, parse_number, valid_header_name, valid_header_value,
    };

    #[test]
    fn call_targets_are_hosts_with_optional_ports() {
        for (upstream, target) in [
            ("httpbin", "httpbin"),
            ("outbound|80||svc", ""),
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("localhost:1980", "127.0.0.1:1980"),
            ("LocalHost", "127.0.0.1"),
            ("example.com", "example.com"),
            ("a_b.internal:443", "a_b.internal:443"),
            ("[::1]:8080", "[::1]:8080"),
            ("[::1]", "[::1]"),
        ] {
            let got = call_target(upstream.as_bytes()).map(|t| String::from_utf8(t).unwrap());
            let want = (!target.is_empty()).then(|| target.to_string());
            assert_eq!(got, want, "{upstream:?}");
        }
        for bad in [
            "", ":80", "a:", "a:0", "a:65536", "a:8x", "a b", "a/b", "a?b", "a#b", "u@h", "a:80/x",
            "[::1", "[::1]x", "[]:80", "[zz]", "-a", "a:b:c", "h\r\n",
        ] {
            assert_eq!(call_target(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn header_names_are_tokens_and_values_have_no_line_breaks() {
        assert!(valid_header_name(b"x-Custom_1!"));
        for bad in [&b""[..], b"a b", b"a:b", b"a\r", b"\xc3\xa4"] {
            assert!(!valid_header_name(bad), "{bad:?}");
        }
        assert!(valid_header_value(b""));
        assert!(valid_header_value("tab\tand UTF-8 \u{e4}".as_bytes()));
        for bad in [&b"a\rb"[..], b"a\nb", b"a\0b"] {
            assert!(!valid_header_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn numbers_are_plain_decimal_digits() {
        assert_eq!(parse_number::<i64>(b"0042"), Some(42));
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b" 1",
            b"1e3",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_number::<i64>(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn paths_decode_unless_they_hide_a_nul_or_a_dot_segment() {
        assert_eq!(decode_path(b"/a%20b/c").as_deref(), Some(&b"/a b/c"[..]));
        assert_eq!(decode_path(b"/a..b/").as_deref(), Some(&b"/a..b/"[..]));
        for bad in [
            &b"/a/../b"[..],
            b"/./",
            b"/%2e%2E/x",
            b"/a%00",
            b"/%zz",
            b"/%4",
        ] {
            assert_eq!(decode_path(bad), None, "{bad:?}");
        }
    }

    fn host(value: &str) -> Option<String> {
        host_of(value.as_bytes()).map(|h| String::from_utf8(h).unwrap())
    }

    #[test]
    fn the_name_is_lowercased_without_port_or_trailing_dot() {
        for (value, name) in [
            ("localhost", "localhost"),
            ("Example.COM:8080", "example.com"),
            ("localhost:29153-canary", "localhost"),
            ("a.b.:80", "a.b"),
            ("a.", "a"),
            ("a:b:c", "a"),
            ("a:", "a"),
            ("a.:8.0", "a."),
            ("[::1]:8080", "[::1]"),
            ("[::1]", "[::1]"),
            ("[::1]junk", "[::1]"),
            ("[::1", "[::1"),
            ("[]", "[]"),
            ("[FE80::1].:80", "[fe80::1]"),
            ("a[b]:1", "a[b]"),
            ("x_y%20@!", "x_y%20@!"),
            ("\\back", "\\back"),
            ("ÄÖ.example", "ÄÖ.example"),
            ("1.2.3.4:", "1.2.3.4"),
        ] {
            assert_eq!(host(value).as_deref(), Some(name), "{value:?}");
        }
    }

    #[test]
    fn what_nginx_refuses_is_refused() {
        for value in [
            "", ":80", ".", ".:80", "a..b", "host:..", "a:1..2", "..", "a/b", "a:1/2", "a b",
            "a\tb", "a\0b", "a\r\nb", "a\x7fb", "a:8 0",
        ] {
            assert_eq!(host(value), None, "{value:?}");
        }
    }
}
