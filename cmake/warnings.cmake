# Warnings live on an INTERFACE target linked only by our own code, never in global flags.
add_library(lambda_warnings INTERFACE)
target_compile_options(lambda_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
if(LAMBDA_WERROR)
  target_compile_options(lambda_warnings INTERFACE -Werror)
endif()
# GCC 12 at -O2/-O3 reports false -Wrestrict errors inside std::string (GCC bug 105651).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(lambda_warnings INTERFACE -Wno-restrict)
endif()
# RapidJSON 1.1 (Debian 12) declares its iterators' operator!= in a way C++20 finds ambiguous
# under clang; the comparison is the plain one.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  target_compile_options(lambda_warnings INTERFACE -Wno-ambiguous-reversed-operator)
endif()
