# Integration tests (TESTING §B, §C; SPEC §6-§9): real outpostd and outpost processes on
# 127.0.0.1, python3 (stdlib only). One ctest test per file; shared helpers in
# tests/integration/net.py (its docstring lists the environment: SEED, INTEG_KEEP, INTEG_KILLS,
# INTEG_LONG, INTEG_SCALE, INTEG_JOIN). A failed test keeps its directory and prints its path
# and SEED; re-run with that SEED.
#
# Long mode (the kill -9 campaign and more fault offsets), e.g.:
#   cmake -DOP_INTEG_KILL9_TIMEOUT=7200 BUILD && INTEG_LONG=1 INTEG_KILLS=2000 SEED=1 \
#     ctest --test-dir BUILD -L integration --output-on-failure
find_program(OP_PYTHON3 python3)
set(OP_INTEG_KILL9_TIMEOUT 900 CACHE STRING "ctest TIMEOUT of integration.kill9 (seconds)")
if(NOT OP_PYTHON3)
  message(WARNING "python3 not found: the integration.* tests are not registered")
elseif(TARGET outpost AND TARGET outpostd AND TARGET outpost-bench)
  # name, then its ctest TIMEOUT in seconds (each runs in well under a tenth of it here)
  set(op_integ_tests
      convergence 120
      relay 120
      strangers 120
      badlinks 300
      kill9 ${OP_INTEG_KILL9_TIMEOUT}
      livepush 120
      sync_once 180
      signals 180
      refusals 120
      bench_office 120
      clockskew 180
      seclink 300
      security_log 300
      outpostd_args 120)
  while(op_integ_tests)
    list(POP_FRONT op_integ_tests name timeout)
    add_test(NAME integration.${name}
             COMMAND ${OP_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/test_${name}.py)
    set_tests_properties(integration.${name} PROPERTIES
                         ENVIRONMENT "OUTPOST_BIN=$<TARGET_FILE:outpost>;OUTPOSTD_BIN=$<TARGET_FILE:outpostd>;OUTPOST_BENCH_BIN=$<TARGET_FILE:outpost-bench>;PYTHONDONTWRITEBYTECODE=1"
                         TIMEOUT ${timeout}
                         LABELS integration)
  endwhile()
endif()
