//! HTTP contexts: the Proxy-Wasm context of one request for one root context (`RootContext::new_http_context`
//! makes one), its stream callbacks (request and response headers and bodies, HTTP-call responses) with what
//! each asked for (`Outcome`), a response body held while the plugin pauses it, and its end
//! (`proxy_on_done`, `proxy_on_log`, `proxy_on_delete` in the log phase, or when it is dropped). Every stream
//! callback goes through one gate: a context whose plugin failed on the request runs nothing more. What an
//! outcome means for the request is decided in `verdict.rs`.

use std::borrow::Cow;
use std::rc::Rc;

use crate::backend::{default_backend, Backend};
use crate::error::Error;
use crate::messages::{CallResponse, HttpCall, LocalResponse};
use crate::plugin::SharedVm;
use crate::root::{RootContext, RootInner};
use crate::types::{Action, BufferType, LogLevel, MapType};
use crate::vm::{Claim, ContextKind, HeadersFn, HostState, Vm};

impl RootContext {
    /// A new HTTP context for one request (`proxy_on_context_create(id, root_id)`).
    pub fn new_http_context(&self, backend: &mut dyn Backend) -> Result<HttpContext, Error> {
        let (vm_rc, root_id) = self.inner.current(backend)?;
        let mut vm = vm_rc.borrow_mut();
        let id = vm.new_context(ContextKind::Http { root: root_id });
        vm.state().effective_context = id;
        let create = vm.cb.on_context_create.clone();
        if let Err(e) = vm.call(
            backend,
            "proxy_on_context_create",
            &create,
            (id as i32, root_id as i32),
        ) {
            vm.forget_context(id);
            return Err(e);
        }
        drop(vm);
        Ok(HttpContext {
            root: self.inner.clone(),
            vm: vm_rc,
            id,
            ended: false,
            paused_body: None,
            failed: false,
        })
    }
}

/// What the host must do after a stream callback.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `Pause` asks the host to stop the stream until the plugin continues it.
    pub action: Option<Action>,
    /// Set when the plugin called `proxy_send_local_response` (boxed: the outcome of every callback moves
    /// through several functions, most without a local response).
    pub local_response: Option<Box<LocalResponse>>,
    /// The body chunk, when the plugin changed it with `proxy_set_buffer_bytes`.
    pub body: Option<Vec<u8>>,
    /// HTTP calls the plugin dispatched during the callback, for the proxy to perform; each response goes back
    /// through `HttpContext::on_http_call_response` (a failed call with an empty `CallResponse`).
    pub calls: Vec<HttpCall>,
    /// The plugin called `proxy_continue_stream(HttpRequest)` / `proxy_continue_request` during the callback.
    pub resumed: bool,
    /// The plugin called `proxy_close_stream`: the proxy closes the connection without a (further) response.
    pub close: bool,
    /// Nothing ran: the plugin failed earlier on this request and is finished for it. The proxy goes on as if
    /// the plugin were absent (the failure was reported once, when it happened).
    pub finished: bool,
}

/// What another callback did to a paused request (`HttpContext::take_continued`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continued {
    /// `proxy_continue_stream`: the request goes on.
    Continue,
    /// `proxy_close_stream`: the request is dropped.
    Close,
}

/// The Proxy-Wasm context of one request for one root context.
pub struct HttpContext {
    root: Rc<RootInner>,
    /// The instance this context was created in (a trap there ends it with that instance).
    vm: SharedVm,
    id: u32,
    ended: bool,
    /// The response body held while the plugin pauses it (`on_response_body`).
    paused_body: Option<Vec<u8>>,
    /// Set when a callback of this context failed (or the proxy refused what it asked for): the plugin is
    /// finished for this request and none of its later callbacks run.
    failed: bool,
}

impl HttpContext {
    /// The context of a request whose plugin could not even start on it (`new_http_context` failed, and the
    /// proxy reported that error): every callback is skipped as for a failed context, nothing ends in the
    /// instance.
    pub fn failed(root: &RootContext) -> HttpContext {
        HttpContext {
            root: root.inner.clone(),
            vm: root.inner.bound.borrow().vm.clone(),
            id: 0,
            ended: true,
            paused_body: None,
            failed: true,
        }
    }

    /// Whether the outcome of a request callback holds the request until the plugin continues it from another
    /// callback: it returned `Pause` with no HTTP call, local response or close pending, and did not continue
    /// it already.
    pub fn pauses(outcome: &Outcome) -> bool {
        outcome.action == Some(Action::Pause)
            && outcome.calls.is_empty()
            && outcome.local_response.is_none()
            && !outcome.close
            && !outcome.resumed
            && !outcome.finished
    }

    /// Whether another callback continued or closed this context's paused request since the last look (a
    /// close wins). A context whose instance trapped meanwhile is closed.
    pub fn take_continued(&mut self) -> Option<Continued> {
        let Ok(mut vm) = self.vm.try_borrow_mut() else {
            return None;
        };
        if vm.is_failed() {
            return Some(Continued::Close);
        }
        let id = self.id;
        let state = vm.state();
        let closed = take_id(&mut state.closed, id);
        let continued = take_id(&mut state.continued, id);
        if closed {
            Some(Continued::Close)
        } else if continued {
            Some(Continued::Continue)
        } else {
            None
        }
    }

    /// Whether the plugin failed on this request (it is finished for it: later callbacks are skipped).
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Finish the plugin for this request after the proxy refused what a callback asked for (reported by the
    /// proxy): its later callbacks are skipped, as after a trap.
    pub fn fail(&mut self) {
        self.failed = true;
    }

    /// The one gate of every stream callback: a failed context runs nothing (`Outcome::finished`); a callback
    /// that fails finishes the context. The proxy reports the error it gets, once, and applies its policy.
    fn gate(
        &mut self,
        f: impl FnOnce(&mut HttpContext) -> Result<Outcome, Error>,
    ) -> Result<Outcome, Error> {
        if self.failed {
            return Ok(Outcome {
                finished: true,
                ..Outcome::default()
            });
        }
        let r = f(self);
        if r.is_err() {
            self.failed = true;
            self.paused_body = None;
        }
        r
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// The name of the plugin this context runs.
    pub fn plugin_name(&self) -> &str {
        &self.root.plugin.name
    }

    /// Whether this context was made from `root`.
    pub fn belongs_to(&self, root: &RootContext) -> bool {
        Rc::ptr_eq(&self.root, &root.inner)
    }

    fn headers(
        &mut self,
        backend: &mut dyn Backend,
        map: MapType,
        request: bool,
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        let count = match backend.http() {
            Some(http) => http.map_count(map).unwrap_or(0),
            None => 0,
        } as i32;
        let mut vm = self.vm.borrow_mut();
        let vm = &mut *vm;
        let (name, f) = if request {
            ("proxy_on_request_headers", &vm.cb.on_request_headers)
        } else {
            ("proxy_on_response_headers", &vm.cb.on_response_headers)
        };
        let id = self.id as i32;
        // The store and the callbacks are separate fields: `f` stays borrowed.
        begin(vm.store.data_mut(), self.id, !request);
        let action = match f {
            None => Ok(0),
            Some(HeadersFn::V1(f)) => {
                let f = f.clone();
                vm.call(backend, name, &f, (id, count))
            }
            Some(HeadersFn::V2(f)) => {
                let f = f.clone();
                vm.call(backend, name, &f, (id, count, end_of_stream as i32))
            }
        };
        vm.state().stream = None;
        finish(vm, name, action?, None)
    }

    /// `proxy_on_request_headers`.
    pub fn on_request_headers(
        &mut self,
        backend: &mut dyn Backend,
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        self.gate(|c| c.headers(backend, MapType::HttpRequestHeaders, true, end_of_stream))
    }

    /// `proxy_on_response_headers`.
    pub fn on_response_headers(
        &mut self,
        backend: &mut dyn Backend,
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        self.gate(|c| c.headers(backend, MapType::HttpResponseHeaders, false, end_of_stream))
    }

    fn body(
        &mut self,
        backend: &mut dyn Backend,
        kind: BufferType,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        let mut vm = self.vm.borrow_mut();
        let vm = &mut *vm;
        let (name, f) = if kind == BufferType::HttpRequestBody {
            ("proxy_on_request_body", vm.cb.on_request_body.clone())
        } else {
            ("proxy_on_response_body", vm.cb.on_response_body.clone())
        };
        let Some(f) = f else {
            return Ok(Outcome::default());
        };
        begin(vm.state(), self.id, kind == BufferType::HttpResponseBody);
        let state = vm.state();
        state.body.kind = Some(kind);
        state.body.bytes.clear();
        state.body.bytes.extend_from_slice(chunk);
        state.body.end_of_stream = end_of_stream;
        state.body.modified = false;
        let r = vm.call(
            backend,
            name,
            &f,
            (self.id as i32, chunk.len() as i32, end_of_stream as i32),
        );
        let state = vm.state();
        state.stream = None;
        state.body.kind = None;
        let body = if state.body.modified {
            Some(std::mem::take(&mut state.body.bytes))
        } else {
            None
        };
        finish(vm, name, r?, body)
    }

    /// `proxy_on_request_body` with one chunk of the request body.
    pub fn on_request_body(
        &mut self,
        backend: &mut dyn Backend,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        self.gate(|c| c.body(backend, BufferType::HttpRequestBody, chunk, end_of_stream))
    }

    /// `proxy_on_response_body` with one chunk of the response body.
    ///
    /// A plugin that returns `Pause` before the end of the body has the body buffered (as Envoy does): the
    /// outcome's body is empty (nothing goes out yet) and the next call sees everything buffered so far plus
    /// the new chunk; the buffer goes out when a call returns `Continue` or at the end of the body. At most
    /// `limits::MAX_PAUSED_BODY` bytes are held; past that the call fails.
    pub fn on_response_body(
        &mut self,
        backend: &mut dyn Backend,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        self.gate(|c| c.response_body(backend, chunk, end_of_stream))
    }

    fn response_body(
        &mut self,
        backend: &mut dyn Backend,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        if chunk.is_empty() && !end_of_stream {
            // A flush carries no data: nothing for the plugin to see (as in Envoy).
            return Ok(Outcome::default());
        }
        let held = self.paused_body.take();
        let data: Cow<[u8]> = match held {
            Some(mut buffered) => {
                buffered.extend_from_slice(chunk);
                Cow::Owned(buffered)
            }
            None => Cow::Borrowed(chunk),
        };
        let was_paused = matches!(data, Cow::Owned(_));
        let mut outcome = self.body(backend, BufferType::HttpResponseBody, &data, end_of_stream)?;
        let pause = outcome.action == Some(Action::Pause)
            && !end_of_stream
            && outcome.local_response.is_none()
            && !outcome.close;
        if pause {
            let keep = outcome.body.take().unwrap_or_else(|| data.into_owned());
            if keep.len() > crate::limits::MAX_PAUSED_BODY {
                return Err(Error::BadArgument(format!(
                    "proxy_on_response_body paused past {} buffered bytes",
                    crate::limits::MAX_PAUSED_BODY
                )));
            }
            self.paused_body = Some(keep);
            outcome.body = Some(Vec::new());
        } else if was_paused && outcome.body.is_none() {
            outcome.body = Some(data.into_owned());
        }
        Ok(outcome)
    }

    /// Deliver the response of HTTP call `token` (dispatched by this context): runs
    /// `proxy_on_http_call_response(root_id, token, headers, body_size, trailers)`, with map types 6/7 and
    /// buffer type 4 served from `response`. A failed call is delivered as an empty `CallResponse`.
    ///
    /// The root context id is passed, as Envoy and api7 do (the AssemblyScript SDK looks the call up on the
    /// root context; the Rust SDK ignores the id and routes by token to the context that dispatched it).
    /// The outcome carries a local response, further calls, and `resumed`; its `action` is `None`.
    pub fn on_http_call_response(
        &mut self,
        backend: &mut dyn Backend,
        token: u32,
        response: CallResponse,
    ) -> Result<Outcome, Error> {
        self.gate(|c| c.call_response(backend, token, response))
    }

    fn call_response(
        &mut self,
        backend: &mut dyn Backend,
        token: u32,
        response: CallResponse,
    ) -> Result<Outcome, Error> {
        let mut vm = self.vm.borrow_mut();
        let vm = &mut *vm;
        let grpc = match vm.state().claim(token, self.id) {
            Claim::Cancelled => return Ok(Outcome::default()),
            Claim::NotOutstanding => {
                return Err(Error::BadArgument(format!(
                    "no HTTP call with token {token} is outstanding for this context"
                )))
            }
            Claim::Http => false,
            Claim::Grpc => true,
        };
        let root = match vm.state().contexts.get(&self.id) {
            Some(ContextKind::Http { root }) => *root,
            _ => return Err(Error::BadArgument("the HTTP context is gone".to_string())),
        };
        begin(vm.state(), self.id, false);
        let r = vm.deliver_answer(backend, root, token, grpc, response);
        vm.state().stream = None;
        let Some(name) = r? else {
            return Ok(Outcome::default());
        };
        let mut outcome = finish(vm, name, 0, None)?;
        outcome.action = None;
        Ok(outcome)
    }

    /// Forget an outstanding HTTP call the proxy will not perform (its callback never runs).
    pub fn cancel_http_call(&mut self, token: u32) {
        let mut vm = self.vm.borrow_mut();
        let state = vm.state();
        if state.pending_calls.get(&token) == Some(&self.id) {
            state.pending_calls.remove(&token);
            state.grpc_calls.retain(|t| *t != token);
        }
    }

    /// End the request: `proxy_on_done`, `proxy_on_log`, `proxy_on_delete` (none of them after a failure: the
    /// context is only forgotten). Returns the failure of one of them, which the proxy reports; the context is
    /// ended regardless.
    pub fn on_log(&mut self, backend: &mut dyn Backend) -> Result<(), Error> {
        if self.ended {
            return Ok(());
        }
        self.ended = true;
        let mut vm = self.vm.borrow_mut();
        if self.failed {
            vm.forget_context(self.id);
            return Ok(());
        }
        vm.end_context(backend, self.id, true)
    }
}

impl Drop for HttpContext {
    fn drop(&mut self) {
        if !self.ended {
            self.ended = true;
            let mut vm = self.vm.borrow_mut();
            if self.failed {
                vm.forget_context(self.id);
                return;
            }
            let mut backend = default_backend();
            if let Err(e) = vm.end_context(&mut *backend, self.id, false) {
                let plugin = vm.state().plugin.clone();
                backend.log(LogLevel::Error, &plugin, e.to_string().as_bytes());
            }
        }
    }
}

fn take_id(ids: &mut Vec<u32>, id: u32) -> bool {
    match ids.iter().position(|x| *x == id) {
        Some(at) => {
            ids.swap_remove(at);
            true
        }
        None => false,
    }
}

/// Prepare the state for a callback of HTTP context `id`.
/// Start a callback of HTTP context `id`; `response`: it is one of the response callbacks (which cannot wait for
/// calls).
fn begin(state: &mut HostState, id: u32, response: bool) {
    state.effective_context = id;
    state.stream = Some(id);
    state.response_callback = response;
    state.dispatched.clear();
    state.resumed = false;
    state.close = false;
}

fn finish(
    vm: &mut Vm,
    callback: &'static str,
    action: i32,
    body: Option<Vec<u8>>,
) -> Result<Outcome, Error> {
    let state = vm.state();
    let local_response = state.local_response.take();
    let calls = std::mem::take(&mut state.dispatched);
    let resumed = std::mem::take(&mut state.resumed);
    let close = std::mem::take(&mut state.close);
    let action = match action {
        0 => Action::Continue,
        1 => Action::Pause,
        other => {
            return Err(Error::BadArgument(format!(
                "{callback} returned the unknown action {other}"
            )))
        }
    };
    Ok(Outcome {
        action: Some(action),
        local_response,
        body,
        calls,
        resumed,
        close,
        finished: false,
    })
}
