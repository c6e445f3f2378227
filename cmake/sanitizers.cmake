# DSV4_SANITIZE=ON builds the C++ code with AddressSanitizer + UndefinedBehaviorSanitizer.
# UBSan findings abort (no recovery) so that CI fails on the first one. CUDA sources are
# not instrumented (nvcc does not take these flags); scripts/setup.sh --sanitize builds
# without CUDA.
if(DSV4_SANITIZE)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-sanitize-recover=all>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>)
  add_link_options(-fsanitize=address,undefined)
endif()
