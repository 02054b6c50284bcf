//! Build script of the nginx module.
//!
//! - Refuses to build against nginx headers whose version differs from the nginx binary the module is meant
//!   for (`NGINX_BINARY`, default `/usr/sbin/nginx`; skipped with a warning when that binary is absent). The
//!   Makefile compares the full module signature after linking.
//! - Exposes nginx configuration facts as cfgs (`ngx_feature = "..."`, `ngx_table_elt_next`).
//! - Links the module with `-z nodelete`: nginx unloads and reloads modules on HUP, and a module that started
//!   wasmtime (signal handlers, thread-locals) must stay mapped.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=NGINX_BINARY");
    println!("cargo::rustc-cdylib-link-arg=-Wl,-z,nodelete");

    let version: u64 = env::var("DEP_NGINX_VERSION_NUMBER")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .expect("nginx-sys exports the nginx version number");

    println!("cargo::rustc-check-cfg=cfg(ngx_table_elt_next)");
    if version >= 1_023_000 {
        println!("cargo::rustc-cfg=ngx_table_elt_next");
    }
    if let Ok(check) = env::var("DEP_NGINX_FEATURES_CHECK") {
        println!("cargo::rustc-check-cfg=cfg(ngx_feature, values({check}))");
    }
    for feature in env::var("DEP_NGINX_FEATURES")
        .unwrap_or_default()
        .split(',')
    {
        if !feature.is_empty() {
            println!("cargo::rustc-cfg=ngx_feature=\"{feature}\"");
        }
    }

    let binary = env::var("NGINX_BINARY").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    let Ok(out) = Command::new(&binary).arg("-v").output() else {
        println!("cargo::warning=cannot run {binary}: the module's nginx version is not checked");
        return;
    };
    // `nginx -v` prints "nginx version: nginx/1.22.1" (possibly with a suffix) on stderr.
    let text = String::from_utf8_lossy(&out.stderr);
    let Some(found) = text
        .split('/')
        .nth(1)
        .map(|v| v.split_whitespace().next().unwrap_or(""))
    else {
        panic!("cannot read the version of {binary} from {text:?}");
    };
    let parts: Vec<u64> = found.split('.').filter_map(|p| p.parse().ok()).collect();
    let binary_version = match parts.as_slice() {
        [a, b, c, ..] => a * 1_000_000 + b * 1_000 + c,
        _ => panic!("cannot read the version of {binary} from {text:?}"),
    };
    if binary_version != version {
        panic!(
            "\n\nthe nginx headers (NGINX_SOURCE_DIR/NGINX_BUILD_DIR) are version {version}, but {binary} is \
             version {binary_version} ({found}): a module built this way would not load.\nPoint NGINX_SOURCE_DIR \
             and NGINX_BUILD_DIR at the configured source tree of that nginx, or set NGINX_BINARY.\n"
        );
    }
}
