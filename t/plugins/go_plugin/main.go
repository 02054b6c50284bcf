// go_plugin: a Proxy-Wasm plugin in standard Go (1.24: GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared), written
// against the ABI directly (no SDK is at hand without a module download), exporting every callback a Go SDK
// plugin exports. What it does comes from its plugin configuration:
//
//   - "sleep": proxy_on_request_headers sleeps 5 ms with time.Sleep, which Go's runtime performs through WASI's
//     poll_oneoff with a clock subscription, then logs how long it slept;
//   - "sleep-long": the same for 200 ms, past a plugin's time_limit;
//   - "panic": proxy_on_request_headers panics; Go's runtime writes the panic to stderr and exits.
//
// Anything else: the plugin lets every request through. Log lines start with "go_plugin: ".
package main

import (
	"strconv"
	"time"
	"unsafe"
)

//go:wasmimport env proxy_log
func proxyLog(level int32, msg unsafe.Pointer, size int32) int32

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(kind int32, start int32, max int32, data *uint32, size *int32) int32

const (
	logInfo                   = 2
	bufferPluginConfiguration = 7
)

// The configuration of each root context, and the root context of each HTTP context.
var (
	modes = map[int32]string{}
	roots = map[int32]int32{}
)

// Memory the host asked for, kept reachable until the plugin has read it (Go's collector does not move it).
var allocations = map[uint32][]byte{}

func say(msg string) {
	b := []byte("go_plugin: " + msg)
	proxyLog(logInfo, unsafe.Pointer(&b[0]), int32(len(b)))
}

func buffer(kind int32, size int32) string {
	var data uint32
	var got int32
	if proxyGetBufferBytes(kind, 0, size, &data, &got) != 0 || got == 0 {
		return ""
	}
	bytes := allocations[data]
	delete(allocations, data)
	if int(got) > len(bytes) {
		return ""
	}
	return string(bytes[:got])
}

func main() {}

//go:wasmexport proxy_abi_version_0_2_1
func proxyAbiVersion() {}

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) uint32 {
	b := make([]byte, size+1)
	p := uint32(uintptr(unsafe.Pointer(&b[0])))
	allocations[p] = b
	return p
}

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(id, root int32) {
	if root != 0 {
		roots[id] = root
	}
}

//go:wasmexport proxy_on_vm_start
func proxyOnVmStart(root, size int32) int32 { return 1 }

//go:wasmexport proxy_on_configure
func proxyOnConfigure(root, size int32) int32 {
	modes[root] = buffer(bufferPluginConfiguration, size)
	return 1
}

func sleep(d time.Duration) {
	start := time.Now()
	time.Sleep(d)
	elapsed := time.Since(start)
	if elapsed >= d {
		say("slept " + strconv.Itoa(int(d/time.Millisecond)) + " ms (at least that long passed)")
	} else {
		say("slept only " + elapsed.String() + " of " + d.String())
	}
}

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(id, headers, eos int32) int32 {
	switch modes[roots[id]] {
	case "sleep":
		sleep(5 * time.Millisecond)
	case "sleep-long":
		sleep(200 * time.Millisecond)
	case "panic":
		panic("go_plugin: the plugin's own panic message")
	}
	return 0
}

//go:wasmexport proxy_on_request_body
func proxyOnRequestBody(id, size, eos int32) int32 { return 0 }

//go:wasmexport proxy_on_request_trailers
func proxyOnRequestTrailers(id, trailers int32) int32 { return 0 }

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeaders(id, headers, eos int32) int32 { return 0 }

//go:wasmexport proxy_on_response_body
func proxyOnResponseBody(id, size, eos int32) int32 { return 0 }

//go:wasmexport proxy_on_response_trailers
func proxyOnResponseTrailers(id, trailers int32) int32 { return 0 }

//go:wasmexport proxy_on_log
func proxyOnLog(id int32) {}

//go:wasmexport proxy_on_done
func proxyOnDone(id int32) int32 { return 1 }

//go:wasmexport proxy_on_delete
func proxyOnDelete(id int32) {
	delete(roots, id)
}

//go:wasmexport proxy_on_tick
func proxyOnTick(root int32) {}

//go:wasmexport proxy_on_queue_ready
func proxyOnQueueReady(root, queue int32) {}

//go:wasmexport proxy_on_http_call_response
func proxyOnHttpCallResponse(id, token, headers, size, trailers int32) {}

//go:wasmexport proxy_on_foreign_function
func proxyOnForeignFunction(root, function, size int32) {}

//go:wasmexport proxy_on_new_connection
func proxyOnNewConnection(id int32) int32 { return 0 }

//go:wasmexport proxy_on_downstream_data
func proxyOnDownstreamData(id, size, eos int32) int32 { return 0 }

//go:wasmexport proxy_on_downstream_connection_close
func proxyOnDownstreamConnectionClose(id, peer int32) {}

//go:wasmexport proxy_on_upstream_data
func proxyOnUpstreamData(id, size, eos int32) int32 { return 0 }

//go:wasmexport proxy_on_upstream_connection_close
func proxyOnUpstreamConnectionClose(id, peer int32) {}
