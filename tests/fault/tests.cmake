# Fault tests (TESTING §A). A1: kill -9 during local writes, 200 kill points per CI run
# (CRASH_KILLS=2000 for the gate); SEED re-runs a failure.
add_executable(crash_writer tests/fault/crash_writer.c)
target_link_libraries(crash_writer PRIVATE op_store)
add_test(NAME fault.crash_kill9
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/fault/crash_test.py $<TARGET_FILE:crash_writer>)
set_tests_properties(fault.crash_kill9 PROPERTIES TIMEOUT 300)

# A3 simulated power loss and A4 I/O errors, through the VFS shim (tests/fault/README.md).
add_executable(store_fault tests/fault/store_fault.c tests/fault/vfs_fault.c
               tests/fault/fault_util.c)
target_link_libraries(store_fault PRIVATE op_store)
add_test(NAME fault.power_loss COMMAND store_fault crash)
add_test(NAME fault.power_loss_exit COMMAND store_fault crash-exit)
add_test(NAME fault.ioerr COMMAND store_fault ioerr)
set_tests_properties(fault.power_loss fault.power_loss_exit fault.ioerr PROPERTIES TIMEOUT 600)

# A5 out of memory at the Nth allocation: SQLite through SQLITE_CONFIG_MALLOC, our static
# libraries' malloc/calloc/realloc/strdup/sodium_malloc and msgpack_unpack_next through
# link-time wraps (tests/fault/alloc_fault.c says why).
# One allocation counter for the three A5 programs (tests/fault/alloc_counter.h).
set(OP_ALLOC_WRAPS -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup
    -Wl,--wrap=sodium_malloc,--wrap=msgpack_unpack_next)
add_executable(alloc_fault tests/fault/alloc_fault.c tests/fault/alloc_counter.c
               tests/fault/fault_util.c)
target_link_libraries(alloc_fault PRIVATE op_agent)
target_link_options(alloc_fault PRIVATE ${OP_ALLOC_WRAPS})
add_test(NAME fault.oom COMMAND alloc_fault)
set_tests_properties(fault.oom PROPERTIES TIMEOUT 600)

# A full disk for real: a worker on a 4 MiB tmpfs (root only; exit 77 = skipped otherwise).
find_program(OP_FAULT_PYTHON3 python3)
if(OP_FAULT_PYTHON3 AND TARGET outpost AND TARGET outpostd AND TARGET outpost-bench)
  add_test(NAME fault.disk_full
           COMMAND ${OP_FAULT_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fault/test_diskfull.py)
  set_tests_properties(fault.disk_full PROPERTIES
    ENVIRONMENT "OUTPOST_BIN=$<TARGET_FILE:outpost>;OUTPOSTD_BIN=$<TARGET_FILE:outpostd>;OUTPOST_BENCH_BIN=$<TARGET_FILE:outpost-bench>;PYTHONDONTWRITEBYTECODE=1"
    SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()

# A6 crash during erasure and key rotation: power loss at every sync x 3 modes, and kill -9
# (tests/fault/README.md; ERASE_CRASH_POINTS / ERASE_KILLS for the gate).
add_executable(erase_fault tests/fault/erase_fault.c tests/fault/vfs_fault.c
               tests/fault/fault_util.c)
target_link_libraries(erase_fault PRIVATE op_store)
add_test(NAME fault.erase_power_loss COMMAND erase_fault crash)
add_test(NAME fault.erase_kill9 COMMAND erase_fault kill9)
set_tests_properties(fault.erase_power_loss fault.erase_kill9 PROPERTIES TIMEOUT 600)

# The agent (node.c, conn.c) when libuv, the store's bookkeeping or an allocation fails, and
# against a scripted peer that misbehaves; link-time wraps inject the faults and move the
# agent's clock (tests/fault/agent_fault.c says which).
add_executable(agent_fault tests/fault/agent_fault.c)
target_link_libraries(agent_fault PRIVATE op_agent PkgConfig::CMOCKA)
target_link_options(agent_fault PRIVATE
  -Wl,--wrap=uv_write,--wrap=uv_accept,--wrap=uv_read_start,--wrap=uv_tcp_connect
  -Wl,--wrap=uv_getaddrinfo,--wrap=uv_now,--wrap=store_db_stmt,--wrap=calloc,--wrap=malloc,--wrap=agent_log)
add_test(NAME fault.agent COMMAND agent_fault)
set_tests_properties(fault.agent PROPERTIES TIMEOUT 300)

# A5 through the agent's event loop: two agent nodes over TCP on 127.0.0.1, libuv's
# allocations too (uv_replace_allocator); see tests/fault/alloc_fault_loop.c.
add_executable(alloc_fault_loop tests/fault/alloc_fault_loop.c tests/fault/alloc_counter.c
               tests/fault/fault_util.c)
target_link_libraries(alloc_fault_loop PRIVATE op_agent)
target_link_options(alloc_fault_loop PRIVATE ${OP_ALLOC_WRAPS})
add_test(NAME fault.oom_loop COMMAND alloc_fault_loop)
set_tests_properties(fault.oom_loop PROPERTIES TIMEOUT 1200)

# A4/A5 for every store operation (erase, reindex, verify, joining, admission, forks, reads...),
# not only append and ingest: tests/fault/ops_fault.c.
add_executable(ops_fault tests/fault/ops_fault.c tests/fault/alloc_counter.c
               tests/fault/vfs_fault.c tests/fault/fault_util.c)
target_link_libraries(ops_fault PRIVATE op_store)
target_link_options(ops_fault PRIVATE ${OP_ALLOC_WRAPS})
add_test(NAME fault.ops_oom COMMAND ops_fault oom)
add_test(NAME fault.ops_ioerr COMMAND ops_fault ioerr)
set_tests_properties(fault.ops_oom fault.ops_ioerr PROPERTIES TIMEOUT 600)
