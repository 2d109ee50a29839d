add_library(lambda_sanitizers INTERFACE)
if(LAMBDA_SANITIZE)
  target_compile_options(lambda_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(lambda_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
