// Fault injection with APISIX's `abort` semantics, in AssemblyScript (@solo-io/proxy-runtime, Proxy-Wasm 0.2.0).
//
// Same behaviour and validation as the Rust plugin in ../fault_injection: configuration
// `{"http_status": 403, "body": "...", "percentage": 50}`; `http_status` is required and must be at least 200,
// `body` defaults to empty (nginx then sends its own error page), `percentage` (1..=100) makes the plugin answer
// only that share of requests and let the others through. The configuration is read with assemblyscript-json
// (config.ts): what the Rust plugin's serde `Config` accepts is accepted and what it refuses is refused, except
// that invalid UTF-8 or a lone surrogate in an ignored string, and nesting deeper than 128 levels, are refused too.

export * from "@solo-io/proxy-runtime/proxy";
import {
  RootContext, Context, registerRootContext, log, LogLevelValues, FilterHeadersStatusValues,
  send_local_response, GrpcStatusValues, HeaderPair,
} from "@solo-io/proxy-runtime";
import { get_current_time_nanoseconds, BufferTypeValues } from "@solo-io/proxy-runtime/runtime";
import { proxy_get_buffer_bytes } from "@solo-io/proxy-runtime/imports";
import { free } from "@solo-io/proxy-runtime/malloc";
import { parseConfig, Config } from "./config";

function logError(message: string): void {
  log(LogLevelValues.error, "fault injection: " + message);
}

// The plugin configuration, or null when the host has none (the SDK's wrapper cannot tell that from empty).
function readPluginConfiguration(size: u32): Uint8Array | null {
  let slots = new ArrayBuffer(8); // the data pointer and the size the host returns
  let at = changetype<usize>(slots);
  if (proxy_get_buffer_bytes(BufferTypeValues.PluginConfiguration, 0, size, at, at + 4) != 0) return null;
  let data = load<u32>(at);
  let length = load<u32>(at + 4);
  let copy = new Uint8Array(length);
  if (data != 0) {
    memory.copy(copy.dataStart, data, length);
    free(data); // the host allocated it through our `malloc`
  }
  return copy;
}

class FaultInjectionRoot extends RootContext {
  config: Config | null = null;

  // Replaces the SDK's onConfigure, which passes the configuration size where the host expects a pointer.
  onConfigure(configuration_size: u32): bool {
    let raw = readPluginConfiguration(configuration_size);
    if (raw == null) {
      logError("missing configuration");
      return false;
    }
    let config = parseConfig(raw as Uint8Array);
    if (config.error != null) {
      logError("bad configuration: " + (config.error as string));
      return false;
    }
    if (config.http_status < 200) {
      logError("bad http_status " + config.http_status.toString() + ": must be at least 200");
      return false;
    }
    if (config.has_percentage && (config.percentage == 0 || config.percentage > 100)) {
      logError("bad percentage " + config.percentage.toString() + ": must be within 1..=100");
      return false;
    }
    this.config = config;
    return true;
  }

  createContext(context_id: u32): Context {
    return new FaultInjection(context_id, this);
  }
}

// A number in 1..=100 from the host's clock, the same roll as the Rust plugin (not cryptographic).
function roll(): u32 {
  let nanos = <u32>(get_current_time_nanoseconds() % 1000000000);
  let x: u32 = nanos ^ 0x9e3779b9;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x % 100 + 1;
}

class FaultInjection extends Context {
  constructor(context_id: u32, root_context: FaultInjectionRoot) {
    super(context_id, root_context);
  }

  onRequestHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    let root = changetype<FaultInjectionRoot>(this.root_context);
    if (root.config == null) {
      // Never configured successfully: let the request through, as the Rust plugin does without a context.
      return FilterHeadersStatusValues.Continue;
    }
    let config = root.config as Config;
    if (config.has_percentage && roll() > config.percentage) {
      return FilterHeadersStatusValues.Continue;
    }
    send_local_response(config.http_status, "", config.body, new Array<HeaderPair>(), GrpcStatusValues.InvalidCode);
    return FilterHeadersStatusValues.StopIteration;
  }
}

// The host answers "" for the `plugin_root_id` property: register the root context under that name.
// The AssemblyScript runtime finds its root context by the host's `plugin_root_id`: "" where the host names none
// (Envoy's default, this module's directives), the name given to `wasm.load` on the Lua path (as on api7's
// module). Real plugins register under the name they are deployed with; this one under each name its tests and
// the demo load it with.
const rootIds = ["", "wasm_fault_injection_as", "wasm_fault_injection", "as"];
for (let i = 0; i < rootIds.length; i++) {
  registerRootContext((context_id: u32): RootContext => { return new FaultInjectionRoot(context_id); }, rootIds[i]);
}
