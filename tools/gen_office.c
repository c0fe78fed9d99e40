/*
 * gen_office.c — a synthetic home office (see gen_office.h).
 *
 * Two gen_pipeline passes: first the office's log (one log, one thread: it is a few percent of
 * the entries, and its member entries must be held before anything of the members is, as on a
 * real office), then the members' logs on the signing threads. Everything random about the
 * contents comes from gen_rand streams seeded by (seed, member, purpose), so a member's
 * profile is the same in both passes and in every run with the same seed.
 */
#include "tools/gen_office.h"

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/body.h"
#include "proto/seal.h"
#include "store/have.h"
#include "store/log.h"
#include "tools/gen.h"

#define HOUR_MS 3600000ull
#define MIN_MS 60000ull
/* The office's runs: entries per ingested run. */
#define OFFICE_RUN 1000
/* Room per day of a member's run: check-in, feedback, up to four KPI values, a key entry. */
#define MEMBER_DAY_MAX 8

const char *const gen_office_kpi_ids[GEN_OFFICE_KPIS] = {"tickets", "reply-hours", "backlog"};

static const struct kpi_spec {
    const char *title, *unit, *direction, *period, *aggregate;
    double target;
} kpi_specs[GEN_OFFICE_KPIS] = {
    {"Support tickets closed", "tickets", "at_least", "day", "sum", 5},
    {"Hours to answer a customer e-mail", "hours", "at_most", "week", "mean", 4},
    {"Open items at the end of the month", "items", "at_most", "month", "last", 10},
};

static const char *const first_names[20] = {
    "Ada",   "Bjørn", "Camilla", "Dag",  "Eva", "Frederik", "Guro",   "Henrik", "Ida", "Jonas",
    "Karin", "Lars",  "Maja",    "Nils", "Ole", "Pernille", "Rasmus", "Sofie",  "Tor", "Ulla"};
static const char *const last_names[20] = {
    "Hansen",  "Johansen", "Nielsen",    "Olsen", "Larsen", "Andersen", "Pedersen",
    "Berg",    "Dahl",     "Lund",       "Holm",  "Strand", "Moe",      "Bakke",
    "Eriksen", "Haugen",   "Kristensen", "Vik",   "Lie",    "Sørensen"};
static const char *const sites[10] = {
    "Aarhus harbour",   "Bergen hospital", "Oslo ministry",   "Odense plant", "Trondheim campus",
    "Aalborg shipyard", "Stavanger base",  "Copenhagen bank", "Tromsø lab",   "Esbjerg wind farm"};
static const char *const checkin_notes[6] = {
    "client demo went well",   "waiting for VPN access", "late train",
    "pairing with their lead", "long day on site",       "quiet day, writing documentation"};
static const char *const blockers[3] = {
    "no access to the test system", "waiting for the client's sign-off", "laptop in for repair"};
static const char *const wins[3] = {"release shipped", "the client praised the team",
                                    "closed the oldest ticket"};
static const char *const to_office[4] = {
    "The VPN drops every afternoon", "Could we move our call to Thursday?",
    "The client asks for a second consultant", "Thanks for the support this week"};
static const char *const to_member[4] = {
    "Thanks for the report from the client", "Great work on the migration",
    "Let us talk about your training plan", "Please log your hours by Friday"};
static const char *const topics[4] = {"wellbeing", "delivery", "development", "other"};
static const char *const contact_notes[5] = {"weekly call", "talked about the workload",
                                             "site visit", "development plan", "after a hard week"};

/* Purposes of the random streams, so that no two share a sequence. */
enum { R_PROFILE = 1, R_DAYS, R_CONTACTS, R_FEEDBACK, R_OFFICE };

static uint64_t
stream(uint64_t seed, uint32_t member, unsigned purpose)
{
    uint64_t s = seed ^ 0x6f75747073747321ull;
    s ^= ((uint64_t)purpose << 56) ^ ((uint64_t)member * 0x9e3779b97f4a7c15ull);
    (void)gen_rand(&s); /* one step mixes the parts */
    return s;
}

/* Uniform in [0, n). */
static uint64_t
below(uint64_t *s, uint64_t n)
{
    return n ? gen_rand(s) % n : 0;
}

/* True with probability p per mille. */
static bool
chance(uint64_t *s, unsigned per_mille)
{
    return gen_rand(s) % 1000 < per_mille;
}

/* What kind of member i is; the same in the office's pass and the member's. */
typedef struct profile {
    unsigned thriving, support, delivering; /* per mille of check-ins answering yes */
    double skill;                           /* KPI performance, 0.6..1.4 */
    int energy_bias;                        /* -1, 0 or +1 */
    uint32_t end_day;                       /* days written: [0, end_day) */
    bool dip;                               /* not thriving in its last three days */
    unsigned checkin_min;                   /* its check-ins: minutes after 07:00 */
    unsigned site;
} profile;

static void
profile_of(uint64_t seed, uint32_t i, uint32_t days, profile *p)
{
    uint64_t s = stream(seed, i, R_PROFILE);
    uint64_t kind = below(&s, 100);
    memset(p, 0, sizeof *p);
    p->thriving = 900;
    p->support = 920;
    p->delivering = 930;
    if (kind < 6) { /* struggling */
        p->thriving = 350;
        p->support = 500;
        p->delivering = 700;
    }
    p->dip = kind >= 6 && kind < 10;
    p->skill = 0.6 + (double)below(&s, 801) / 1000.0;
    p->energy_bias = (int)below(&s, 3) - 1;
    p->end_day = days;
    if (below(&s, 100) < 3) { /* went silent 2..13 days before now */
        uint32_t k = 2 + (uint32_t)below(&s, 12);
        p->end_day = days > k ? days - k : 1;
    }
    p->checkin_min = (unsigned)below(&s, 180);
    p->site = (unsigned)below(&s, 10);
}

/* Member i's name: 400 distinct ones, then numbered. */
static void
name_of(uint32_t i, char *buf, size_t n)
{
    if (i < 400)
        snprintf(buf, n, "%s %s", first_names[i % 20], last_names[(i / 20) % 20]);
    else
        snprintf(buf, n, "%s %s %u", first_names[i % 20], last_names[(i / 20) % 20],
                 (unsigned)(i / 400 + 1));
}

uint64_t
gen_office_first_day(const gen_office_opts *o)
{
    uint64_t today = o->now / GEN_OFFICE_DAY_MS * GEN_OFFICE_DAY_MS;
    uint64_t back = (uint64_t)(o->days ? o->days - 1 : 0) * GEN_OFFICE_DAY_MS;
    return today > back ? today - back : 0;
}

static void
date_of(uint64_t ms, char out[11])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ---- shared by both passes ---- */

typedef struct office_gen {
    const gen_office_opts *o;
    uint64_t start; /* midnight of day 0 */
    uint8_t office[PROTO_KEY_BYTES];
    uint8_t (*keys)[PROTO_KEY_BYTES]; /* members' public keys */
    pthread_mutex_t mu;               /* guards kinds */
    uint64_t kinds[PROTO_KIND_RECEIPT + 1];
    uint64_t base, total; /* progress: entries before this pass, estimate */
} office_gen;

/* An epoch of one author for one set of readers. */
typedef struct epoch {
    uint64_t n, ts; /* number (0: none yet), its key entry's ts */
    uint8_t key[PROTO_EPOCH_KEY_BYTES];
} epoch;

/*
 * Makes sure ep can seal an entry written at ts: a new epoch (number ++*counter) with a key
 * entry sealed to readers[0..n) when there is none or it is older than STORE_EPOCH_MAX_AGE_MS,
 * as store_log_append does.
 */
static op_err
ensure_epoch(gen_run *run, gen_author *a, epoch *ep, uint64_t *counter,
             uint8_t (*readers)[PROTO_KEY_BYTES], size_t n, uint64_t ts, uint64_t kinds[])
{
    proto_sealed sealed[2];
    proto_body kb;
    op_err r;

    assert(n >= 1 && n <= sizeof sealed / sizeof sealed[0]);
    if (ep->n != 0 && ts >= ep->ts && ts - ep->ts <= STORE_EPOCH_MAX_AGE_MS)
        return OP_OK;
    proto_epoch_key_new(ep->key);
    proto_body_init(&kb, PROTO_KIND_KEY);
    kb.epoch = *counter + 1;
    kb.sealed = sealed;
    kb.n_sealed = n;
    for (size_t i = 0; i < n; i++) {
        memcpy(sealed[i].reader, readers[i], PROTO_KEY_BYTES);
        if ((r = proto_seal_epoch_key(readers[i], ep->key, sealed[i].box)) != OP_OK)
            return r;
    }
    if ((r = gen_run_append(run, a, &kb, ts, 0, NULL)) != OP_OK) /* kb is ours: no fini */
        return r;
    ep->n = ++*counter;
    ep->ts = ts;
    kinds[PROTO_KIND_KEY]++;
    return OP_OK;
}

static void
add_kinds(office_gen *g, const uint64_t kinds[])
{
    pthread_mutex_lock(&g->mu);
    for (int k = 0; k <= PROTO_KIND_RECEIPT; k++)
        g->kinds[k] += kinds[k];
    pthread_mutex_unlock(&g->mu);
}

static void
progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    office_gen *g = ctx;
    (void)total;
    if (g->o->progress)
        g->o->progress(g->o->ctx, g->base + done, g->total);
}

/* ---- the office's log ---- */

typedef struct event {
    uint64_t ts;
    uint32_t member; /* member, contact, feedback: whom; kpi_def: which */
    uint8_t kind;
} event;

static int
event_cmp(const void *x, const void *y)
{
    const event *a = x, *b = y;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return a->member < b->member ? -1 : a->member > b->member;
}

typedef struct office_log {
    office_gen *g;
    gen_author a;
    event *ev;
    size_t n_ev, next;
    epoch own;        /* sealed to the office */
    epoch *to;        /* per member: sealed to the office and that member (feedback) */
    uint64_t counter; /* the office's last epoch number */
    uint64_t rng;
    uint64_t kinds[PROTO_KIND_RECEIPT + 1];
} office_log;

static op_err
push_event(event **ev, size_t *n, size_t *cap, uint64_t ts, uint32_t member, uint8_t kind)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4096;
        event *nv = realloc(*ev, ncap * sizeof *nv);
        if (!nv)
            return OP_E_NOMEM;
        *ev = nv;
        *cap = ncap;
    }
    (*ev)[(*n)++] = (event){ts, member, kind};
    return OP_OK;
}

/* Everything the office writes, in time order. */
static op_err
office_events(office_gen *g, event **out, size_t *n_out)
{
    const gen_office_opts *o = g->o;
    event *ev = NULL;
    size_t n = 0, cap = 0;
    op_err r = OP_OK;

    *out = NULL;
    *n_out = 0;
    /* Members are admitted the day before day 0, the KPIs defined in its evening. */
    for (uint32_t i = 0; i < o->members && r == OP_OK; i++)
        r = push_event(&ev, &n, &cap,
                       g->start - 20 * HOUR_MS + (uint64_t)i * (16 * HOUR_MS) / o->members, i,
                       PROTO_KIND_MEMBER);
    for (uint32_t k = 0; k < GEN_OFFICE_KPIS && r == OP_OK; k++)
        r = push_event(&ev, &n, &cap, g->start - 2 * HOUR_MS + k * MIN_MS, k, PROTO_KIND_KPI_DEF);
    for (uint32_t i = 0; i < o->members && r == OP_OK; i++) {
        uint64_t s = stream(o->seed, i, R_CONTACTS);
        for (uint64_t day = below(&s, 14); day < o->days && r == OP_OK; day += 7 + below(&s, 36)) {
            uint64_t ts = g->start + day * GEN_OFFICE_DAY_MS + 9 * HOUR_MS + below(&s, 8 * HOUR_MS);
            if (ts <= o->now)
                r = push_event(&ev, &n, &cap, ts, i, PROTO_KIND_CONTACT);
        }
        s = stream(o->seed, i, R_FEEDBACK);
        for (uint64_t day = 20 + below(&s, 71); day < o->days && r == OP_OK;
             day += 45 + below(&s, 76)) {
            uint64_t ts = g->start + day * GEN_OFFICE_DAY_MS + 9 * HOUR_MS + below(&s, 8 * HOUR_MS);
            if (ts <= o->now)
                r = push_event(&ev, &n, &cap, ts, i, PROTO_KIND_FEEDBACK);
        }
    }
    if (r != OP_OK) {
        free(ev);
        return r;
    }
    qsort(ev, n, sizeof *ev, event_cmp);
    *out = ev;
    *n_out = n;
    return OP_OK;
}

static op_err
office_entry(office_log *L, gen_run *run, const event *e)
{
    office_gen *g = L->g;
    uint8_t readers[2][PROTO_KEY_BYTES];
    char name[PROTO_NAME_MAX_BYTES + 1];
    proto_body b;
    op_err r;

    memcpy(readers[0], g->office, PROTO_KEY_BYTES);
    switch (e->kind) {
    case PROTO_KIND_MEMBER: {
        profile p;
        profile_of(g->o->seed, e->member, g->o->days, &p);
        name_of(e->member, name, sizeof name);
        proto_body_init(&b, PROTO_KIND_MEMBER);
        memcpy(b.key, g->keys[e->member], PROTO_KEY_BYTES);
        b.has_key = true;
        b.name = name; /* borrowed: b is not fini'd */
        b.site = (char *)sites[p.site];
        b.role = (char *)"worker";
        if ((r = gen_run_append(run, &L->a, &b, e->ts, 0, NULL)) != OP_OK)
            return r;
        break;
    }
    case PROTO_KIND_KPI_DEF: {
        const struct kpi_spec *k = &kpi_specs[e->member];
        if ((r = ensure_epoch(run, &L->a, &L->own, &L->counter, readers, 1, e->ts, L->kinds)) !=
            OP_OK)
            return r;
        proto_body_init(&b, PROTO_KIND_KPI_DEF);
        b.id = (char *)gen_office_kpi_ids[e->member];
        b.title = (char *)k->title;
        b.unit = (char *)k->unit;
        b.direction = (char *)k->direction;
        b.period = (char *)k->period;
        b.aggregate = (char *)k->aggregate;
        b.target = k->target;
        if ((r = gen_run_append(run, &L->a, &b, e->ts, L->own.n, L->own.key)) != OP_OK)
            return r;
        break;
    }
    case PROTO_KIND_CONTACT: {
        uint64_t x = gen_rand(&L->rng);
        if ((r = ensure_epoch(run, &L->a, &L->own, &L->counter, readers, 1, e->ts, L->kinds)) !=
            OP_OK)
            return r;
        proto_body_init(&b, PROTO_KIND_CONTACT);
        memcpy(b.who, g->keys[e->member], PROTO_KEY_BYTES);
        b.has_who = true;
        b.topic = (char *)topics[x % 4];
        if ((x >> 8) % 10 < 7)
            b.note = (char *)contact_notes[(x >> 16) % 5];
        if ((r = gen_run_append(run, &L->a, &b, e->ts, L->own.n, L->own.key)) != OP_OK)
            return r;
        break;
    }
    case PROTO_KIND_FEEDBACK: {
        uint64_t x = gen_rand(&L->rng);
        epoch *ep = &L->to[e->member];
        memcpy(readers[1], g->keys[e->member], PROTO_KEY_BYTES);
        if ((r = ensure_epoch(run, &L->a, ep, &L->counter, readers, 2, e->ts, L->kinds)) != OP_OK)
            return r;
        proto_body_init(&b, PROTO_KIND_FEEDBACK);
        memcpy(b.who, g->keys[e->member], PROTO_KEY_BYTES);
        b.has_who = true;
        b.text = (char *)to_member[x % 4];
        if ((r = gen_run_append(run, &L->a, &b, e->ts, ep->n, ep->key)) != OP_OK)
            return r;
        break;
    }
    default:
        return OP_E_INVAL;
    }
    L->kinds[e->kind]++;
    return OP_OK;
}

static op_err
office_begin(void *ctx, uint32_t log, void *state)
{
    (void)ctx;
    (void)state;
    return log == 0 ? OP_OK : OP_E_INVAL; /* the office's state is set up by the caller */
}

static op_err
office_next(void *ctx, void *state, gen_run *run, bool *last)
{
    office_log *L = ctx;
    op_err r;
    (void)state;

    *last = true;
    if ((r = gen_run_reset(run, OFFICE_RUN)) != OP_OK)
        return r;
    /* Each event writes at most two entries (a key entry and its own). */
    while (L->next < L->n_ev && run->n + 2 <= OFFICE_RUN)
        if ((r = office_entry(L, run, &L->ev[L->next++])) != OP_OK)
            return r;
    /* The office's own entries are filed as received when written (store_log_append). */
    if (run->n > 0)
        run->received = L->ev[L->next - 1].ts;
    *last = L->next == L->n_ev;
    return OP_OK;
}

static void
office_end(void *ctx, void *state)
{
    (void)ctx;
    (void)state;
}

/* ---- the members' logs ---- */

typedef struct member_log {
    office_gen *g;
    gen_author a;
    profile p;
    uint32_t day; /* next day to write */
    uint64_t next_feedback;
    double backlog;
    epoch ep;
    uint64_t counter;
    uint64_t rng;
    uint64_t kinds[PROTO_KIND_RECEIPT + 1];
} member_log;

static op_err
member_begin(void *ctx, uint32_t log, void *state)
{
    office_gen *g = ctx;
    member_log *m = state;
    memset(m, 0, sizeof *m);
    m->g = g;
    gen_author_init(&m->a, g->o->seed, log, g->office);
    profile_of(g->o->seed, log, g->o->days, &m->p);
    m->rng = stream(g->o->seed, log, R_DAYS);
    m->next_feedback = 10 + below(&m->rng, 31);
    m->backlog = (double)below(&m->rng, 12);
    return OP_OK;
}

/* Appends an encrypted entry of the member, in a new epoch if the current one is too old. */
static op_err
member_put(member_log *m, gen_run *run, const proto_body *b, uint64_t ts)
{
    uint8_t readers[2][PROTO_KEY_BYTES]; /* the member and the office (SPEC §6) */
    op_err r;

    memcpy(readers[0], m->a.pk, PROTO_KEY_BYTES);
    memcpy(readers[1], m->g->office, PROTO_KEY_BYTES);
    if ((r = ensure_epoch(run, &m->a, &m->ep, &m->counter, readers, 2, ts, m->kinds)) != OP_OK ||
        (r = gen_run_append(run, &m->a, b, ts, m->ep.n, m->ep.key)) != OP_OK)
        return r;
    m->kinds[b->kind]++;
    return OP_OK;
}

static double
clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* One day of member m's entries, up to now; *last_ts gets the last one's ts. */
static op_err
member_day(member_log *m, gen_run *run, uint64_t *last_ts)
{
    const gen_office_opts *o = m->g->o;
    const profile *p = &m->p;
    uint64_t day0 = m->g->start + (uint64_t)m->day * GEN_OFFICE_DAY_MS;
    char at[11];
    proto_body b;
    op_err r;

    date_of(day0, at);
    /* The check-in, in the morning. */
    uint64_t ts = day0 + 7 * HOUR_MS + (p->checkin_min + below(&m->rng, 21)) * MIN_MS;
    if (ts > o->now)
        return OP_OK;
    uint64_t x = gen_rand(&m->rng);
    bool dipping = p->dip && m->day + 3 >= p->end_day;
    proto_body_init(&b, PROTO_KIND_CHECKIN);
    b.delivering = x % 1000 < p->delivering ? PROTO_YES : PROTO_NO;
    b.thriving = !dipping && (x >> 10) % 1000 < p->thriving ? PROTO_YES : PROTO_NO;
    b.support = (x >> 20) % 1000 < p->support ? PROTO_YES : PROTO_NO;
    int energy = 3 + p->energy_bias + (int)((x >> 30) % 3) - 1 - (b.thriving == PROTO_NO);
    b.energy = (unsigned)(energy < 1 ? 1 : energy > 5 ? 5 : energy);
    if ((x >> 34) % 100 < 15)
        b.note = (char *)checkin_notes[(x >> 40) % 6]; /* borrowed: b is not fini'd */
    if ((x >> 44) % 100 < 6)
        b.blockers = (char *)blockers[(x >> 50) % 3];
    if ((x >> 52) % 100 < 10)
        b.wins = (char *)wins[(x >> 58) % 3];
    b.site = (char *)sites[p->site];
    if ((r = member_put(m, run, &b, ts)) != OP_OK)
        return r;
    *last_ts = ts;

    /* Feedback to the office now and then, at lunch. */
    if (m->day == m->next_feedback) {
        ts = day0 + 12 * HOUR_MS + below(&m->rng, 60) * MIN_MS;
        if (ts > o->now)
            return OP_OK;
        proto_body_init(&b, PROTO_KIND_FEEDBACK);
        memcpy(b.who, m->g->office, PROTO_KEY_BYTES);
        b.has_who = true;
        b.text = (char *)to_office[below(&m->rng, 4)];
        if ((r = member_put(m, run, &b, ts)) != OP_OK)
            return r;
        *last_ts = ts;
        m->next_feedback += 10 + below(&m->rng, 31);
    }

    /* KPI values in the afternoon: tickets (sometimes in two parts), reply-hours on nine days
     * in ten, the backlog's level. */
    double values[4];
    unsigned which[4], n = 0;
    double noise = (double)below(&m->rng, 7) - 3.0;
    values[n] = clamp((double)(long)(p->skill * 6.0 + noise + 0.5), 0, 30);
    which[n++] = 0;
    if (chance(&m->rng, 100)) {
        values[n] = (double)below(&m->rng, 4);
        which[n++] = 0;
    }
    if (chance(&m->rng, 900)) {
        double h = 4.5 / p->skill + ((double)below(&m->rng, 31) - 15.0) / 10.0;
        values[n] = clamp((double)(long)(h * 10.0 + 0.5) / 10.0, 0.5, 24);
        which[n++] = 1;
    }
    m->backlog =
        clamp(m->backlog + (double)below(&m->rng, 7) - 3.0 + (p->skill < 0.9 ? 0.4 : 0), 0, 40);
    values[n] = (double)(long)m->backlog;
    which[n++] = 2;
    ts = day0 + 16 * HOUR_MS + below(&m->rng, 60) * MIN_MS;
    for (unsigned k = 0; k < n; k++) {
        ts += (1 + below(&m->rng, 5)) * MIN_MS;
        if (ts > o->now)
            return OP_OK;
        proto_body_init(&b, PROTO_KIND_KPI_VALUE);
        b.id = (char *)gen_office_kpi_ids[which[k]];
        b.value = values[k];
        b.at = at;
        if ((r = member_put(m, run, &b, ts)) != OP_OK)
            return r;
        *last_ts = ts;
    }
    return OP_OK;
}

static op_err
member_next(void *ctx, void *state, gen_run *run, bool *last)
{
    member_log *m = state;
    const gen_office_opts *o = m->g->o;
    uint64_t last_ts = 0;
    op_err r;
    (void)ctx;

    *last = true;
    if ((r = gen_run_reset(run, (size_t)o->sync_days * MEMBER_DAY_MAX)) != OP_OK)
        return r;
    for (uint32_t k = 0; k < o->sync_days && m->day < m->p.end_day; k++, m->day++)
        if ((r = member_day(m, run, &last_ts)) != OP_OK)
            return r;
    if (run->n > 0) { /* the run reaches the office a while after its last entry */
        uint64_t delay = 2 * MIN_MS + below(&m->rng, 6 * HOUR_MS);
        run->received = last_ts + delay < o->now ? last_ts + delay : o->now;
    }
    *last = m->day >= m->p.end_day;
    return OP_OK;
}

static void
member_end(void *ctx, void *state)
{
    member_log *m = state;
    (void)ctx;
    if (m->g)
        add_kinds(m->g, m->kinds);
    gen_author_fini(&m->a);
    sodium_memzero(m, sizeof *m);
}

/* ---- gen_office_fill ---- */

/* The office's log must be what `outpost init --office` wrote: its head at seq 1, no one
 * else's log. Its head's hash goes to *head. */
static op_err
check_fresh(store_db *db, const uint8_t office[PROTO_KEY_BYTES], uint8_t head[PROTO_HASH_BYTES])
{
    store_head *have = NULL;
    store_run run = {0};
    size_t n = 0;
    op_err r;

    if ((r = store_log_have(db, &have, &n)) != OP_OK)
        return r;
    bool fresh = n == 1 && memcmp(have[0].author, office, PROTO_KEY_BYTES) == 0 && have[0].seq == 1;
    free(have);
    if (!fresh)
        return OP_E_EXISTS;
    if ((r = store_log_read(db, office, 1, 1, &run)) != OP_OK)
        return r;
    if (run.n != 1)
        r = OP_E_CORRUPT;
    else
        proto_hash(run.items[0].env, run.items[0].env_len, head);
    store_run_free(&run);
    return r;
}

op_err
gen_office_fill(store_db *db, store_reader *rd, const store_identity *office,
                const gen_office_opts *o, gen_office_stats *out)
{
    office_gen g;
    office_log L;
    gen_stats st;
    uint8_t sk[PROTO_SECRET_BYTES];
    bool mu = false;
    op_err r;

    memset(out, 0, sizeof *out);
    memset(&g, 0, sizeof g);
    memset(&L, 0, sizeof L);
    if (o->members == 0 || o->members > GEN_OFFICE_MEMBERS_MAX || o->days == 0 ||
        o->days > GEN_OFFICE_DAYS_MAX || o->sync_days == 0 ||
        o->sync_days > GEN_OFFICE_SYNC_DAYS_MAX || o->threads < 1 || o->threads > 16 ||
        o->now / GEN_OFFICE_DAY_MS < (uint64_t)o->days + 2)
        return OP_E_INVAL;
    g.o = o;
    g.start = gen_office_first_day(o);
    memcpy(g.office, office->pk, PROTO_KEY_BYTES);
    if ((r = check_fresh(db, office->pk, L.a.head)) != OP_OK)
        return r;
    if (!(g.keys = malloc((size_t)o->members * sizeof *g.keys)) ||
        !(L.to = calloc(o->members, sizeof *L.to))) {
        r = OP_E_NOMEM;
        goto out;
    }
    pthread_mutex_init(&g.mu, NULL);
    mu = true;
    for (uint32_t i = 0; i < o->members; i++)
        gen_author_key(o->seed, i, g.keys[i], sk);
    sodium_memzero(sk, sizeof sk);
    if ((r = office_events(&g, &L.ev, &L.n_ev)) != OP_OK)
        goto out;

    /* Progress: the office's entries, then about 4.1 entries per member and day written. */
    uint64_t est = L.n_ev + L.n_ev / 8;
    for (uint32_t i = 0; i < o->members; i++) {
        profile p;
        profile_of(o->seed, i, o->days, &p);
        est += (uint64_t)p.end_day * 41 / 10;
        out->silent += p.end_day < o->days;
    }
    g.total = est;

    /* 1. The office's log, continuing after init's member entry. */
    L.g = &g;
    memcpy(L.a.pk, office->pk, PROTO_KEY_BYTES);
    memcpy(L.a.sk, office->sk, PROTO_SECRET_BYTES);
    L.a.seq = 1;
    L.rng = stream(o->seed, 0, R_OFFICE);
    gen_source osrc = {
        .logs = 1, .begin = office_begin, .next = office_next, .end = office_end, .ctx = &L};
    gen_pipe_opts po = {.threads = 1, .now = o->now, .progress = progress_cb, .ctx = &g};
    r = gen_pipeline(db, rd, &osrc, &po, &st, NULL);
    out->office_seconds = st.seconds;
    out->office_entries = st.entries;
    if (r != OP_OK)
        goto out;
    add_kinds(&g, L.kinds);
    out->entries = st.entries;
    out->runs = st.runs;
    out->env_bytes = st.env_bytes;
    out->body_bytes = st.body_bytes;

    /* 2. The members' logs. */
    g.base = st.entries;
    gen_source msrc = {.logs = o->members,
                       .state_bytes = sizeof(member_log),
                       .begin = member_begin,
                       .next = member_next,
                       .end = member_end,
                       .ctx = &g};
    po.threads = o->threads;
    r = gen_pipeline(db, rd, &msrc, &po, &st, NULL);
    out->entries += st.entries;
    out->runs += st.runs;
    out->env_bytes += st.env_bytes;
    out->body_bytes += st.body_bytes;
    out->seconds = out->office_seconds + st.seconds;
    memcpy(out->kinds, g.kinds, sizeof out->kinds);
out:
    sodium_memzero(&L.a, sizeof L.a);
    if (L.to)
        sodium_memzero(L.to, (size_t)o->members * sizeof *L.to);
    sodium_memzero(&L.own, sizeof L.own);
    free(L.to);
    free(L.ev);
    free(g.keys);
    if (mu)
        pthread_mutex_destroy(&g.mu);
    return r;
}
