op_unit_test(agent session)
op_unit_test(agent link)
op_unit_test(agent node)
