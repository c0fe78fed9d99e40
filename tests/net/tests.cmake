# Net tests (TESTING "Bad networks on one machine, without netem", B3-B6): real outpostd and
# outpost processes in network namespaces the test builds itself as root (router namespace,
# veth pairs, nftables loss/partitions/flapping, tbf, the seeded TUN impairer tun_impair.py).
# See tests/net/README.md. Label `net`: run them in one build only (they measure the network,
# not the code paths the sanitizer build checks), e.g. `ctest -L net` in the plain build and
# `ctest -LE net` in the sanitizer build. Without root, ip/tc/nft or /dev/net/tun each test
# prints why and exits 77 (SKIP_RETURN_CODE): reported as skipped, never as passed.
#
# Long mode (full-length P2-P4 and 10 seeds of P1; about 1 h 15 min):
#   cmake -DOP_NET_LONG_TIMEOUT=7200 BUILD && NET_LONG=1 SEED=1 ctest --test-dir BUILD -L net -V
find_program(OP_NET_PYTHON3 python3)
set(OP_NET_LONG_TIMEOUT 0 CACHE STRING "ctest TIMEOUT of every net.* test when set (seconds)")
if(OP_NET_PYTHON3 AND TARGET outpost AND TARGET outpostd AND TARGET outpost-bench)
  # name, then its ctest TIMEOUT in seconds (CI mode takes about a quarter of it here)
  set(op_net_tests
      backoff 120
      long_rtt 300
      p1_cellular 900
      p2_narrow 600
      p3_flapping 600
      p4_partitions 600)
  while(op_net_tests)
    list(POP_FRONT op_net_tests name timeout)
    if(OP_NET_LONG_TIMEOUT)
      set(timeout ${OP_NET_LONG_TIMEOUT})
    endif()
    add_test(NAME net.${name}
             COMMAND ${OP_NET_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/net/test_${name}.py)
    set_tests_properties(net.${name} PROPERTIES
                         ENVIRONMENT "OUTPOST_BIN=$<TARGET_FILE:outpost>;OUTPOSTD_BIN=$<TARGET_FILE:outpostd>;OUTPOST_BENCH_BIN=$<TARGET_FILE:outpost-bench>;PYTHONDONTWRITEBYTECODE=1"
                         TIMEOUT ${timeout}
                         SKIP_RETURN_CODE 77
                         LABELS net)
  endwhile()
endif()
