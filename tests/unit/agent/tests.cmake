op_unit_test(agent session)
op_unit_test(agent link)
op_unit_test(agent node)
# outpostd's main(): environment defaults, the open-file limit, --quiet and the progress line.
find_program(OP_AGENT_PYTHON3 python3)
if(OP_AGENT_PYTHON3 AND TARGET outpost AND TARGET outpostd)
  add_test(NAME unit.agent.main
           COMMAND ${OP_AGENT_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/unit/agent/main_test.py)
  set_tests_properties(unit.agent.main PROPERTIES
    ENVIRONMENT "OUTPOST_BIN=$<TARGET_FILE:outpost>;OUTPOSTD_BIN=$<TARGET_FILE:outpostd>;PYTHONDONTWRITEBYTECODE=1"
    TIMEOUT 120)
endif()
