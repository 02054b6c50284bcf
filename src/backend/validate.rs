//! Pure checks and conversions for values plugins hand to nginx: header names and values, numbers, methods,
//! paths, hosts. No nginx structures here.

pub(super) fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

pub(super) fn valid_header_name(key: &[u8]) -> bool {
    !key.is_empty() && key.iter().all(|c| is_token_char(*c))
}

pub(super) fn valid_header_value(value: &[u8]) -> bool {
    !value.iter().any(|c| matches!(c, b'\r' | b'\n' | 0))
}

pub(super) fn parse_number<T: std::str::FromStr>(value: &[u8]) -> Option<T> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// The methods nginx knows by bit (`r->method`); others are `NGX_HTTP_UNKNOWN` with the name kept.
pub(super) fn method_bit(name: &[u8]) -> usize {
    use ngx::ffi::*;
    (match name {
        b"GET" => NGX_HTTP_GET,
        b"HEAD" => NGX_HTTP_HEAD,
        b"POST" => NGX_HTTP_POST,
        b"PUT" => NGX_HTTP_PUT,
        b"DELETE" => NGX_HTTP_DELETE,
        b"MKCOL" => NGX_HTTP_MKCOL,
        b"COPY" => NGX_HTTP_COPY,
        b"MOVE" => NGX_HTTP_MOVE,
        b"OPTIONS" => NGX_HTTP_OPTIONS,
        b"PROPFIND" => NGX_HTTP_PROPFIND,
        b"PROPPATCH" => NGX_HTTP_PROPPATCH,
        b"LOCK" => NGX_HTTP_LOCK,
        b"UNLOCK" => NGX_HTTP_UNLOCK,
        b"PATCH" => NGX_HTTP_PATCH,
        b"TRACE" => NGX_HTTP_TRACE,
        b"CONNECT" => NGX_HTTP_CONNECT,
        _ => NGX_HTTP_UNKNOWN,
    }) as usize
}

/// Percent-decode a path; `None` when it decodes to a NUL byte or a dot segment (`/../`, `/./`), which nginx
/// would have normalised or refused on the request line.
pub(super) fn decode_path(path: &[u8]) -> Option<Vec<u8>> {
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
pub(super) fn host_of(value: &[u8]) -> Option<Vec<u8>> {
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

#[cfg(test)]
mod tests {
    use super::host_of;

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
