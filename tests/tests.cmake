# Tests (ctest). Unit tests: one cmocka executable per source file (STYLE §7).
function(op_unit_test module file)
  add_executable(${module}_${file}_test tests/unit/${module}/${file}_test.c)
  target_link_libraries(${module}_${file}_test PRIVATE op_agent PkgConfig::CMOCKA)
  add_test(NAME unit.${module}.${file} COMMAND ${module}_${file}_test)
endfunction()

# Each test area registers its own tests, so areas can grow independently.
foreach(area unit/proto unit/store unit/agent unit/tools fault cli integration net fuzz)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/${area}/tests.cmake)
    include(${CMAKE_SOURCE_DIR}/tests/${area}/tests.cmake)
  endif()
endforeach()

add_test(NAME layout.proto_no_io COMMAND sh ${CMAKE_SOURCE_DIR}/tests/layout_test.sh)
