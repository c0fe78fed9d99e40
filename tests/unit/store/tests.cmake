# store/ unit tests: one cmocka executable per source file (STYLE §7).
foreach(file db keyfile log reader verify member view erase have)
  op_unit_test(store ${file})
endforeach()
# store/keyfile.c under failing system calls: write, fsync, link and fstat wrapped at link time.
op_unit_test(store keyfile_fault)
target_link_options(store_keyfile_fault_test PRIVATE
  -Wl,--wrap=write,--wrap=fsync,--wrap=link,--wrap=fstat)
