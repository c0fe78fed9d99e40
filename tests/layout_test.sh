#!/bin/sh
# proto/ does no I/O (SPEC §3): it must not include libuv, SQLite, sockets or stdio streams.
cd "$(dirname "$0")/.." || exit 2
bad=$(grep -nE '#include <(uv|sqlite3|sys/socket|netinet/[a-z]+|stdio)\.h>|FILE \*|fopen|[^_a-z]open\(' proto/*.c proto/*.h)
if [ -n "$bad" ]; then echo "proto/ must not do I/O:"; echo "$bad"; exit 1; fi
echo "proto/ does no I/O: ok"
