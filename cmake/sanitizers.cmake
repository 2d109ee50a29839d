add_library(lambda_sanitizers INTERFACE)
if(LAMBDA_SANITIZE)
  target_compile_options(lambda_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(lambda_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
# The tsan preset: ThreadSanitizer over the threads we own (the AMQP I/O thread, libvirt's event
# loop thread, libuv's pool); not combinable with ASan.
if(LAMBDA_TSAN)
  target_compile_options(lambda_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(lambda_sanitizers INTERFACE -fsanitize=thread)
endif()
# The fuzz preset: our code carries libFuzzer's coverage hooks (the targets link the runtime).
if(LAMBDA_FUZZ)
  target_compile_options(lambda_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()
# RapidJSON 1.1's internal stack adds an offset to a null pointer before its first allocation
# (harmless, fixed upstream after 1.1); fuzz/ubsan.supp silences that one line, which needs the
# check to be recoverable. Every other UBSan finding still stops the fuzzer.
if(LAMBDA_FUZZ)
  target_compile_options(lambda_sanitizers INTERFACE -fsanitize-recover=pointer-overflow)
endif()
