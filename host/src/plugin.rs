//! The public face of the host core: a loaded `Plugin`, its configured `RootContext`s (one per configuration,
//! the "plugin ctx" of the Lua API) and the `HttpContext` each request gets from a root context.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

use crate::backend::Backend;
use crate::error::Error;
use crate::types::{AbiVersion, Action, BufferType, MapType};
use crate::vm::{self, ContextKind, HeadersFn, LocalResponse, Vm};

/// Where log lines go when a context ends outside any request (dropped by Lua's GC, for example).
pub type DefaultBackend = fn() -> Box<dyn Backend>;

static DEFAULT_BACKEND: OnceLock<DefaultBackend> = OnceLock::new();

/// Register the proxy's process-wide backend (the nginx cycle log). The first registration wins.
pub fn set_default_backend(f: DefaultBackend) {
    let _ = DEFAULT_BACKEND.set(f);
}

fn default_backend() -> Box<dyn Backend> {
    match DEFAULT_BACKEND.get() {
        Some(f) => f(),
        None => Box::new(crate::backend_stderr::StderrBackend),
    }
}

/// A compiled and instantiated plugin.
pub struct Plugin {
    name: Rc<str>,
    abi: AbiVersion,
    vm: Rc<RefCell<Vm>>,
}

impl Plugin {
    /// Compile `wasm` (binary, or text for tests), instantiate it and run its start function.
    pub fn load(
        name: &str,
        wasm: &[u8],
        vm_configuration: &[u8],
        backend: &mut dyn Backend,
    ) -> Result<Plugin, Error> {
        let (module, abi) = vm::compile(wasm)?;
        let name: Rc<str> = Rc::from(name);
        let vm = Vm::instantiate(
            name.clone(),
            &module,
            abi,
            Rc::from(vm_configuration),
            backend,
        )?;
        Ok(Plugin {
            name,
            abi,
            vm: Rc::new(RefCell::new(vm)),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn abi_version(&self) -> AbiVersion {
        self.abi
    }

    /// Create a root context and configure it with `configuration`
    /// (`proxy_on_context_create`, `proxy_on_vm_start`, `proxy_on_configure`).
    pub fn configure(
        &self,
        configuration: &[u8],
        backend: &mut dyn Backend,
    ) -> Result<RootContext, Error> {
        let mut guard = self.vm.borrow_mut();
        let vm: &mut Vm = &mut guard;
        let id = vm.new_context(ContextKind::Root);
        let result = (|| {
            let vm = &mut *vm;
            vm.state().effective_context = id;
            let create = vm.cb.on_context_create.clone();
            vm.call(backend, "proxy_on_context_create", create, (id as i32, 0))?;
            if let Some(start) = vm.cb.on_vm_start.clone() {
                let size = vm.state().vm_configuration.len() as i32;
                if vm.call(backend, "proxy_on_vm_start", start, (id as i32, size))? == 0 {
                    return Err(Error::Refused {
                        callback: "proxy_on_vm_start",
                    });
                }
            }
            if let Some(configure) = vm.cb.on_configure.clone() {
                vm.state().plugin_configuration = Some(Rc::from(configuration));
                let r = vm.call(
                    backend,
                    "proxy_on_configure",
                    configure,
                    (id as i32, configuration.len() as i32),
                );
                vm.state().plugin_configuration = None;
                if r? == 0 {
                    return Err(Error::Refused {
                        callback: "proxy_on_configure",
                    });
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(RootContext {
                inner: Rc::new(RootInner {
                    vm: self.vm.clone(),
                    plugin: self.name.clone(),
                    id,
                }),
            }),
            Err(e) => {
                vm.forget_context(id);
                Err(e)
            }
        }
    }
}

struct RootInner {
    vm: Rc<RefCell<Vm>>,
    plugin: Rc<str>,
    id: u32,
}

impl Drop for RootInner {
    fn drop(&mut self) {
        let mut backend = default_backend();
        let mut vm = self.vm.borrow_mut();
        end_context(&mut vm, &mut *backend, self.id, false);
    }
}

/// Run the end of a context: `proxy_on_done`, then (HTTP contexts) `proxy_on_log`, then `proxy_on_delete`.
/// Failures were already reported by the calls that failed; the context is forgotten regardless.
fn end_context(vm: &mut Vm, backend: &mut dyn Backend, id: u32, log: bool) {
    vm.state().effective_context = id;
    let mut ok = true;
    if let Some(done) = vm.cb.on_done.clone() {
        let r = vm.call(backend, "proxy_on_done", done, id as i32);
        ok = report(backend, vm, r);
    }
    if log && ok {
        if let Some(on_log) = vm.cb.on_log.clone() {
            let r = vm.call(backend, "proxy_on_log", on_log, id as i32);
            ok = report(backend, vm, r);
        }
    }
    if ok {
        if let Some(delete) = vm.cb.on_delete.clone() {
            let r = vm.call(backend, "proxy_on_delete", delete, id as i32);
            report(backend, vm, r);
        }
    }
    vm.forget_context(id);
}

fn report<T>(backend: &mut dyn Backend, vm: &mut Vm, r: Result<T, Error>) -> bool {
    match r {
        Ok(_) => true,
        Err(e) => {
            let plugin = vm.state().plugin.clone();
            backend.log(
                crate::types::LogLevel::Error,
                &plugin,
                e.to_string().as_bytes(),
            );
            false
        }
    }
}

/// A configured root context. Cloning shares it; the context ends when the last clone and the last HTTP
/// context made from it are gone.
#[derive(Clone)]
pub struct RootContext {
    inner: Rc<RootInner>,
}

impl RootContext {
    pub fn id(&self) -> u32 {
        self.inner.id
    }

    /// The name of the plugin this context runs.
    pub fn plugin_name(&self) -> &str {
        &self.inner.plugin
    }

    /// Whether the plugin exports `proxy_on_response_body` (a proxy can skip body work when it does not).
    pub fn has_response_body_callback(&self) -> bool {
        self.inner.vm.borrow().cb.on_response_body.is_some()
    }

    /// A new HTTP context for one request (`proxy_on_context_create(id, root_id)`).
    pub fn new_http_context(&self, backend: &mut dyn Backend) -> Result<HttpContext, Error> {
        let mut vm = self.inner.vm.borrow_mut();
        let id = vm.new_context(ContextKind::Http {
            root: self.inner.id,
        });
        vm.state().effective_context = id;
        let create = vm.cb.on_context_create.clone();
        if let Err(e) = vm.call(
            backend,
            "proxy_on_context_create",
            create,
            (id as i32, self.inner.id as i32),
        ) {
            vm.forget_context(id);
            return Err(e);
        }
        Ok(HttpContext {
            root: self.inner.clone(),
            id,
            ended: false,
        })
    }
}

/// What the host must do after a stream callback.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `Pause` asks the host to stop the stream until the plugin continues it.
    pub action: Option<Action>,
    /// Set when the plugin called `proxy_send_local_response`.
    pub local_response: Option<LocalResponse>,
    /// The body chunk, when the plugin changed it with `proxy_set_buffer_bytes`.
    pub body: Option<Vec<u8>>,
}

/// The Proxy-Wasm context of one request for one root context.
pub struct HttpContext {
    root: Rc<RootInner>,
    id: u32,
    ended: bool,
}

impl HttpContext {
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The name of the plugin this context runs.
    pub fn plugin_name(&self) -> &str {
        &self.root.plugin
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
            Some(http) => http.map_pairs(map).map(|p| p.len()).unwrap_or(0),
            None => 0,
        } as i32;
        let mut vm = self.root.vm.borrow_mut();
        let vm = &mut *vm;
        let (name, f) = if request {
            ("proxy_on_request_headers", &vm.cb.on_request_headers)
        } else {
            ("proxy_on_response_headers", &vm.cb.on_response_headers)
        };
        let id = self.id as i32;
        vm.store.data_mut().effective_context = self.id;
        let action = match f {
            None => 0,
            Some(HeadersFn::V1(f)) => {
                let f = f.clone();
                vm.call(backend, name, f, (id, count))?
            }
            Some(HeadersFn::V2(f)) => {
                let f = f.clone();
                vm.call(backend, name, f, (id, count, end_of_stream as i32))?
            }
        };
        finish(vm, name, action, None)
    }

    /// `proxy_on_request_headers`.
    pub fn on_request_headers(
        &mut self,
        backend: &mut dyn Backend,
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        self.headers(backend, MapType::HttpRequestHeaders, true, end_of_stream)
    }

    /// `proxy_on_response_headers`.
    pub fn on_response_headers(
        &mut self,
        backend: &mut dyn Backend,
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        self.headers(backend, MapType::HttpResponseHeaders, false, end_of_stream)
    }

    fn body(
        &mut self,
        backend: &mut dyn Backend,
        kind: BufferType,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        let mut vm = self.root.vm.borrow_mut();
        let vm = &mut *vm;
        let (name, f) = if kind == BufferType::HttpRequestBody {
            ("proxy_on_request_body", vm.cb.on_request_body.clone())
        } else {
            ("proxy_on_response_body", vm.cb.on_response_body.clone())
        };
        let Some(f) = f else {
            return Ok(Outcome::default());
        };
        let state = vm.state();
        state.effective_context = self.id;
        state.body.kind = Some(kind);
        state.body.bytes.clear();
        state.body.bytes.extend_from_slice(chunk);
        state.body.end_of_stream = end_of_stream;
        state.body.modified = false;
        let r = vm.call(
            backend,
            name,
            f,
            (self.id as i32, chunk.len() as i32, end_of_stream as i32),
        );
        let state = vm.state();
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
        self.body(backend, BufferType::HttpRequestBody, chunk, end_of_stream)
    }

    /// `proxy_on_response_body` with one chunk of the response body.
    pub fn on_response_body(
        &mut self,
        backend: &mut dyn Backend,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        self.body(backend, BufferType::HttpResponseBody, chunk, end_of_stream)
    }

    /// End the request: `proxy_on_done`, `proxy_on_log`, `proxy_on_delete`.
    pub fn on_log(&mut self, backend: &mut dyn Backend) {
        if !self.ended {
            self.ended = true;
            let mut vm = self.root.vm.borrow_mut();
            end_context(&mut vm, backend, self.id, true);
        }
    }
}

impl Drop for HttpContext {
    fn drop(&mut self) {
        if !self.ended {
            self.ended = true;
            let mut backend = default_backend();
            let mut vm = self.root.vm.borrow_mut();
            end_context(&mut vm, &mut *backend, self.id, false);
        }
    }
}

fn finish(
    vm: &mut Vm,
    callback: &'static str,
    action: i32,
    body: Option<Vec<u8>>,
) -> Result<Outcome, Error> {
    let local_response = vm.state().local_response.take();
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
    })
}
