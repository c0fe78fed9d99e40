/* time.h — parsing ISO 8601 UTC times, as OUTPOST_NOW and the CLI take them. Pure code. */
#ifndef OUTPOST_PROTO_TIME_H
#define OUTPOST_PROTO_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* "2026-11-25T10:00:00Z" (optional .mmm fraction, "+00:00" for Z, or a bare date) into ms since
 * 1970-01-01 UTC. False for anything else, or an impossible date. */
bool proto_time_parse(const char *s, uint64_t *ms);

#endif
