# Fault tests (TESTING §A). A1: kill -9 during local writes, 200 kill points per CI run
# (CRASH_KILLS=2000 for the gate); SEED re-runs a failure.
add_executable(crash_writer tests/fault/crash_writer.c)
target_link_libraries(crash_writer PRIVATE op_store)
add_test(NAME fault.crash_kill9
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/fault/crash_test.py $<TARGET_FILE:crash_writer>)
set_tests_properties(fault.crash_kill9 PROPERTIES TIMEOUT 300)
