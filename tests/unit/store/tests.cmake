# store/ unit tests: one cmocka executable per source file (STYLE §7).
foreach(file db keyfile log reader verify member view erase have)
  op_unit_test(store ${file})
endforeach()
