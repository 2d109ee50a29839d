# Warnings live on an INTERFACE target linked only by our own code, never in global flags.
add_library(lambda_warnings INTERFACE)
target_compile_options(lambda_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
if(LAMBDA_WERROR)
  target_compile_options(lambda_warnings INTERFACE -Werror)
endif()
