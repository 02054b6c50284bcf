//! The one outcome policy: what a stream callback's result means for the request, decided here for both of the
//! proxy's entrances (nginx directives and the Lua API), which only carry the verdict out.
//!
//! A callback ends in one of: go on (with a changed body, perhaps), wait for the HTTP calls it dispatched, hold
//! the request it paused, answer with its local response, close the stream, or fail. Which calls are performed
//! or dropped, and every log line about it, are decided here too; a failure is reported once, with what the
//! failure policy makes of it.

use crate::backend::Backend;
use crate::context::{HttpContext, Outcome};
use crate::error::Error;
use crate::messages::{HttpCall, LocalResponse};
use crate::types::LogLevel;

/// The callback a result came from, as far as the decision goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    RequestHeaders,
    RequestBody,
    ResponseHeaders,
    ResponseBody,
    HttpCallResponse,
}

impl Phase {
    pub fn callback(self) -> &'static str {
        match self {
            Phase::RequestHeaders => "proxy_on_request_headers",
            Phase::RequestBody => "proxy_on_request_body",
            Phase::ResponseHeaders => "proxy_on_response_headers",
            Phase::ResponseBody => "proxy_on_response_body",
            Phase::HttpCallResponse => "proxy_on_http_call_response",
        }
    }

    /// Whether the request can still wait here (for HTTP calls, or a pause): nothing was sent yet and the
    /// proxy is not inside its output filters.
    fn can_wait(self) -> bool {
        matches!(
            self,
            Phase::RequestHeaders | Phase::RequestBody | Phase::HttpCallResponse
        )
    }
}

/// What the proxy does when a plugin fails on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// The request fails: 500 in a request phase or while the response headers are not sent, the response is
    /// aborted once its body started (nginx `proxy_wasm_failure closed`).
    Closed,
    /// The request goes on as if the plugin were absent (`proxy_wasm_failure open`).
    Open,
    /// The caller is told and decides (the Lua API returns `nil, err`; APISIX answers 503).
    Caller,
}

impl FailurePolicy {
    /// What the policy makes of a failure, as the one log line about it says.
    pub fn consequence(self) -> &'static str {
        match self {
            FailurePolicy::Closed => "failing the request (proxy_wasm_failure closed)",
            FailurePolicy::Open => "continuing without it (proxy_wasm_failure open)",
            FailurePolicy::Caller => "the call fails",
        }
    }
}

/// The decision for one callback's result.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go on; `body` is the changed body chunk when the plugin changed it.
    Continue { body: Option<Vec<u8>> },
    /// Wait for these calls: perform them, deliver each response (`HttpContext::on_http_call_response`), then
    /// go on (`body` as in `Continue`).
    Wait {
        calls: Vec<HttpCall>,
        body: Option<Vec<u8>>,
    },
    /// Hold the request (from the response header phase: the response) until another callback continues or
    /// closes it (`HttpContext::take_continued`; `body` as in `Continue`).
    Pause { body: Option<Vec<u8>> },
    /// Answer the request with this response (in the response header phase: replace the response).
    Respond(LocalResponse),
    /// Drop the stream: no (further) response.
    Close,
    /// The plugin failed (reported): under `Closed` fail the request, under `Caller` tell the caller.
    Fail,
}

impl HttpContext {
    /// Decide what `result`, the result of this context's `phase` callback, means for the request, logging
    /// what the decision drops; a failure is reported once and finishes the plugin for the request (under
    /// `Open` the verdict is then to go on).
    pub fn decide(
        &mut self,
        backend: &mut dyn Backend,
        phase: Phase,
        result: Result<Outcome, Error>,
        policy: FailurePolicy,
    ) -> Verdict {
        let mut outcome = match result {
            Ok(outcome) => outcome,
            Err(e) => return self.failed_with(backend, phase, &e.to_string(), policy),
        };
        if outcome.finished {
            return Verdict::Continue { body: None };
        }
        if outcome.close {
            self.drop_calls(backend, &mut outcome.calls, "the plugin closed the stream");
            self.log(
                backend,
                LogLevel::Info,
                format!("{}: the plugin closed the stream", phase.callback()),
            );
            return Verdict::Close;
        }
        if let Some(resp) = outcome.local_response.take() {
            if phase == Phase::ResponseBody {
                self.drop_calls(backend, &mut outcome.calls, "the callback failed");
                return self.failed_with(
                    backend,
                    phase,
                    "a local response from proxy_on_response_body is refused: the response headers are sent already",
                    policy,
                );
            }
            self.drop_calls(
                backend,
                &mut outcome.calls,
                "the plugin answered with a local response",
            );
            return Verdict::Respond(*resp);
        }
        if !outcome.calls.is_empty() {
            if phase.can_wait() {
                return Verdict::Wait {
                    calls: std::mem::take(&mut outcome.calls),
                    body: outcome.body,
                };
            }
            self.drop_calls(
                backend,
                &mut outcome.calls,
                "a response callback cannot wait for them (the response is on its way)",
            );
        }
        // A paused response header phase is held too, before the headers are sent (where the entrance can hold
        // a response: the Lua API cannot, and goes on).
        if HttpContext::pauses(&outcome) && (phase.can_wait() || phase == Phase::ResponseHeaders) {
            return Verdict::Pause { body: outcome.body };
        }
        Verdict::Continue { body: outcome.body }
    }

    /// Report a failure once, finish the plugin for the request, and say what the policy makes of it.
    fn failed_with(
        &mut self,
        backend: &mut dyn Backend,
        phase: Phase,
        cause: &str,
        policy: FailurePolicy,
    ) -> Verdict {
        self.fail();
        self.log(
            backend,
            LogLevel::Error,
            format!(
                "{} failed: {cause}; {}",
                phase.callback(),
                policy.consequence()
            ),
        );
        match policy {
            FailurePolicy::Open => Verdict::Continue { body: None },
            FailurePolicy::Closed | FailurePolicy::Caller => Verdict::Fail,
        }
    }

    /// Cancel calls that will not be performed (their callbacks never run), with one line saying why.
    fn drop_calls(&mut self, backend: &mut dyn Backend, calls: &mut Vec<HttpCall>, why: &str) {
        if calls.is_empty() {
            return;
        }
        for call in calls.iter() {
            self.cancel_http_call(call.token);
        }
        let n = calls.len();
        calls.clear();
        // A warning: what the plugin did otherwise stands (its answer, its close); a failure has its own line.
        self.log(
            backend,
            LogLevel::Warn,
            format!("{n} HTTP call(s) dropped: {why}"),
        );
    }

    fn log(&self, backend: &mut dyn Backend, level: LogLevel, message: String) {
        backend.log(level, self.plugin_name(), message.as_bytes());
    }
}
