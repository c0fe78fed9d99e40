/*
 * invite.h — the invite code a person pastes to join a team, and the join proof (SPEC §6).
 * Pure: no I/O, no allocation.
 *
 * An invite code is one line of text:
 *
 *     "outpost1-" base64url-without-padding( msgpack [ 1, office bin32, netkey bin32,
 *                                                      token bin32, [addr str, ...] ] )
 *
 * office is the office's ed25519 public key, netkey the team's network key (a secret: it lets
 * the holder connect), token 32 random bytes used once (the office keeps only BLAKE2b-256 of
 * it), and addr 0..PROTO_INVITE_MAX_ADDRS "host:port" strings where the office (or a relay)
 * listens. The encoding is canonical (shortest msgpack forms, no padding, zero trailing bits):
 * every invite has exactly one text, and any other text is refused.
 *
 * The join proof binds the token to the worker's key so that only the invited worker can use
 * it, and only the office can read it:
 *
 *     proof = crypto_box_seal(token (32) || worker key (32), office key converted to X25519)
 *
 * 48 + 64 = PROTO_JOIN_PROOF_BYTES (112). A relay that copies a proof into its own join entry
 * gains nothing: the key inside is not its own.
 */
#ifndef OUTPOST_PROTO_INVITE_H
#define OUTPOST_PROTO_INVITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/body.h"
#include "proto/entry.h"

#define PROTO_INVITE_PREFIX "outpost1-"
#define PROTO_INVITE_VERSION 1
#define PROTO_INVITE_TOKEN_BYTES 32
#define PROTO_NETKEY_BYTES 32
#define PROTO_INVITE_MAX_ADDRS 8
#define PROTO_INVITE_ADDR_MAX_BYTES 255
/* The largest canonical invite: fixarray, 1, three bin8 of 32, fixarray, 8 x str8 of 255. */
#define PROTO_INVITE_MAX_BYTES (1 + 1 + 3 * 34 + 1 + PROTO_INVITE_MAX_ADDRS * 257)
/* Its text: the prefix, ceil(4 * 2161 / 3) = 2882 characters, a NUL. */
#define PROTO_INVITE_TEXT_MAX_BYTES (9 + 2882 + 1)

/* A decoded invite. netkey and token are secrets: wipe with proto_invite_wipe when done. */
typedef struct proto_invite {
    uint8_t office[PROTO_KEY_BYTES];
    uint8_t netkey[PROTO_NETKEY_BYTES];
    uint8_t token[PROTO_INVITE_TOKEN_BYTES];
    size_t n_addrs;
    char addrs[PROTO_INVITE_MAX_ADDRS][PROTO_INVITE_ADDR_MAX_BYTES + 1]; /* NUL-terminated */
} proto_invite;

/* Zeroes the whole invite (sodium_memzero). */
void proto_invite_wipe(proto_invite *inv);

/*
 * True if s[0..n) is an address an invite may carry: "host:port" of at most
 * PROTO_INVITE_ADDR_MAX_BYTES, port 1-65535 in decimal without leading zeros, host a name or
 * IPv4 address ([A-Za-z0-9.-_]) or an IPv6 address in brackets ("[::1]:7420").
 */
bool proto_invite_addr_ok(const char *s, size_t n);

/*
 * Writes inv as the NUL-terminated text code into out (capacity max; needs at most
 * PROTO_INVITE_TEXT_MAX_BYTES) and its length, without the NUL, to *len. OP_E_TOOBIG for more
 * than PROTO_INVITE_MAX_ADDRS addresses or too small a buffer, OP_E_INVAL for an address that
 * proto_invite_addr_ok refuses. On failure out holds an empty string (when max > 0).
 */
OP_MUST_CHECK op_err proto_invite_encode(const proto_invite *inv, char *out, size_t max,
                                         size_t *len);

/*
 * Decodes the code text[0..len) (exactly: no surrounding blanks) into *out (wiped first, and
 * again on failure). Codes, by what is wrong:
 *   prefix   OP_E_VERSION    not "outpost1-" (another version of outpost, or not a code)
 *   base64   OP_E_MALFORMED  a character outside base64url, padding, or non-zero spare bits
 *   length   OP_E_TOOBIG     longer than any code; more than 8 addresses; an address over 255
 *                            bytes; a key, network key or token bin over 32 bytes
 *            OP_E_TRUNCATED  the msgpack ends inside a field (a code cut short)
 *            OP_E_TRAILING   bytes after the array
 *   shape    OP_E_TYPE       not an array of 5, or an element of the wrong type
 *            OP_E_MALFORMED  a bin under 32 bytes, a NUL in an address
 *            OP_E_NONCANONICAL  a valid value in a longer form than needed
 *            OP_E_VERSION    an inner version other than 1
 *            OP_E_INVAL      an address proto_invite_addr_ok refuses
 *   and the prescan's codes (OP_E_COUNT, OP_E_DEPTH).
 */
OP_MUST_CHECK op_err proto_invite_decode(const char *text, size_t len, proto_invite *out);

/* Seals token || worker to the office's ed25519 key. OP_E_INVAL if office is not a valid
 * curve point. */
OP_MUST_CHECK op_err proto_join_proof_seal(const uint8_t office[PROTO_KEY_BYTES],
                                           const uint8_t token[PROTO_INVITE_TOKEN_BYTES],
                                           const uint8_t worker[PROTO_KEY_BYTES],
                                           uint8_t proof[PROTO_JOIN_PROOF_BYTES]);

/*
 * Opens a proof with the office's ed25519 secret key into token and worker (both wiped on
 * failure). OP_E_AUTH if it was not sealed to this office or was altered.
 */
OP_MUST_CHECK op_err proto_join_proof_open(const uint8_t office_sk[PROTO_SECRET_BYTES],
                                           const uint8_t proof[PROTO_JOIN_PROOF_BYTES],
                                           uint8_t token[PROTO_INVITE_TOKEN_BYTES],
                                           uint8_t worker[PROTO_KEY_BYTES]);

#endif
