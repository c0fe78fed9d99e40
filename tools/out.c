/*
 * out.c — tables for people. Widths are counted in characters (UTF-8 code points, so
 * "Søren" is 5 wide), columns are cut with an ellipsis so a row fits in 80 characters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

#define LINE_WIDTH 80

struct cli_table {
    int ncols;
    const char *const *heads;
    const int *max; /* per column cap, 0 = no cap */
    char **cells;   /* rows * ncols, owned */
    int rows, cap;
};

static int
width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* Prints s cut to w characters (the last one an ellipsis if cut), padded when pad. */
static void
put_cell(const char *s, int w, bool pad)
{
    int sw = width(s);
    if (sw <= w) {
        fputs(s, stdout);
        if (pad)
            printf("%*s", w - sw, "");
        return;
    }
    int keep = w - 1, n = 0;
    const char *p = s;
    for (; *p; p++) {
        if (((unsigned char)*p & 0xc0) != 0x80 && n++ == keep)
            break;
    }
    fwrite(s, 1, (size_t)(p - s), stdout);
    fputs("\xe2\x80\xa6", stdout); /* … */
}

cli_table *
cli_table_new(int ncols, const char *const *heads, const int *max_widths)
{
    cli_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->heads = heads;
    t->max = max_widths;
    return t;
}

void
cli_table_add(cli_table *t, const char *const *cells)
{
    if (!t)
        return;
    if (t->rows == t->cap) {
        int ncap = t->cap ? t->cap * 2 : 16;
        char **nc = realloc(t->cells, sizeof *nc * (size_t)ncap * (size_t)t->ncols);
        if (!nc)
            return; /* a row short on output beats a crash; the CLI is about to exit anyway */
        t->cells = nc;
        t->cap = ncap;
    }
    for (int i = 0; i < t->ncols; i++) {
        char *s = strdup(cells[i] ? cells[i] : "");
        /* Text from other members must not move the cursor, clear the screen or split a row:
         * control characters (ESC among them) print as spaces. */
        for (char *q = s; q && *q; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f)
                *q = ' ';
        t->cells[t->rows * t->ncols + i] = s;
    }
    t->rows++;
}

void
cli_table_print(cli_table *t)
{
    if (!t)
        return;
    int w[32] = {0}, total = 0;
    for (int i = 0; i < t->ncols && i < 32; i++) {
        w[i] = width(t->heads[i]);
        for (int r = 0; r < t->rows; r++) {
            const char *s = t->cells[r * t->ncols + i];
            int sw = s ? width(s) : 0;
            if (sw > w[i])
                w[i] = sw;
        }
        if (t->max && t->max[i] && w[i] > t->max[i])
            w[i] = t->max[i];
        total += w[i] + (i ? 2 : 0);
    }
    /* Still too wide: the last column gives up what is over. */
    if (total > LINE_WIDTH && t->ncols > 0) {
        int last = t->ncols - 1;
        w[last] -= total - LINE_WIDTH;
        if (w[last] < 4)
            w[last] = 4;
    }
    for (int i = 0; i < t->ncols; i++) {
        if (i)
            fputs("  ", stdout);
        put_cell(t->heads[i], w[i], i < t->ncols - 1);
    }
    fputc('\n', stdout);
    for (int r = 0; r < t->rows; r++) {
        for (int i = 0; i < t->ncols; i++) {
            const char *s = t->cells[r * t->ncols + i];
            if (i)
                fputs("  ", stdout);
            put_cell(s ? s : "", w[i], i < t->ncols - 1);
        }
        fputc('\n', stdout);
    }
}

void
cli_table_free(cli_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->rows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

void
cli_table_done(cli_table *t, const char *if_empty)
{
    if (t && t->rows)
        cli_table_print(t);
    else
        puts(if_empty);
    cli_table_free(t);
}
