# DSV4_SANITIZE=ON builds everything with AddressSanitizer + UndefinedBehaviorSanitizer.
# UBSan findings abort (no recovery) so that CI fails on the first one.
if(DSV4_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
