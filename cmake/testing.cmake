# Test tiers (STYLE §14). Every gtest case is its own CTest entry (gtest_discover_tests) and runs
# in its own process, so order dependence shows. SERVERS makes the binary's cases a CTest
# fixture: `<name>.servers_up` runs tests/with_servers.sh --up (private redis-server /
# rabbitmq-server / libvirtd on free loopback ports with throwaway data directories), each case
# runs through `with_servers.sh --in` against them, one at a time (RESOURCE_LOCK: cases kill and
# restart their servers), and `<name>.servers_down` stops them by pid.
find_package(GTest REQUIRED)
include(GoogleTest)

function(add_lambda_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;SERVERS;LIBS;LABELS;INCLUDES;SERVER_ENV" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  # A component's own tests see its private sources; nothing else does.
  target_include_directories(${name} PRIVATE ${T_INCLUDES})
  target_link_libraries(${name} PRIVATE GTest::gtest GTest::gmock GTest::gtest_main ${T_LIBS}
                                        lambda_warnings lambda_sanitizers)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set(state ${CMAKE_BINARY_DIR}/test-servers/${name})
  # The binaries under test, for every case (sourced by with_servers.sh --in; a file, because
  # list-valued ENVIRONMENT does not survive gtest_discover_tests' PROPERTIES).
  file(GENERATE OUTPUT ${state}.build-env CONTENT
"export LAMBDA_SHIM_BIN=$<TARGET_FILE:api-shim> LAMBDA_WORKER_BIN=$<TARGET_FILE:worker>
export LAMBDA_CTL_BIN=$<TARGET_FILE:lambdactl> LAMBDA_SOURCE_DIR=${PROJECT_SOURCE_DIR}
export LAMBDA_ARTIFACTS_DIR=${CMAKE_BINARY_DIR}/artifacts
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
")
  set_target_properties(${name} PROPERTIES CROSSCOMPILING_EMULATOR
    "${PROJECT_SOURCE_DIR}/tests/with_servers.sh;--in;${state};--")
  set(props LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
  if(T_SERVERS)
    add_test(NAME ${name}.servers_up
             COMMAND ${PROJECT_SOURCE_DIR}/tests/with_servers.sh --up ${state} ${T_SERVERS})
    set_tests_properties(${name}.servers_up PROPERTIES FIXTURES_SETUP ${name}_servers
                         LABELS "${T_LABELS}" TIMEOUT 600 ENVIRONMENT "${T_SERVER_ENV}")
    add_test(NAME ${name}.servers_down
             COMMAND ${PROJECT_SOURCE_DIR}/tests/with_servers.sh --down ${state})
    set_tests_properties(${name}.servers_down PROPERTIES FIXTURES_CLEANUP ${name}_servers
                         LABELS "${T_LABELS}" TIMEOUT 300)
    list(APPEND props FIXTURES_REQUIRED ${name}_servers RESOURCE_LOCK ${name})
  endif()
  # A case counts as skipped only when it says so by design: gtest also prints [  SKIPPED ] for
  # every case of a suite whose SetUpTestSuite failed, and that must fail, not pass as a skip.
  list(APPEND props SKIP_REGULAR_EXPRESSION "skipped by design:")
  gtest_discover_tests(${name} TEST_PREFIX "${name}." DISCOVERY_TIMEOUT 60 PROPERTIES ${props})
endfunction()
