/*
 * bench_net.h — the wire-level baselines of `outpost-bench sync`: free loopback ports, the
 * loopback round trip, and the bytes of the frames a sync would send (have-vector, HELLO +
 * DONE, RUN).
 */
#ifndef OUTPOST_TOOLS_BENCH_NET_H
#define OUTPOST_TOOLS_BENCH_NET_H

#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* Two free TCP ports on 127.0.0.1 (bound to port 0, then released). 0, or BENCH_EXIT_FAIL
 * with a message. */
int bench_net_free_ports(int out[2]);

/* The median and p99 round trip of a 64-byte message between two processes over TCP on
 * 127.0.0.1 (TCP_NODELAY), over `rounds` round trips: the floor of any conversation on this
 * link. 0, or BENCH_EXIT_FAIL with a message. */
int bench_net_loopback_rtt(int rounds, double *median_s, double *p99_s);

/* Bytes on the wire (frames included) of a plain have-vector exchange from db: HAVE messages
 * with every head, bucket by bucket. Store codes. */
op_err bench_net_have_vector_bytes(store_db *db, uint64_t *bytes);

/* Bytes of the one-round-trip conversation: a HELLO frame and a DONE frame. */
size_t bench_net_one_rtt_bytes(uint64_t authors);

/* Bytes of the RUN frames that carry the logs of generated authors [0, n) of seed out of
 * dir's store. 0, or BENCH_EXIT_FAIL with a message. */
int bench_net_run_frame_bytes(const char *dir, uint64_t seed, uint32_t n, uint64_t *bytes);

#endif
