#!/usr/bin/env python3
"""A small gRPC service for t/grpc/run.sh (grpcio, Debian's python3-grpcio): test.Echo/Say answers
"echo:<message> md=<x-md metadata>" with initial metadata x-served-by: py; the message "fail" aborts with
PERMISSION_DENIED "no entry"; "slow" answers after two seconds. Messages are raw bytes (no protobuf)."""
import sys
import time
from concurrent import futures

import grpc


def say(request, context):
    metadata = dict(context.invocation_metadata())
    context.send_initial_metadata((("x-served-by", "py"),))
    if request == b"fail":
        context.abort(grpc.StatusCode.PERMISSION_DENIED, "no entry")
    if request == b"slow":
        time.sleep(2)
    return b"echo:" + request + b" md=" + metadata.get("x-md", "-").encode()


def main():
    port = int(sys.argv[1])
    handler = grpc.method_handlers_generic_handler(
        "test.Echo", {"Say": grpc.unary_unary_rpc_method_handler(say)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
