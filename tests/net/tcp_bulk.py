#!/usr/bin/env python3
"""tcp_bulk.py — the plain TCP baseline of the net tests: moves N bytes over one TCP connection
per sender, to compare outpost's sync with over the same impaired path in the same run.

    tcp_bulk.py recv HOST PORT CONNS     accepts CONNS connections, reads each to EOF, then
                                         prints one JSON line {"bytes", "seconds", "conns"}
                                         (seconds from the first accept to the last byte)
    tcp_bulk.py send HOST PORT NBYTES    connects (retrying for 60 s while refused or
                                         unreachable), sends NBYTES of seeded filler, closes

The receiver prints "listening" on stdout once it accepts. Python stdlib only.
"""
import json
import socket
import sys
import threading
import time


def recv(host, port, conns):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(conns)
    sys.stdout.write("listening\n")
    sys.stdout.flush()
    total = [0]
    first = []
    last = [0.0]
    lock = threading.Lock()

    def drain(c):
        with c:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                with lock:
                    total[0] += len(b)
                    last[0] = time.monotonic()

    threads = []
    for _ in range(conns):
        c, _ = ls.accept()
        if not first:
            first.append(time.monotonic())
        t = threading.Thread(target=drain, args=(c,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    print(json.dumps({"bytes": total[0], "seconds": round(last[0] - first[0], 3),
                      "conns": conns}))


def send(host, port, nbytes):
    deadline = time.monotonic() + 60
    while True:
        try:
            s = socket.create_connection((host, port), timeout=30)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    s.settimeout(None)
    chunk = (bytes(range(256)) * 256)[:65536]
    left = nbytes
    with s:
        while left:
            k = s.send(chunk[:min(left, len(chunk))])
            left -= k
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass


def main(argv):
    if len(argv) != 5 or argv[1] not in ("recv", "send"):
        sys.stderr.write(__doc__)
        return 2
    if argv[1] == "recv":
        recv(argv[2], int(argv[3]), int(argv[4]))
    else:
        send(argv[2], int(argv[3]), int(argv[4]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
