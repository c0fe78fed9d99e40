/*
 * hs.h — the connection handshake (SPEC §6 "Transport"), as a state machine over bytes.
 *
 * Three fixed-size messages, SIGMA-I style, in the manner of Secret Handshake and Noise XX:
 *
 *   1  I -> R  v || eI || HMAC(N, v || eI)                                  (65 bytes)
 *   2  R -> I  eR || HMAC(N, eR || eI) || AEAD(k2, R || sigR(h))            (176 bytes)
 *   3  I -> R  AEAD(k3, I || sigI(h || R))                                  (112 bytes)
 *
 *   v        version byte (1). It is under the HMAC, so it cannot be altered (downgrade).
 *   N        the team's network key. Without it message 1 is refused and the responder sends
 *            nothing: a stranger cannot even learn who answers.
 *   eI, eR   fresh X25519 keys of this connection only (forward secrecy).
 *   I, R     the long-term ed25519 keys; they travel only inside the AEAD, never in clear.
 *   h        BLAKE2b-256 keyed with N of "outpost-hs1" || v || eI || eR (the transcript).
 *   ee       X25519(eI, eR); k2, k3 and the session keys are BLAKE2b keyed with N over a label,
 *            ee and h (session keys also over R and I).
 *   sigR     ed25519 by R over "outpost-hs-R" || h; sigI by I over "outpost-hs-I" || h || R.
 *
 * What each check stops: the HMACs keep out anyone without N (C3) and pin v (C6); each side's
 * signature over both ephemerals proves it holds its long-term key *for this connection*, so a
 * man in the middle who swaps ephemerals or identities breaks a signature or the AEAD (C5); a
 * replayed message 1 or 3 meets a fresh eR and fails to decrypt (C4); I signs R too, so its
 * signature cannot be presented to another responder (misbinding). Key material is wiped.
 */
#ifndef OUTPOST_PROTO_HS_H
#define OUTPOST_PROTO_HS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/entry.h"

#define PROTO_HS_VERSION 1
#define PROTO_NETKEY_BYTES 32
#define PROTO_HS_MSG1_BYTES 65
#define PROTO_HS_MSG2_BYTES 176
#define PROTO_HS_MSG3_BYTES 112
#define PROTO_SESSION_KEY_BYTES 32

typedef struct proto_hs proto_hs;

/* What a finished handshake gives: who the peer is, and one key per direction. */
typedef struct proto_hs_result {
    uint8_t peer[PROTO_KEY_BYTES];
    uint8_t tx[PROTO_SESSION_KEY_BYTES], rx[PROTO_SESSION_KEY_BYTES];
} proto_hs_result;

/*
 * Starts a handshake as initiator (dialer) or responder. netkey, pk and sk are copied.
 * expect (may be NULL): the peer key the initiator dialled; any other is refused
 * (OP_E_HANDSHAKE). Caller frees with proto_hs_free.
 */
OP_MUST_CHECK op_err proto_hs_new(bool initiator, const uint8_t netkey[PROTO_NETKEY_BYTES],
                                  const uint8_t sk[PROTO_SECRET_BYTES],
                                  const uint8_t *expect, proto_hs **out);
void proto_hs_free(proto_hs *hs); /* wipes; NULL-safe */

/* Size of the next message this side must read (0 if it must write, or is done). */
size_t proto_hs_want(const proto_hs *hs);
/* Writes this side's next message into out (capacity max); *len gets its size. */
OP_MUST_CHECK op_err proto_hs_write(proto_hs *hs, uint8_t *out, size_t max, size_t *len);
/* Reads the peer's next message (exactly proto_hs_want bytes). OP_E_HANDSHAKE on any failure;
 * the handshake is then dead and every later call fails. */
OP_MUST_CHECK op_err proto_hs_read(proto_hs *hs, const uint8_t *in, size_t len);
bool proto_hs_done(const proto_hs *hs);
/* The result, once done. Wipe it (sodium_memzero) when the stream state has taken the keys. */
OP_MUST_CHECK op_err proto_hs_get(const proto_hs *hs, proto_hs_result *out);

#endif
