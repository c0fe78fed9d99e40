/*
 * session.h — the sync conversation over one authenticated connection (SPEC §7), without any
 * I/O: messages come in through agent_session_recv, go out through the send callback. The
 * connection code (conn.c) frames and encrypts them; tests can wire two sessions together.
 *
 * 1. Both sides send HELLO with the root hash of their have-vector. Equal roots: nothing to do.
 * 2. Otherwise both send BUCKETS (256 bucket hashes) and then, for each bucket that differs,
 *    HAVE with their heads in it. Each side queues, per author, the run the other lacks.
 * 3. Runs stream as RUN messages (one author each, sized to fit a frame), office logs first,
 *    when the connection asks for more (agent_session_pump: back-pressure) and while at most
 *    AGENT_SESSION_WINDOW_BYTES of them are unanswered (the window, below). The receiver
 *    ingests each RUN in one transaction and answers with ACK (its durable head; also for a
 *    run it refused). A RUN that does not connect to what the receiver holds (a gap) is
 *    answered with WANT, and the sender goes back to that seq. Every RUN gets one answer.
 * 4. DONE says "I have sent all you lacked". Synced: both DONE, nothing queued, and every RUN
 *    answered, so the peer durably holds what it was sent. The session stays up for live
 *    pushes (agent_session_push) until the connection closes.
 */
#ifndef OUTPOST_AGENT_SESSION_H
#define OUTPOST_AGENT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"
#include "store/db.h"
#include "store/reader.h"

typedef struct agent_session agent_session;

typedef struct agent_session_io {
    void *ctx;
    /* Queues one message for the peer (copied). Non-OK ends the session. */
    op_err (*send)(void *ctx, const uint8_t *msg, size_t n);
    /* Entries first..last of author were stored from this peer (to relay onward; may be NULL). */
    void (*stored)(void *ctx, const uint8_t author[PROTO_KEY_BYTES], uint64_t first,
                   uint64_t last);
    /* The peer durably holds author's log up to seq (may be NULL). */
    void (*acked)(void *ctx, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq);
    /* A run of author was refused (may be NULL; for the log). Either the session goes on (a
     * fork, a revoked author, a non-member over its quota, a run that keeps not connecting:
     * OP_E_GAP, or OP_E_DISK_FULL when this node's disk is full), or it is about to end with the
     * same code (a forged or malformed run: OP_E_AUTH, OP_E_CHAIN, OP_E_SEQ, OP_E_AUTHOR,
     * OP_E_BODYHASH, OP_E_TOOBIG, ...). */
    void (*refused)(void *ctx, const uint8_t author[PROTO_KEY_BYTES], op_err why);
    /* A run of author brought n entries, `bytes` bytes of envelopes and bodies, that this node
     * held already: sent again, e.g. after a cut link (may be NULL; for the log, so that what a
     * resume re-sends can be measured from outside: TESTING A2). */
    void (*already)(void *ctx, const uint8_t author[PROTO_KEY_BYTES], uint64_t n, uint64_t bytes);
} agent_session_io;

/* What a node holds for an author that is not (yet) a member: enough for its join entry and
 * some records made before admission, not enough to fill a relay's disk (SPEC §6, C1). */
#define AGENT_NONMEMBER_QUOTA_BYTES (1024 * 1024)

/* A run that starts past what is held is answered with one WANT for the rest. Runs the peer
 * sent before it saw the WANT (each starting further on) are answered with ACK while the WANT
 * is fresh: this long since it went out, or since the log last grew after it. */
#define AGENT_SESSION_WANT_AGAIN_MS 60000
/* WANTs for one author in one session, with nothing of it stored in between, before its runs
 * are refused (OP_E_GAP): a peer that answers a WANT with runs that still do not connect (a hole
 * in its store, or a hostile peer) is not asked for ever. */
#define AGENT_SESSION_MAX_WANTS 8

/* Bytes of RUN messages sent and not yet answered (ACK or WANT), at most: the receiver ingests
 * each RUN in one transaction before it answers, so a link cut or a receiver killed loses at
 * most this much in flight, and a resume sends at most this much again (TESTING A2: one batch,
 * 1 MiB; about 3,900 entries of 270 bytes). It is sized for the link, not for the batch: at
 * ~1 s RTT with 20 % loss (P1) answers take seconds, and a window of 256 entries (70 KB) let
 * the link go idle between them, halving the goodput against plain TCP. At most
 * AGENT_SESSION_WINDOW_RUNS RUNs are unanswered (runs of one or two entries, from many
 * authors or live pushes, are bounded by their number). */
#define AGENT_SESSION_WINDOW_BYTES (1024 * 1024)
#define AGENT_SESSION_WINDOW_RUNS 1024

typedef struct agent_session_stats {
    uint64_t entries_sent, entries_received, entries_already, msgs_in, msgs_out;
    uint64_t forks;   /* runs refused because they contradict a log held here */
    uint64_t refused; /* runs of non-members over their quota, or that never connect (GAP) */
    uint64_t not_stored; /* runs this node could not store: its disk is full (OP_E_DISK_FULL) */
    uint64_t peer_clock_ms; /* peer's clock as of its HELLO (0 if none yet) */
    uint64_t my_clock_ms;   /* ours at that moment */
} agent_session_stats;

/* db and rd are borrowed and must outlive the session. now_ms: clock for HELLO and receipts. */
OP_MUST_CHECK op_err agent_session_new(store_db *db, store_reader *rd, const agent_session_io *io,
                                       agent_session **out);
void agent_session_free(agent_session *s);

/* Sends HELLO. */
OP_MUST_CHECK op_err agent_session_start(agent_session *s, uint64_t now_ms);
/* Handles one message from the peer. A non-OK code ends the session (the caller logs it). */
OP_MUST_CHECK op_err agent_session_recv(agent_session *s, const uint8_t *msg, size_t n,
                                        uint64_t now_ms);
/* Sends queued runs, one full frame at a time, until `budget` bytes have gone out (the last
 * frame may pass it). *more is true if work remains. */
OP_MUST_CHECK op_err agent_session_pump(agent_session *s, size_t budget, bool *more);
/* Entries first..last of author are new here (written locally or received from another peer):
 * queue them for this peer. If it lacks earlier ones it answers WANT and gets those too. */
OP_MUST_CHECK op_err agent_session_push(agent_session *s, const uint8_t author[PROTO_KEY_BYTES],
                                        uint64_t first, uint64_t last);
/* True once both sides said DONE, nothing is queued and every RUN sent was answered. */
bool agent_session_synced(const agent_session *s);
const agent_session_stats *agent_session_stats_get(const agent_session *s);
/* Whether a code from agent_session_recv says this node failed (out of memory, the store busy,
 * an I/O error, a full disk, a damaged store), not the peer: for the log line. */
bool agent_session_local_failure(op_err r);

#endif
