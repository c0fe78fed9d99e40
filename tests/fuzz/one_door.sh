#!/bin/sh
# one_door.sh — msgpack-c allocates for the counts a container header claims (TESTING "two
# facts"), so it may be called on peer bytes only through proto_mp_decode (proto/mp.c), after the
# bounded prescan. This fails if any other source file calls msgpack-c's unpacking functions.
# ctest: fuzz.one_door.
cd "$(dirname "$0")/../.." || exit 2
bad=$(grep -rnE 'msgpack_unpack|msgpack_unpacker|msgpack_zone' --include='*.c' --include='*.h' \
      proto store agent tools | grep -v '^proto/mp\.[ch]:')
if [ -n "$bad" ]; then
    echo "msgpack-c unpacking outside proto/mp.c (use proto_mp_decode):"
    echo "$bad"
    exit 1
fi
echo "msgpack-c unpacking only in proto/mp.c, behind proto_mp_prescan: ok"
