# Fuzz harnesses (TESTING §D, STYLE §7). Each target tests/fuzz/<t>.c defines
# LLVMFuzzerTestOneInput. Here, in every build (gcc, plain or OP_SANITIZE), replay.c gives it a
# main() and ctest replays its seed corpus and regressions: fuzz.replay.<t>. With -DOP_FUZZ=ON
# (clang only; tools/fuzz.sh does this in its own build dir) the libFuzzer binaries fuzz_<t> are
# built too, with the libraries instrumented and FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
# defined (entry signatures are not checked in that build: see tests/fuzz/README.md).
set(OP_FUZZ_TARGETS mp envelope body msg hs frame frame_cipher invite ingest)
option(OP_FUZZ "build the libFuzzer targets (clang; see tools/fuzz.sh)" OFF)

if(OP_FUZZ)
  foreach(lib op_proto op_store)
    target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link
                                          -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
  endforeach()
endif()

foreach(t ${OP_FUZZ_TARGETS})
  add_executable(fuzz_replay_${t} tests/fuzz/${t}.c tests/fuzz/replay.c)
  target_link_libraries(fuzz_replay_${t} PRIVATE op_store)
  add_test(NAME fuzz.replay.${t}
           COMMAND fuzz_replay_${t} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${t}
                   ${CMAKE_SOURCE_DIR}/tests/fuzz/${t}_regressions)
  if(OP_FUZZ)
    add_executable(fuzz_${t} tests/fuzz/${t}.c)
    target_compile_options(fuzz_${t} PRIVATE -fsanitize=fuzzer
                                             -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${t} PRIVATE op_store)
  endif()
endforeach()

# The seed corpora are made by the real encoders: fuzz_seeds DIR writes DIR/<target>/... (run by
# `tools/fuzz.sh seeds`, which refreshes tests/fuzz/corpus/).
add_executable(fuzz_seeds tests/fuzz/seeds.c)
target_link_libraries(fuzz_seeds PRIVATE op_store)

# The real build checks every signature that the fuzz build skips.
add_executable(fuzz_sigcheck_test tests/fuzz/sigcheck.c)
target_link_libraries(fuzz_sigcheck_test PRIVATE op_store PkgConfig::CMOCKA)
add_test(NAME fuzz.sigcheck COMMAND fuzz_sigcheck_test)

# Every decoder goes through the bounded prescan: msgpack-c's unpacker is called only in mp.c.
add_test(NAME fuzz.one_door COMMAND sh ${CMAKE_SOURCE_DIR}/tests/fuzz/one_door.sh)
