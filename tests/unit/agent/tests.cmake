op_unit_test(agent session)
