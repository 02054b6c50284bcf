#!/usr/bin/env python3
"""Kill an nginx worker with SIGKILL while it holds the shared memory's lock (for t/kill/run.sh).

usage: holder.py MASTER_PID WORKER_PID...  kills the worker that holds the lock and prints "held PID"; after 2 s
                                          without one that holds it, kills the first and prints "missed PID"
       holder.py MASTER_PID                prints how many times the lock was taken over from a dead owner

When the lock's owner is one of the workers (its main thread, whose thread id is its pid), that worker is
stopped (SIGSTOP); if it still holds the lock it is killed, else it goes on (SIGCONT) and the watch too. The region is found in the master's memory by its magic; the
offsets are those of host/src/shared/region.rs (H_RECOVERED, H_MUTEX) and of glibc's pthread_mutex_t, whose
first word holds the owner's thread id (the low 30 bits) for a robust mutex.
"""

import os
import random
import re
import signal
import struct
import sys
import time

MAGIC = b"HSWP"  # 0x5057_5348 little-endian
H_RECOVERED = 12
H_MUTEX = 168
TID_MASK = 0x3FFF_FFFF


def region(pid):
    """The address of the shared region in `pid`, and a reader of its bytes."""
    mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-[0-9a-f]+ rw-s .*/dev/zero", line)
            if m:
                base = int(m.group(1), 16)
                if os.pread(mem.fileno(), 4, base) == MAGIC:
                    return lambda off, n: os.pread(mem.fileno(), n, base + off)
    raise RuntimeError("no shared region")


def stopped(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")


def main():
    master = int(sys.argv[1])
    read = region(master)
    if len(sys.argv) == 2:
        print(struct.unpack("<I", read(H_RECOVERED, 4))[0])
        return
    workers = [int(w) for w in sys.argv[2:]]
    owner = lambda: struct.unpack("<I", read(H_MUTEX, 4))[0] & TID_MASK
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        worker = owner()
        if worker not in workers:
            time.sleep(random.uniform(0, 0.001))
            continue
        os.kill(worker, signal.SIGSTOP)
        while not stopped(worker):
            pass
        if owner() == worker:
            os.kill(worker, signal.SIGKILL)
            print("held", worker)
            return
        os.kill(worker, signal.SIGCONT)
    os.kill(workers[0], signal.SIGKILL)
    print("missed", workers[0])


if __name__ == "__main__":
    main()
