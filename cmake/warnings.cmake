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
