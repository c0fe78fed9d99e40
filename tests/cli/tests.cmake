# CLI tests: python3 (stdlib only) drives the built `outpost` binary against the SPEC §9
# contract. One ctest test per file, so a failure names its area; shared helpers live in
# tests/cli/clitest.py. Each test case runs in its own temporary directory with OUTPOST_NOW set.
find_program(OP_PYTHON3 python3)
if(NOT OP_PYTHON3)
  message(WARNING "python3 not found: the cli.* tests are not registered")
else()
  foreach(name init checkin kpi report reindex log_status verify badflags member feedback
          office erase)
    add_test(NAME cli.${name}
             COMMAND ${OP_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/cli/test_${name}.py)
    set_tests_properties(cli.${name} PROPERTIES
                         ENVIRONMENT "OUTPOST_BIN=$<TARGET_FILE:outpost>"
                         TIMEOUT 120
                         LABELS cli)
  endforeach()
endif()
