# Test tiers (STYLE §14): each test binary is one CTest entry; SERVERS wraps it in
# tests/with_servers.sh, which starts private redis-server / rabbitmq-server processes on free
# loopback ports with throwaway data directories and stops them afterwards.
find_package(GTest REQUIRED)

function(add_lambda_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;SERVERS;LIBS;LABELS;INCLUDES" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  # A component's own tests see its private sources; nothing else does.
  target_include_directories(${name} PRIVATE ${T_INCLUDES})
  target_link_libraries(${name} PRIVATE GTest::gtest GTest::gmock GTest::gtest_main ${T_LIBS}
                                        lambda_warnings lambda_sanitizers)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  if(T_SERVERS)
    add_test(NAME ${name}
             COMMAND ${PROJECT_SOURCE_DIR}/tests/with_servers.sh ${T_SERVERS} -- $<TARGET_FILE:${name}>)
  else()
    add_test(NAME ${name} COMMAND ${name})
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}"
    ENVIRONMENT "LAMBDA_SHIM_BIN=$<TARGET_FILE:api-shim>;LAMBDA_WORKER_BIN=$<TARGET_FILE:worker>;LAMBDA_CTL_BIN=$<TARGET_FILE:lambdactl>;LAMBDA_SOURCE_DIR=${PROJECT_SOURCE_DIR};ASAN_OPTIONS=detect_leaks=1:abort_on_error=0;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endfunction()
