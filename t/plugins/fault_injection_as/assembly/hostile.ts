// hostile_as: an AssemblyScript plugin (@solo-io/proxy-runtime, Proxy-Wasm 0.2.0) that throws on purpose, for the
// host's failure semantics (the Rust counterpart is ../../hostile). A second entry point of this package, built
// with the same flags as the fault-injection plugin (`npm run build:hostile`, to ../hostile_as.wasm).
//
// Configuration: `{"throw_in": "request_headers", "when": "header"}`. `throw_in` is one of `request_headers`,
// `request_body`, `response_headers`, `response_body`, `log` (anything else: never throws); `when` is `every`
// (default) or `header` (only requests with the header `x-fail: 1`). A `throw` ends in the runtime's
// abort_proc_exit: it logs the message at critical, then calls proc_exit(255), which the host turns into a trap.
// Every callback logs `hostile_as: <callback> ran` at info (body callbacks on their first call only).

export * from "@solo-io/proxy-runtime/proxy";
import {
  RootContext, Context, registerRootContext, log, LogLevelValues, FilterHeadersStatusValues,
  FilterDataStatusValues, stream_context,
} from "@solo-io/proxy-runtime";
import { BufferTypeValues } from "@solo-io/proxy-runtime/runtime";
import { proxy_get_buffer_bytes } from "@solo-io/proxy-runtime/imports";
import { free } from "@solo-io/proxy-runtime/malloc";

function info(message: string): void {
  log(LogLevelValues.info, "hostile_as: " + message);
}

// The plugin configuration as a string ("" when the host has none).
function readPluginConfiguration(size: u32): string {
  let slots = new ArrayBuffer(8); // the data pointer and the size the host returns
  let at = changetype<usize>(slots);
  if (proxy_get_buffer_bytes(BufferTypeValues.PluginConfiguration, 0, size, at, at + 4) != 0) return "";
  let data = load<u32>(at);
  let length = load<u32>(at + 4);
  let copy = new ArrayBuffer(length);
  if (data != 0) {
    memory.copy(changetype<usize>(copy), data, length);
    free(data); // the host allocated it through our `malloc`
  }
  return String.UTF8.decode(copy);
}

// The string value of `"key": "value"` in a flat JSON object (no escapes needed for these values), or "".
function field(json: string, key: string): string {
  let at = json.indexOf("\"" + key + "\"");
  if (at < 0) return "";
  at = json.indexOf(":", at + key.length + 2);
  if (at < 0) return "";
  let open = json.indexOf("\"", at + 1);
  if (open < 0) return "";
  let close = json.indexOf("\"", open + 1);
  if (close < 0) return "";
  return json.substring(open + 1, close);
}

class HostileRoot extends RootContext {
  throwIn: string = "";
  onHeader: bool = false;

  // Replaces the SDK's onConfigure, which passes the configuration size where the host expects a pointer.
  onConfigure(configuration_size: u32): bool {
    let raw = readPluginConfiguration(configuration_size);
    this.throwIn = field(raw, "throw_in");
    this.onHeader = field(raw, "when") == "header";
    return true;
  }

  createContext(context_id: u32): Context {
    return new Hostile(context_id, this);
  }
}

class Hostile extends Context {
  armed: bool = false;
  requestBodySeen: bool = false;
  responseBodySeen: bool = false;

  constructor(context_id: u32, root_context: HostileRoot) {
    super(context_id, root_context);
  }

  check(callback: string): void {
    let root = changetype<HostileRoot>(this.root_context);
    if (this.armed && root.throwIn == callback) {
      info("throwing in " + callback);
      throw new Error("hostile_as: thrown in " + callback);
    }
  }

  onRequestHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    info("request_headers ran");
    let root = changetype<HostileRoot>(this.root_context);
    this.armed = !root.onHeader || stream_context.headers.request.get("x-fail") == "1";
    this.check("request_headers");
    return FilterHeadersStatusValues.Continue;
  }

  onRequestBody(_length: usize, _end_of_stream: bool): FilterDataStatusValues {
    if (!this.requestBodySeen) info("request_body ran");
    this.requestBodySeen = true;
    this.check("request_body");
    return FilterDataStatusValues.Continue;
  }

  onResponseHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    info("response_headers ran");
    this.check("response_headers");
    return FilterHeadersStatusValues.Continue;
  }

  onResponseBody(_length: usize, _end_of_stream: bool): FilterDataStatusValues {
    if (!this.responseBodySeen) info("response_body ran");
    this.responseBodySeen = true;
    this.check("response_body");
    return FilterDataStatusValues.Continue;
  }

  onLog(): void {
    info("log ran");
    this.check("log");
  }
}

// The host answers "" for the `plugin_root_id` property: register the root context under that name.
// Registered under "" (directives) and under "hostile_as", the name the Lua tests load it with (the Lua path's
// `plugin_root_id` is that name, as on api7's module).
registerRootContext((context_id: u32): RootContext => { return new HostileRoot(context_id); }, "");
registerRootContext((context_id: u32): RootContext => { return new HostileRoot(context_id); }, "hostile_as");
