# tools/ unit tests: the parts of the CLI that are pure code, one cmocka executable per source
# file (STYLE §7), built from the source itself (tools/ is no library).
add_executable(tools_period_test tests/unit/tools/period_test.c tools/period.c)
target_link_libraries(tools_period_test PRIVATE op_proto PkgConfig::CMOCKA)
add_test(NAME unit.tools.period COMMAND tools_period_test)
