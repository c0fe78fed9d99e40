/* log.h — the agent's log: one line per notable event on stderr, with a UTC timestamp. Keys
 * appear as their first 8 base64 characters, never secrets. */
#ifndef OUTPOST_AGENT_LOG_H
#define OUTPOST_AGENT_LOG_H

#include <stdbool.h>
#include <stdint.h>

void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Quiet: no log lines at all (outpost sync --once speaks for itself). */
void agent_log_set_quiet(bool quiet);
/* The short form of a key for log lines (8 characters + NUL). */
void agent_short_key(const uint8_t key[32], char out[9]);

#endif
