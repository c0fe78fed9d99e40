/*
 * time.h — parsing ISO 8601 UTC times, as OUTPOST_NOW and the CLI take them, and
 * OUTPOST_CLOCK_OFFSET; the project's clock tolerances (TESTING B7, threat T6). Pure code.
 *
 * Wall clocks are advisory: entries are ordered by (author, seq) and the hash chain, never by
 * time, and no entry is refused because of its time. Clocks are compared in two places only:
 *   - at every handshake each side's HELLO carries its clock; a peer whose clock differs from
 *     ours by more than PROTO_TIME_SKEW_WARN_MS is a warning in `outpost status` and the
 *     agent's log, and the office's `outpost alerts` raises clock_skew (same default);
 *   - decisions that compare one of our own wall-clock readings with another (an epoch key's
 *     age, a retry's due time) allow PROTO_TIME_TOLERANCE_MS for the clock having been set
 *     back in between. Revocation is by seq (`after_seq`), never by time.
 */
#ifndef OUTPOST_PROTO_TIME_H
#define OUTPOST_PROTO_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* "2026-11-25T10:00:00Z" (optional .mmm fraction, "+00:00" for Z, or a bare date) into ms since
 * 1970-01-01 UTC. False for anything else, or an impossible date. */
bool proto_time_parse(const char *s, uint64_t *ms);

/* A peer's clock off ours by more than this is shown as a warning (5 min). */
#define PROTO_TIME_SKEW_WARN_MS (5 * 60 * 1000)
/* How far our own clock may have been set back between two readings that a decision compares
 * (10 min): an NTP step, a manual fix, a resumed virtual machine. */
#define PROTO_TIME_TOLERANCE_MS (10 * 60 * 1000)
/* The largest OUTPOST_CLOCK_OFFSET, in seconds either way (100 years). */
#define PROTO_TIME_OFFSET_MAX_S (100ll * 366 * 86400)

/* OUTPOST_CLOCK_OFFSET: signed whole seconds ("+86400", "-600", "0"), at most
 * PROTO_TIME_OFFSET_MAX_S either way, into ms. False for anything else (empty, a fraction, a
 * unit, spaces, trailing bytes). */
bool proto_time_offset_parse(const char *s, int64_t *ms);

/* The wall clock as this node sees it: `real_ms` shifted by `offset_ms`, clamped to 0. */
uint64_t proto_time_shift(uint64_t real_ms, int64_t offset_ms);

#endif
