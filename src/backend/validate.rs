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

/// The host of a Host header value: lowercased, without the port, as nginx keeps it in `headers_in.server`.
/// `None` when it is not a valid host.
pub(super) fn host_of(value: &[u8]) -> Option<Vec<u8>> {
    if value.is_empty()
        || value.len() > 255 + 6
        || !value
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~:[]!$&'()*+,;=%".contains(c))
    {
        return None;
    }
    let mut host = value.to_ascii_lowercase();
    if host.starts_with(b"[") {
        let end = host.iter().position(|c| *c == b']')?;
        host.truncate(end + 1);
    } else if let Some(colon) = host.iter().position(|c| *c == b':') {
        parse_number::<u16>(&host[colon + 1..])?;
        host.truncate(colon);
    }
    while host.last() == Some(&b'.') {
        host.pop();
    }
    (!host.is_empty()).then_some(host)
}
