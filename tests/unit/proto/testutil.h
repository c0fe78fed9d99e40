/*
 * testutil.h — shared by the proto/ unit tests: cmocka includes and an assertion that prints
 * error codes by name. Header-only (macros and static inline), so each test stays one
 * executable per source file.
 */
#ifndef OUTPOST_TESTS_UNIT_PROTO_TESTUTIL_H
#define OUTPOST_TESTS_UNIT_PROTO_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/err.h"

/* Evaluates expr once and fails with both codes named when it is not want. */
#define assert_err(expr, want)                                                                     \
    do {                                                                                           \
        op_err got_ = (expr), want_ = (want);                                                      \
        if (got_ != want_)                                                                         \
            fail_msg("%s:%d: %s gave %s (%d), want %s (%d)", __FILE__, __LINE__, #expr,           \
                     op_errname(got_), (int)got_, op_errname(want_), (int)want_);                  \
    } while (0)

/* Same, with a loop index in the message (truncation and bit-flip loops). */
#define assert_err_at(expr, want, i)                                                               \
    do {                                                                                           \
        op_err got_ = (expr), want_ = (want);                                                      \
        if (got_ != want_)                                                                         \
            fail_msg("%s:%d: at %zu: %s gave %s (%d), want %s (%d)", __FILE__, __LINE__,          \
                     (size_t)(i), #expr, op_errname(got_), (int)got_, op_errname(want_),          \
                     (int)want_);                                                                  \
    } while (0)

#define assert_ok(expr) assert_err(expr, OP_OK)

#endif
