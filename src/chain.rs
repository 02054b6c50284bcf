//! The chain runner of the directive path: one callback of every plugin a location attached with `proxy_wasm`,
//! in order, each result turned into a verdict by the host core (`HttpContext::decide`: the one outcome policy
//! both entrances share) and the chain stopped where the verdict says. The phases (`access.rs`, `filters.rs`)
//! carry out how the chain ended. No unsafe of its own beyond reaching the request's state.

use std::borrow::Cow;

use ngx::ffi::ngx_http_request_t;
use proxy_wasm_host::{
    Error, FailurePolicy, HttpCall, HttpContext, LocalResponse, Outcome, Phase, Verdict,
};

use crate::backend::RequestBackend;
use crate::conf::{Failure, Filter, LocConf};
use crate::request::request_ctx;

/// A body the chain's plugins see in turn, each one as the plugins before it left it.
pub(crate) struct ChainBody<'a> {
    /// Borrowed from nginx's buffer until a plugin changes it.
    pub bytes: Cow<'a, [u8]>,
    /// Whether a plugin changed it.
    pub changed: bool,
}

/// How a chain ended.
pub(crate) enum ChainEnd {
    /// Every plugin ran and let the request go on.
    Next,
    /// A plugin answered the request itself (in the response header phase: it replaces the response).
    Respond(LocalResponse),
    /// A plugin failed under `proxy_wasm_failure closed` (reported).
    Fail,
    /// Filter `filter` dispatched `calls`: the phase performs them and goes on at `next` once all are answered.
    Wait {
        filter: usize,
        next: usize,
        calls: Vec<HttpCall>,
    },
    /// Filter `filter` paused the request with nothing pending: it waits until the plugin continues it from
    /// another callback; the chain then goes on at `next`.
    Pause { filter: usize, next: usize },
    /// A plugin closed the stream (`proxy_close_stream`): the connection is dropped.
    Close,
}

impl LocConf {
    /// The location's failure policy in the host core's terms.
    pub(crate) fn policy(&self) -> FailurePolicy {
        match self.failure() {
            Failure::Closed => FailurePolicy::Closed,
            Failure::Open => FailurePolicy::Open,
        }
    }
}

/// Run the `phase` callback of every filter of the chain from filter `from` on (`call` runs it; `None` when
/// the filter has no such callback), with `body` for the body phases.
pub(crate) fn run_chain(
    r: *mut ngx_http_request_t,
    lc: &LocConf,
    phase: Phase,
    from: usize,
    mut body: Option<&mut ChainBody<'_>>,
    mut call: impl FnMut(
        &mut HttpContext,
        &mut RequestBackend,
        &Filter,
        Option<&[u8]>,
    ) -> Option<Result<Outcome, Error>>,
) -> ChainEnd {
    let Some(filters) = lc.filters.as_ref() else {
        return ChainEnd::Next;
    };
    // SAFETY: `r` is the live request of the calling handler.
    let mut backend = unsafe { RequestBackend::new(r) };
    // SAFETY: as above; the reference does not outlive this call.
    let Some(rctx) = (unsafe { request_ctx(r) }) else {
        return ChainEnd::Fail;
    };
    for (index, filter) in filters.iter().enumerate().skip(from) {
        let result = match rctx.context(&filter.root, &mut backend) {
            Ok(http) => call(
                http,
                &mut backend,
                filter,
                body.as_deref().map(|b| &*b.bytes),
            ),
            // The plugin could not start on this request; a failed context stands in for it from now on.
            Err(e) => Some(Err(e)),
        };
        let Some(result) = result else { continue };
        let Ok(http) = rctx.context(&filter.root, &mut backend) else {
            continue;
        };
        let mut keep = |changed: Option<Vec<u8>>| {
            if let (Some(body), Some(bytes)) = (body.as_deref_mut(), changed) {
                body.bytes = Cow::Owned(bytes);
                body.changed = true;
            }
        };
        match http.decide(&mut backend, phase, result, lc.policy()) {
            Verdict::Continue { body: changed } => keep(changed),
            Verdict::Wait {
                calls,
                body: changed,
            } => {
                keep(changed);
                return ChainEnd::Wait {
                    filter: index,
                    next: index + 1,
                    calls,
                };
            }
            Verdict::Pause { body: changed } => {
                keep(changed);
                return ChainEnd::Pause {
                    filter: index,
                    next: index + 1,
                };
            }
            Verdict::Respond(resp) => return ChainEnd::Respond(resp),
            Verdict::Close => return ChainEnd::Close,
            Verdict::Fail => {
                rctx.host_error = true;
                return ChainEnd::Fail;
            }
        }
    }
    ChainEnd::Next
}
