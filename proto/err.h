/*
 * err.h — the one table of error codes for all of outpost (STYLE §3).
 *
 * Codes are negative, 0 is success. Append new codes at the end; never renumber: the numbers
 * appear in logs and tests. op_strerror() is generated from the same list.
 */
#ifndef OUTPOST_PROTO_ERR_H
#define OUTPOST_PROTO_ERR_H

#define OP_ERRORS(X)                                                                               \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(TRUNCATED, -2, "input ends in the middle of a field")                                        \
    X(MALFORMED, -3, "not a valid encoding")                                                       \
    X(TOOBIG, -4, "over a protocol limit")                                                         \
    X(AUTH, -5, "signature or MAC did not verify")                                                 \
    X(CHAIN, -6, "does not extend the author's log (prev hash mismatch)")                          \
    X(BUSY, -7, "database is locked by another process")                                          \
    X(CORRUPT, -8, "store is damaged")                                                             \
    X(IO, -9, "I/O error")                                                                         \
    X(TYPE, -10, "a field has the wrong type")                                                     \
    X(NONCANONICAL, -11, "encoding is not canonical")                                              \
    X(TRAILING, -12, "trailing bytes after the message")                                           \
    X(COUNT, -13, "container claims more elements than any message can hold")                     \
    X(DEPTH, -14, "containers nested too deeply")                                                  \
    X(VERSION, -15, "unsupported version")                                                         \
    X(GAP, -16, "run does not start right after the held head (seq gap)")                          \
    X(AUTHOR, -17, "entries of a run have different authors")                                     \
    X(FORK, -18, "a different entry with the same author and seq is held (fork)")                  \
    X(BODYHASH, -19, "body does not match the envelope's body hash")                               \
    X(NOKEY, -20, "no key to read this body")                                                      \
    X(NOTFOUND, -21, "not found")                                                                  \
    X(EXISTS, -22, "already exists")                                                               \
    X(DISK_FULL, -23, "disk is full")                                                              \
    X(INVAL, -24, "invalid value")                                                                 \
    X(SEQ, -25, "seq out of order within a run")                                                  \
    X(HANDSHAKE, -26, "handshake failed: wrong network key, or the peer is not who it claims")    \
    X(REVOKED, -27, "key has been revoked")                                                        \
    X(QUOTA, -28, "over the quota for entries of non-members")                                     \
    X(OVERLOAD, -29, "too many connections waiting for their handshake")

typedef enum op_err {
    OP_OK = 0,
#define OP_ERR_ENUM_(name, val, text) OP_E_##name = (val),
    OP_ERRORS(OP_ERR_ENUM_)
#undef OP_ERR_ENUM_
} op_err;

#define OP_MUST_CHECK __attribute__((warn_unused_result))
/* A bare (void) cast does not silence gcc 12's warn_unused_result. Say why at each use. */
#define OP_IGNORE(e) ((void)!(e))

/* Text for a code; never NULL. Unknown codes get a generic text. */
const char *op_strerror(op_err e);
/* Stable short name ("TRUNCATED") for logs and --json; never NULL. */
const char *op_errname(op_err e);

#endif
