# Tests of the sampler and the stop-string matcher (src/runtime/sampler*, stop_matcher*).
# Included from tests/CMakeLists.txt; paths are relative to this file.
dsv4_add_test(dsv4_sampler_tests
  LABELS unit
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/test_sampler_kernels.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_sampler_rng.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_sampler_params.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_sampler_processing.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_sampler_truncation.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_sampler_statistics.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_sampler_reproducibility.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_stop_matcher.cpp
  LIBS dsv4_runtime)
