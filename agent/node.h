/*
 * node.h — outpostd's node: the libuv loop, the store, the listener, the dialer with backoff,
 * the control socket for the CLI, signals, and the live connections (SPEC §7-§8).
 */
#ifndef OUTPOST_AGENT_NODE_H
#define OUTPOST_AGENT_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "proto/hs.h"
#include "proto/time.h"
#include "store/db.h"
#include "store/keyfile.h"
#include "store/reader.h"

#define AGENT_DEFAULT_PORT 7420
#define AGENT_CTL_SOCKET "outpostd.sock"
#define AGENT_HANDSHAKE_TIMEOUT_MS 10000 /* from the TCP connection, not from the dial */
#define AGENT_CONNECT_TIMEOUT_MS 30000   /* a dial: SYNs lost on a bad link are retried */
#define AGENT_KEEPALIVE_MS 10000
#define AGENT_DEAD_AFTER_MS 30000
#define AGENT_GOODBYE_WAIT_MS 2000 /* after our goodbye, how long the peer's may take */
#define AGENT_BACKOFF_MIN_MS 1000
#define AGENT_BACKOFF_MAX_MS 30000 /* a returning link is used within 30 s (B5) */
/* A retry scheduled further ahead than this (the longest backoff with its jitter, plus
 * PROTO_TIME_TOLERANCE_MS) was scheduled by a clock that has since been set back: due now. */
#define AGENT_RETRY_HORIZON_MS (AGENT_BACKOFF_MAX_MS / 5 * 6 + PROTO_TIME_TOLERANCE_MS)
#define AGENT_WRITE_HIGH_WATER (512 * 1024)
#define AGENT_RECEIPT_EVERY_MS 2000
#define AGENT_NOFILE_MAX 65536 /* descriptors the agent asks for (RLIMIT_NOFILE) */
/* Connections accepted and not yet authenticated, from one address and in all (C18): more are
 * closed at once (OVERLOAD). Each costs ~10 KB and a descriptor for at most the handshake
 * timeout; the caps keep a flood from one address from leaving no room for members. */
#define AGENT_HANDSHAKES_PER_ADDR 256
#define AGENT_HANDSHAKES_MAX 4096

typedef struct agent_conn agent_conn;

/* An ack not yet written (see flush_acks in node.c). */
typedef struct agent_ack {
    uint8_t peer[32], author[32];
    uint64_t seq, at;
} agent_ack;
#define AGENT_ACKS_MAX 65536 /* gathered at most between two writes */

typedef struct agent_options {
    const char *dir;
    const char *listen;     /* "HOST:PORT", or NULL for 0.0.0.0:7420; "" = do not listen */
    const char *once_peer;  /* --once: sync with this HOST:PORT (NULL: every known peer), exit */
    bool once;
    bool progress;          /* --once: a progress line on stderr */
} agent_options;

typedef struct agent_node {
    uv_loop_t *loop;
    agent_options opt;
    store_db *db;
    store_identity *id;
    store_reader *rd;
    uint8_t netkey[PROTO_NETKEY_BYTES];
    uv_tcp_t listener;
    bool listening;
    bool accept_pending; /* a connection waits: taking it failed (out of memory), next tick */
    uv_pipe_t ctl;
    bool ctl_open;
    bool ctl_bound; /* the socket file is ours (listening): removed on stop, and only then */
    uv_signal_t sig[3];
    uv_timer_t tick; /* dialing, backoff, flushing */
    agent_conn *conns;
    bool stopping;
    int exit_code;
    /* --once bookkeeping */
    int once_dialled, once_done, once_failed;
    char once_error[1024];
    uint64_t own_pushed; /* own head already pushed to live sessions */
    bool is_office;
    uint64_t last_receipt_ms; /* loop clock */
    agent_ack *acks;          /* gathered, written once a tick */
    size_t n_acks, cap_acks;
} agent_node;

/* Opens the node in opt->dir (store, identity, network key) and starts listening, dialing and
 * serving the control socket on loop. Codes: OP_E_NOTFOUND (no node, or no network key: not
 * joined yet), store codes, OP_E_IO (cannot listen: message logged). */
OP_MUST_CHECK op_err agent_node_start(agent_node *n, uv_loop_t *loop, const agent_options *opt);
/* Closes everything; the loop then runs out. */
void agent_node_stop(agent_node *n, const char *why);
/* Frees what start allocated, after the loop has finished. */
void agent_node_fini(agent_node *n);

/* Wall-clock ms (OUTPOST_NOW fixes it, as for the CLI; OUTPOST_CLOCK_OFFSET shifts it): for
 * what is written and shown, and the clock sent in HELLO. Timeouts use the loop's monotonic
 * clock instead, which no offset touches. */
uint64_t agent_now_ms(void);
/* Sets the OUTPOST_CLOCK_OFFSET shift (ms) of every wall-clock reading; main calls it once. */
void agent_clock_set_offset(int64_t offset_ms);

/* Called by connections (conn.c). */
void agent_node_conn_ready(agent_node *n, agent_conn *c);
void agent_node_conn_closed(agent_node *n, agent_conn *c, const char *why, bool synced);
void agent_node_stored(agent_node *n, agent_conn *from, const uint8_t author[32], uint64_t first,
                       uint64_t last);
/* The peer's HELLO told its clock: records the skew for status and alerts, and logs a warning
 * when it is over PROTO_TIME_SKEW_WARN_MS. */
void agent_node_clock_judged(agent_node *n, agent_conn *c);
void agent_node_acked(agent_node *n, agent_conn *c, const uint8_t author[32], uint64_t seq);

#endif
