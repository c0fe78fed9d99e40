# Unit tests of proto/: one cmocka executable per source file (STYLE §7).
op_unit_test(proto err)
op_unit_test(proto buf)
op_unit_test(proto mp)
op_unit_test(proto entry)
op_unit_test(proto body)
op_unit_test(proto seal)
op_unit_test(proto hs)
op_unit_test(proto frame)
