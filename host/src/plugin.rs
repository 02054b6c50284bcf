//! A loaded `Plugin` and what all its handles share: the compiled module (linked once, `cache.rs`), the
//! current instance, and the recovery policy. An instance that traps is never entered again: the next context
//! that needs the plugin gets a fresh instance (root contexts re-run their configuration there on first use,
//! `root.rs`; HTTP contexts of the trapped instance fail, per the proxy's failure policy). A plugin that keeps
//! trapping is held back for a while (`limits::CRASH_LOOP_*`). An instance retired for its memory is replaced
//! the same way, without counting a crash. Each forked worker starts its own instances (`start_worker`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::cache::Compiled;
use crate::error::Error;
use crate::limits::{PluginOptions, CRASH_LOOP_BACKOFF_MS, CRASH_LOOP_LIMIT, CRASH_LOOP_WINDOW_MS};
use crate::types::{AbiVersion, LogLevel};
use crate::vm::Vm;

/// An instance, shared by the plugin (while it is current) and the contexts living in it.
pub(crate) type SharedVm = Rc<RefCell<Vm>>;

/// What all handles of one plugin share: the compiled module and its current instance.
pub(crate) struct Shared {
    pub(crate) name: Rc<str>,
    compiled: Arc<Compiled>,
    vm_configuration: Rc<[u8]>,
    options: PluginOptions,
    /// What `plugin_root_id` answers in every instance (`Plugin::set_root_id`).
    root_id: RefCell<Rc<str>>,
    current: RefCell<SharedVm>,
    /// Bumped each time a fresh instance replaces a trapped one.
    generation: Cell<u64>,
    crashes: RefCell<VecDeque<Instant>>,
    /// Instances replaced after a trap since the plugin was loaded.
    traps: Cell<u64>,
    held_until: Cell<Option<Instant>>,
    /// The process the current instance was started in (a forked worker starts its own: `start_worker`).
    started_in: Cell<u32>,
}

thread_local! {
    /// Every loaded plugin of this thread, for `start_worker`.
    static PLUGINS: RefCell<Vec<std::rc::Weak<Shared>>> = const { RefCell::new(Vec::new()) };
}

/// Give this process its own instance of every plugin loaded before it was forked, configured again: a
/// worker must not continue the instance the master started (every worker would draw the same "random"
/// values, nonces and tokens from the state the master seeded). The master's instances validated the
/// configuration (`nginx -t`); each worker starts its plugins (start function, `proxy_on_vm_start`,
/// `proxy_on_configure`) itself, and failures are logged. Call once in each worker, before any request.
pub fn start_worker(backend: &mut dyn Backend) {
    let me = std::process::id();
    let plugins: Vec<Rc<Shared>> = PLUGINS.with(|p| {
        p.borrow()
            .iter()
            .filter_map(std::rc::Weak::upgrade)
            .collect()
    });
    for plugin in plugins {
        if plugin.started_in.get() == me {
            continue;
        }
        match plugin.instantiate(backend) {
            Ok(vm) => {
                *plugin.current.borrow_mut() = Rc::new(RefCell::new(vm));
                plugin.generation.set(plugin.generation.get() + 1);
                plugin.started_in.set(me);
            }
            Err(e) => {
                let msg = format!("cannot start in this worker: {e}");
                backend.log(LogLevel::Error, &plugin.name, msg.as_bytes());
            }
        }
    }
    crate::schedule::configure_all(backend);
}

impl Shared {
    /// A new instance of the plugin, made from its linked module.
    fn instantiate(&self, backend: &mut dyn Backend) -> Result<Vm, Error> {
        let mut vm = Vm::instantiate(
            self.name.clone(),
            &self.compiled.pre,
            self.compiled.abi,
            self.vm_configuration.clone(),
            self.options,
            backend,
        )?;
        vm.state().root_id = self.root_id.borrow().clone();
        Ok(vm)
    }

    /// The instance to use now, with its generation: the current one, or a fresh one when it trapped or was
    /// retired.
    pub(crate) fn instance(&self, backend: &mut dyn Backend) -> Result<(SharedVm, u64), Error> {
        let current = self.current.borrow().clone();
        if !current.borrow().is_spent() {
            return Ok((current, self.generation.get()));
        }
        if !current.borrow().is_failed() {
            // Retired for its memory: replace it without counting a crash.
            let vm = Rc::new(RefCell::new(self.instantiate(backend)?));
            *self.current.borrow_mut() = vm.clone();
            self.generation.set(self.generation.get() + 1);
            return Ok((vm, self.generation.get()));
        }
        let now = Instant::now();
        if let Some(until) = self.held_until.get() {
            if now < until {
                return Err(Error::Unusable(format!(
                    "held back after {CRASH_LOOP_LIMIT} traps within {CRASH_LOOP_WINDOW_MS} ms; retrying in {} ms",
                    (until - now).as_millis()
                )));
            }
            self.held_until.set(None);
        }
        {
            let mut crashes = self.crashes.borrow_mut();
            crashes.push_back(now);
            let window = Duration::from_millis(CRASH_LOOP_WINDOW_MS);
            while crashes
                .front()
                .is_some_and(|t| now.duration_since(*t) > window)
            {
                crashes.pop_front();
            }
            if crashes.len() > CRASH_LOOP_LIMIT {
                crashes.clear();
                self.held_until
                    .set(Some(now + Duration::from_millis(CRASH_LOOP_BACKOFF_MS)));
                let msg = format!(
                    "more than {CRASH_LOOP_LIMIT} traps within {CRASH_LOOP_WINDOW_MS} ms: not restarted for {CRASH_LOOP_BACKOFF_MS} ms"
                );
                backend.log(LogLevel::Error, &self.name, msg.as_bytes());
                return Err(Error::Unusable(msg));
            }
        }
        let vm = Rc::new(RefCell::new(self.instantiate(backend)?));
        *self.current.borrow_mut() = vm.clone();
        self.generation.set(self.generation.get() + 1);
        self.traps.set(self.traps.get() + 1);
        let msg = format!(
            "a fresh instance replaces the one that trapped ({} trap(s) in the last {CRASH_LOOP_WINDOW_MS} ms, {} since the plugin was loaded)",
            self.crashes.borrow().len(),
            self.traps.get()
        );
        backend.log(LogLevel::Warn, &self.name, msg.as_bytes());
        Ok((vm, self.generation.get()))
    }
}

/// A compiled and instantiated plugin.
pub struct Plugin {
    pub(crate) shared: Rc<Shared>,
}

impl Plugin {
    /// Compile `wasm` (binary, or text for tests), instantiate it and run its start function, with the
    /// default limits.
    pub fn load(
        name: &str,
        wasm: &[u8],
        vm_configuration: &[u8],
        backend: &mut dyn Backend,
    ) -> Result<Plugin, Error> {
        Plugin::load_with(
            name,
            wasm,
            vm_configuration,
            PluginOptions::default(),
            backend,
        )
    }

    /// As `load`, with explicit limits.
    pub fn load_with(
        name: &str,
        wasm: &[u8],
        vm_configuration: &[u8],
        options: PluginOptions,
        backend: &mut dyn Backend,
    ) -> Result<Plugin, Error> {
        let compiled = crate::cache::compile(wasm, &mut |msg| {
            backend.log(LogLevel::Warn, name, msg.as_bytes())
        })?;
        if !compiled.stubbed.is_empty() {
            let msg = format!(
                "imports host functions this host does not offer, linked as stubs answering Unimplemented: {}",
                compiled.stubbed.join(", ")
            );
            backend.log(LogLevel::Warn, name, msg.as_bytes());
        }
        let name: Rc<str> = Rc::from(name);
        let vm_configuration: Rc<[u8]> = Rc::from(vm_configuration);
        let vm = Vm::instantiate(
            name.clone(),
            &compiled.pre,
            compiled.abi,
            vm_configuration.clone(),
            options,
            backend,
        )?;
        Ok(Plugin {
            shared: Rc::new(Shared {
                name,
                compiled,
                vm_configuration,
                options,
                root_id: RefCell::new(Rc::from("")),
                current: RefCell::new(Rc::new(RefCell::new(vm))),
                generation: Cell::new(0),
                crashes: RefCell::new(VecDeque::new()),
                traps: Cell::new(0),
                held_until: Cell::new(None),
                started_in: Cell::new(std::process::id()),
            }),
        })
        .inspect(|plugin| {
            PLUGINS.with(|p| {
                let mut all = p.borrow_mut();
                all.retain(|w| w.strong_count() > 0);
                all.push(Rc::downgrade(&plugin.shared));
            })
        })
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Name the plugin's root id (`plugin_root_id`, empty by default as on Envoy): runtimes that register root
    /// contexts by name (AssemblyScript's) look theirs up by it when a root context is created.
    pub fn set_root_id(&self, root_id: &str) {
        let id: Rc<str> = Rc::from(root_id);
        *self.shared.root_id.borrow_mut() = id.clone();
        self.shared.current.borrow().borrow_mut().state().root_id = id;
    }

    pub fn abi_version(&self) -> AbiVersion {
        self.shared.compiled.abi
    }
}
