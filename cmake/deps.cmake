# Every dependency is a Debian package; scripts/deps installs them.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(RABBITMQ REQUIRED IMPORTED_TARGET librabbitmq)
pkg_check_modules(LIBVIRT REQUIRED IMPORTED_TARGET libvirt)
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)  # sd_notify: Type=notify units
find_package(OpenSSL REQUIRED)
find_package(CURL REQUIRED)
find_package(Threads REQUIRED)
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY http_parser REQUIRED)
find_path(RAPIDJSON_INCLUDE_DIR rapidjson/document.h REQUIRED)
add_library(lambda_http_parser INTERFACE)
target_include_directories(lambda_http_parser SYSTEM INTERFACE ${HTTP_PARSER_INCLUDE_DIR})
target_link_libraries(lambda_http_parser INTERFACE ${HTTP_PARSER_LIBRARY})
find_package(yaml-cpp REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
# The servers' allocator. Under callgrind, glibc's malloc and free were over a third of the
# api-shim's instructions per accepted start (tcache holds 7 chunks per size; a request frees
# ~190, so most went through _int_free and malloc_consolidate); with jemalloc the shim runs 24 %
# fewer instructions per start and a worker 12 % fewer per command. The sanitizer and fuzz builds
# keep libc's, which they intercept.
option(LAMBDA_JEMALLOC "Link api-shim and worker with jemalloc" ON)
add_library(lambda_allocator INTERFACE)
if(LAMBDA_JEMALLOC AND NOT LAMBDA_SANITIZE AND NOT LAMBDA_TSAN AND NOT LAMBDA_FUZZ)
  find_library(JEMALLOC_LIBRARY jemalloc REQUIRED)
  target_link_libraries(lambda_allocator INTERFACE ${JEMALLOC_LIBRARY})
endif()
