//! The generated nginx.conf, line for line like Test::Nginx's (suites hard-code line numbers).

use std::path::Path;

pub struct ConfParams<'a> {
    pub servroot: &'a Path,
    pub port: u16,
    /// `http2` for a block with `--- http2` (Util.pm write_config_file: `$listen_opts .= " http2"`)
    pub http2: bool,
    pub workers: u32,
    pub master_on: bool,
    pub log_level: &'a str,
    pub env_to_nginx: &'a [String],
    pub load_modules: &'a [String],
    pub main_config: &'a str,
    pub http_config: &'a str,
    pub config: &'a str,
    pub server_name: &'a str,
    pub worker_connections: u32,
    pub no_root_location: bool,
    pub as_root: bool,
}

pub fn generate(p: &ConfParams) -> String {
    let sr = p.servroot.display();
    let mut c = String::new();
    let mut line = |s: &str| {
        c.push_str(s);
        c.push('\n');
    };
    line(&format!("worker_processes  {};", p.workers));
    line("daemon on;");
    line(&format!(
        "master_process {};",
        if p.master_on { "on" } else { "off" }
    ));
    line(&format!("error_log {sr}/logs/error.log {};", p.log_level));
    line(&format!("pid       {sr}/logs/nginx.pid;"));
    for v in [
        "MOCKEAGAIN_VERBOSE",
        "MOCKEAGAIN",
        "MOCKEAGAIN_WRITE_TIMEOUT_PATTERN",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "DYLD_INSERT_LIBRARIES",
        "DYLD_FORCE_FLAT_NAMESPACE",
    ] {
        line(&format!("env {v};"));
    }
    for v in p.env_to_nginx {
        if v.chars().any(char::is_whitespace) {
            line(&format!("env \"{v}\";"));
        } else {
            line(&format!("env {v};"));
        }
    }
    line("#env LUA_PATH;");
    line("#env LUA_CPATH;");
    line("");
    let mut main = String::new();
    for m in p.load_modules {
        main.push_str(&format!("load_module {m};\n"));
    }
    main.push_str(p.main_config);
    line(&main);
    line("");
    line("http {");
    line(&format!(
        "    access_log {sr}/logs/access.log; client_body_temp_path {sr}/client_body_temp; \
         proxy_temp_path {sr}/proxy_temp; fastcgi_temp_path {sr}/fastcgi_temp; \
         uwsgi_temp_path {sr}/uwsgi_temp; scgi_temp_path {sr}/scgi_temp;"
    ));
    line("    #access_log off;");
    line("");
    line("    default_type text/plain;");
    line("    keepalive_timeout  68000ms;");
    line("");
    line(p.http_config);
    line("    server {");
    line(&format!(
        "        listen          {}{};",
        p.port,
        if p.http2 { " http2" } else { "" }
    ));
    line("        #placeholder");
    line(&format!("        server_name     '{}';", p.server_name));
    line("");
    line("        client_max_body_size 30M;");
    line("        #client_body_buffer_size 4k;");
    line("");
    line("        # Begin preamble config...");
    line("");
    line("        # End preamble config...");
    line("");
    line("        # Begin test case config...");
    line(p.config);
    line("        # End test case config.");
    line("");
    if p.no_root_location {
        line("");
    } else {
        line(&format!(
            "        location / {{ root {sr}/html; index index.html index.htm; }}"
        ));
    }
    line("    }");
    line("}");
    line("");
    line("#timer_resolution 100ms;");
    line("");
    line("events {");
    line("    accept_mutex off;");
    line("");
    line(&format!(
        "    worker_connections  {};",
        p.worker_connections
    ));
    line("}");
    line("env ASAN_OPTIONS;");
    line("env MOCKNOEAGAIN_VERBOSE;");
    line("env MOCKNOEAGAIN;");
    if p.as_root {
        line("user root;");
    }
    c
}

/// The temp directories named in the template, relative to the servroot.
pub const TEMP_DIRS: &[&str] = &[
    "client_body_temp",
    "proxy_temp",
    "fastcgi_temp",
    "uwsgi_temp",
    "scgi_temp",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(
        sr: &'a Path,
        main: &'a str,
        http: &'a str,
        mods: &'a [String],
    ) -> ConfParams<'a> {
        ConfParams {
            servroot: sr,
            port: 1984,
            http2: false,
            workers: 1,
            master_on: false,
            log_level: "debug",
            env_to_nginx: &[],
            load_modules: mods,
            main_config: main,
            http_config: http,
            config: "    location /t { return 200; }\n",
            server_name: "localhost",
            worker_connections: 64,
            no_root_location: false,
            as_root: false,
        }
    }

    #[test]
    fn config_lands_on_line_39() {
        let sr = Path::new("/x/t/servroot");
        let c = generate(&params(sr, "", "", &[]));
        let lines: Vec<&str> = c.lines().collect();
        assert_eq!(lines[38], "    location /t { return 200; }");
        assert_eq!(lines[0], "worker_processes  1;");
        assert_eq!(lines[3], "error_log /x/t/servroot/logs/error.log debug;");
        assert!(lines.contains(&"        listen          1984;"));
        assert!(!c.contains("user root;"));
        assert!(c.ends_with("env MOCKNOEAGAIN;\n"));
    }

    #[test]
    fn sections_shift_lines() {
        let sr = Path::new("/s");
        let mods = vec!["/m/a.so".to_string()];
        let c = generate(&params(
            sr,
            "env FOO;\n",
            "    lua_package_path 'x;;';\n",
            &mods,
        ));
        let lines: Vec<&str> = c.lines().collect();
        assert_eq!(lines[15], "load_module /m/a.so;");
        assert_eq!(lines[16], "env FOO;");
        // main_config (2 lines + its newline) and http_config (1 line + its newline)
        assert_eq!(lines[38 + 2 + 1], "    location /t { return 200; }");
        let mut p = params(sr, "", "", &[]);
        p.as_root = true;
        p.master_on = true;
        p.workers = 2;
        p.http2 = true;
        let c = generate(&p);
        assert!(c.contains("        listen          1984 http2;\n"));
        assert!(c.ends_with("user root;\n"));
        assert!(c.starts_with("worker_processes  2;\ndaemon on;\nmaster_process on;\n"));
    }
}
