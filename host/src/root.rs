//! Root contexts: `Plugin::configure` creates one per configuration (the "plugin ctx" of the Lua API), a
//! `RootContext` handle shares it. A root context is bound to the instance it was configured in; after that
//! instance trapped (or was retired, or a worker started its own), the next use configures it again in the
//! plugin's current instance (`proxy_on_context_create`, `proxy_on_vm_start`, `proxy_on_configure`). Its end
//! runs when the last handle and the last HTTP context made from it are gone. HTTP contexts are made from it in
//! `context.rs`; its ticks and queue deliveries run from `schedule.rs`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;

use crate::backend::{default_backend, Backend};
use crate::error::Error;
use crate::plugin::{Plugin, Shared, SharedVm};
use crate::types::LogLevel;
use crate::vm::{Callbacks, ContextKind, Vm};

impl Plugin {
    /// Create a root context and configure it with `configuration`
    /// (`proxy_on_context_create`, `proxy_on_vm_start`, `proxy_on_configure`).
    pub fn configure(
        &self,
        configuration: &[u8],
        backend: &mut dyn Backend,
    ) -> Result<RootContext, Error> {
        let (vm, generation) = self.shared.instance(backend)?;
        let configuration: Rc<[u8]> = Rc::from(configuration);
        let id = configure_root(&mut vm.borrow_mut(), &configuration, backend)?;
        let inner = Rc::new(RootInner {
            plugin: self.shared.clone(),
            configuration,
            bound: RefCell::new(Bound { vm, id, generation }),
            tick: Cell::new((0, None)),
            detached: Cell::new(false),
        });
        crate::schedule::register(&inner);
        Ok(RootContext { inner })
    }
}

/// Create a root context in `vm` and configure it; on failure the context is forgotten.
fn configure_root(
    vm: &mut Vm,
    configuration: &[u8],
    backend: &mut dyn Backend,
) -> Result<u32, Error> {
    let id = vm.new_context(ContextKind::Root);
    vm.state()
        .configurations
        .insert(id, Rc::from(configuration));
    vm.set_setup(true);
    let result = (|| {
        vm.state().effective_context = id;
        let create = vm.cb.on_context_create.clone();
        vm.call(backend, "proxy_on_context_create", &create, (id as i32, 0))?;
        if let Some(start) = vm.cb.on_vm_start.clone() {
            let size = vm.state().vm_configuration.len() as i32;
            if vm.call(backend, "proxy_on_vm_start", &start, (id as i32, size))? == 0 {
                return Err(Error::Refused {
                    callback: "proxy_on_vm_start",
                });
            }
        }
        if let Some(configure) = vm.cb.on_configure.clone() {
            let r = vm.call(
                backend,
                "proxy_on_configure",
                &configure,
                (id as i32, configuration.len() as i32),
            );
            if r? == 0 {
                return Err(Error::Refused {
                    callback: "proxy_on_configure",
                });
            }
        }
        Ok(id)
    })();
    vm.set_setup(false);
    if result.is_err() {
        vm.forget_context(id);
    }
    result
}

/// Where a root context lives now: its instance, its id there, and that instance's generation.
pub(crate) struct Bound {
    pub(crate) vm: SharedVm,
    pub(crate) id: u32,
    generation: u64,
}

/// A root context, shared by its `RootContext` handles, the HTTP contexts made from it and (weakly) the
/// worker's schedule.
pub(crate) struct RootInner {
    pub(crate) plugin: Rc<Shared>,
    configuration: Rc<[u8]>,
    pub(crate) bound: RefCell<Bound>,
    /// The tick period last seen (ms, 0 = none) and when the next tick is due (`schedule.rs`).
    pub(crate) tick: Cell<(u32, Option<Instant>)>,
    /// Set by `RootContext::detach`: its end runs no callback.
    detached: Cell<bool>,
}

impl RootInner {
    /// The instance and id to use for new work, re-configuring in a fresh instance after a trap.
    pub(crate) fn current(&self, backend: &mut dyn Backend) -> Result<(SharedVm, u32), Error> {
        let (vm, generation) = self.plugin.instance(backend)?;
        let mut bound = self.bound.borrow_mut();
        if bound.generation != generation {
            let id = configure_root(&mut vm.borrow_mut(), &self.configuration, backend)?;
            *bound = Bound { vm, id, generation };
        }
        Ok((bound.vm.clone(), bound.id))
    }

    /// Configure the root context in its plugin's current instance now if it is not configured there yet (a
    /// worker's fresh instance), logging a failure.
    pub(crate) fn configure_now(&self, backend: &mut dyn Backend) {
        if let Err(e) = self.current(backend) {
            let msg = format!("cannot configure in this worker: {e}");
            backend.log(LogLevel::Error, &self.plugin.name, msg.as_bytes());
        }
    }
}

impl Drop for RootInner {
    fn drop(&mut self) {
        let bound = self.bound.borrow();
        let mut backend = default_backend();
        let mut vm = bound.vm.borrow_mut();
        if self.detached.get() {
            vm.forget_context(bound.id);
            return;
        }
        if let Err(e) = vm.end_context(&mut *backend, bound.id, false) {
            let plugin = vm.state().plugin.clone();
            backend.log(LogLevel::Error, &plugin, e.to_string().as_bytes());
        }
    }
}

/// A configured root context. Cloning shares it; the context ends when the last clone and the last HTTP
/// context made from it are gone.
#[derive(Clone)]
pub struct RootContext {
    pub(crate) inner: Rc<RootInner>,
}

impl RootContext {
    /// Let go of this handle without running the context's end in its instance when it is the last one: a
    /// proxy's worker drops a context it does not run (a singleton service another worker runs) this way,
    /// before `start_worker`, so the plugin never sees it there.
    pub fn detach(self) {
        self.inner.detached.set(true);
    }

    /// The context id in the instance the root context currently lives in.
    pub fn id(&self) -> u32 {
        self.inner.bound.borrow().id
    }

    /// The name of the plugin this context runs.
    pub fn plugin_name(&self) -> &str {
        &self.inner.plugin.name
    }

    /// Whether the plugin exports `proxy_on_request_body` (a proxy reads the body only for plugins that do).
    pub fn has_request_body_callback(&self) -> bool {
        self.exports(|cb| cb.on_request_body.is_some())
    }

    /// Whether the plugin exports `proxy_on_response_body` (a proxy can skip body work when it does not).
    pub fn has_response_body_callback(&self) -> bool {
        self.exports(|cb| cb.on_response_body.is_some())
    }

    fn exports(&self, f: impl FnOnce(&Callbacks) -> bool) -> bool {
        f(&self.inner.bound.borrow().vm.borrow().cb)
    }
}
