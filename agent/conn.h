/*
 * conn.h — one TCP connection to a peer: the handshake (proto/hs.h), the secretstream in each
 * direction (proto/frame.h), and the sync session over it (agent/session.h), with back-pressure
 * from the socket's write queue, keepalives and a handshake timeout. A peer that sends bytes
 * which do not authenticate, decode or verify is disconnected with a logged reason.
 */
#ifndef OUTPOST_AGENT_CONN_H
#define OUTPOST_AGENT_CONN_H

#include "agent/node.h"
#include "agent/session.h"
#include "proto/frame.h"

struct agent_conn {
    uv_tcp_t tcp; /* first: handle->data points at the conn */
    uv_timer_t timer;
    agent_node *node;
    agent_conn *next;
    bool initiator;
    char addr[300]; /* the peer's address as text */
    bool has_expect;
    uint8_t expect[32];
    enum { CONN_CONNECTING, CONN_HANDSHAKE, CONN_HEADERS, CONN_LIVE, CONN_CLOSING } state;
    proto_hs *hs;
    proto_stream tx, rx;
    uint8_t rx_key[32]; /* from the handshake until the peer's stream header arrives */
    uint8_t peer[32];
    agent_session *session;
    uint8_t *in;
    size_t in_len, in_cap;
    uint64_t last_rx_ms, live_ms; /* loop clock */
    uint64_t started_ms; /* loop clock: the dial, then (connected) the handshake's start */
    uint64_t bytes_in, bytes_out;             /* on the wire, handshake included */
    uint64_t live_in, live_out;               /* after the handshake */
    int open_handles;
    bool goodbye_sent, goodbye_received, synced_reported;
    bool clock_judged; /* the peer's HELLO has been compared with our clock */
    uint64_t goodbye_ms; /* loop clock when we said goodbye */
    char why[640]; /* why it closed */
};

/* Starts a connection: accepted (server side; the tcp handle is already accepted by the
 * caller into c->tcp) or dialled (addr, expected peer key or NULL). The conn is allocated by
 * the caller with agent_conn_new and freed by the node when it has closed. */
agent_conn *agent_conn_new(agent_node *n, bool initiator, const char *addr, const uint8_t *expect);
/* For a dialled conn: connect to addr ("host:port"). */
OP_MUST_CHECK op_err agent_conn_dial(agent_conn *c);
/* For an accepted conn: start the handshake. */
void agent_conn_accepted(agent_conn *c);
/* Queues entries for the peer (live push / relay). */
void agent_conn_push(agent_conn *c, const uint8_t author[32], uint64_t first, uint64_t last);
/* Says goodbye (final frame) and closes once written. */
void agent_conn_finish(agent_conn *c, const char *why);
/* Closes at once with a reason (logged by the node; NULL keeps the one given before). */
void agent_conn_close(agent_conn *c, const char *why);

#endif
