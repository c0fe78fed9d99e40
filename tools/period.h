/*
 * period.h — KPI periods as date ranges: ISO 8601 weeks (2026-W47, Monday to Sunday, week 53
 * where the year has one), calendar months (2026-11) and days (2026-11-25).
 */
#ifndef OUTPOST_TOOLS_PERIOD_H
#define OUTPOST_TOOLS_PERIOD_H

#include <stdbool.h>
#include <stdint.h>

typedef struct cli_period {
    char label[16]; /* 2026-W47, 2026-11 or 2026-11-25 */
    char from[11];  /* first day, YYYY-MM-DD */
    char to[11];    /* last day, inclusive */
} cli_period;

/* Parses a period label; false if it is not one (or names a week 53 the year lacks). */
bool cli_period_parse(const char *s, cli_period *out);
/* The period of kind "day", "week" or "month" that contains the UTC day of ms. */
bool cli_period_containing(const char *kind, uint64_t ms, cli_period *out);

#endif
