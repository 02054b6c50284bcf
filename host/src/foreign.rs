//! Foreign functions: named host functions a plugin calls with `proxy_call_foreign_function`. The proxy
//! registers them (the nginx module: from Lua, `proxy_wasm.register_foreign_function`); an unknown name
//! answers `NotFound`, as in Envoy.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A foreign function: the plugin's argument bytes in, result bytes out, or why it failed.
pub type ForeignFunction = Rc<dyn Fn(&[u8]) -> Result<Vec<u8>, String>>;

thread_local! {
    static REGISTRY: RefCell<HashMap<Vec<u8>, ForeignFunction>> = RefCell::new(HashMap::new());
}

/// Register `f` under `name` (replacing an earlier one), or remove the name with `None`.
pub fn register_foreign_function(name: &[u8], f: Option<ForeignFunction>) {
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        match f {
            Some(f) => r.insert(name.to_vec(), f),
            None => r.remove(name),
        };
    });
}

pub(crate) fn lookup(name: &[u8]) -> Option<ForeignFunction> {
    REGISTRY.with(|r| r.borrow().get(name).cloned())
}
