#!/usr/bin/env python3
"""tun_impair.py — a seeded userspace impairer on a TUN device (TESTING "Bad networks on one
machine, without netem"): delay, jitter (hence reordering), loss and duplication, reproducible
from a seed. Python stdlib only.

    tun_impair.py IFNAME DELAY_MS JITTER_MS LOSS DUP SEED

Run it in the router namespace R. It creates the TUN device IFNAME (IFF_TUN | IFF_NO_PI),
prints "ready IFNAME" on stdout once the device exists, then for every packet the kernel routes
into IFNAME:

  1. drops it with probability LOSS (0..1);
  2. otherwise schedules 1 copy (2 with probability DUP) at now + DELAY_MS + uniform(-JITTER_MS,
     +JITTER_MS) (never before now), from random.Random(SEED);
  3. writes each packet back into IFNAME when its time has come; R then routes it on (an
     `ip rule iif IFNAME` sends it out of the right veth, see netlab.py).

Every packet crosses the impairer once per direction, so DELAY_MS is a one-way delay and LOSS a
one-way loss. The same seed and the same packet sequence give the same decisions (the packet
sequence itself depends on TCP timers, so a run is reproducible in its impairment draws, not
byte for byte). SIGTERM/SIGINT: prints the counters on stderr and exits 0.
"""
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    return fd


def main(argv):
    if len(argv) != 7:
        sys.stderr.write(__doc__)
        return 2
    name = argv[1]
    delay, jitter = float(argv[2]) / 1000.0, float(argv[3]) / 1000.0
    loss, dup = float(argv[4]), float(argv[5])
    rng = random.Random(int(argv[6]))
    fd = open_tun(name)
    stats = {"in": 0, "dropped": 0, "duplicated": 0, "out": 0, "bytes_in": 0}
    stop = []

    def on_signal(signum, frame):
        stop.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.stdout.write("ready %s\n" % name)
    sys.stdout.flush()
    heap = []      # (due, n, packet): n keeps equal due times in arrival order
    n = 0
    while not stop:
        now = time.monotonic()
        timeout = 0.5 if not heap else max(0.0, min(0.5, heap[0][0] - now))
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
        except InterruptedError:
            continue
        if ready:
            while True:
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                except OSError:
                    break
                if not pkt:
                    break
                stats["in"] += 1
                stats["bytes_in"] += len(pkt)
                if rng.random() < loss:
                    stats["dropped"] += 1
                    continue
                copies = 2 if rng.random() < dup else 1
                if copies == 2:
                    stats["duplicated"] += 1
                t = time.monotonic()
                for _ in range(copies):
                    d = delay + (rng.uniform(-jitter, jitter) if jitter else 0.0)
                    heapq.heappush(heap, (t + max(0.0, d), n, pkt))
                    n += 1
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, pkt = heapq.heappop(heap)
            try:
                os.write(fd, pkt)
                stats["out"] += 1
            except OSError:
                pass  # the device went away, or no route: the packet is lost
    sys.stderr.write("tun_impair %s: %s\n" % (name, " ".join(
        "%s=%d" % kv for kv in sorted(stats.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
