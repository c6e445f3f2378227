# The sampler (logits -> token, with penalties, truncation, logprobs and a per-sequence
# counter-based RNG) and the streaming stop-string matcher. Included from
# src/runtime/CMakeLists.txt.
target_sources(dsv4_runtime PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/sampler.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sampler_kernels.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sampler_logprobs.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sampler_params.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sampler_rng.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sampler_state.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sampler_truncation.cpp
  ${CMAKE_CURRENT_LIST_DIR}/stop_matcher.cpp
)
# No fused multiply-add contraction: the SIMD and scalar paths of the sampler's exponential
# must round identically, whatever -march a build adds (see sampler_kernels.cpp).
set_source_files_properties(
  ${CMAKE_CURRENT_LIST_DIR}/sampler_kernels.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sampler_truncation.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sampler_logprobs.cpp
  PROPERTIES COMPILE_OPTIONS -ffp-contract=off)
# The 64-byte vector helpers never cross a library boundary, so GCC's note that their
# by-value ABI differs with and without AVX-512 does not apply.
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/sampler_kernels.cpp APPEND PROPERTY COMPILE_OPTIONS -Wno-psabi)
