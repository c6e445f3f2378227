dsv4_add_test(dsv4_engine_tests
  LABELS model
  SOURCES test_engine_invariance.cpp test_engine_api.cpp
  LIBS dsv4_runtime)

# Long-running property test; the sanitizer run skips the `soak` label.
dsv4_add_test(dsv4_engine_soak_tests
  LABELS soak
  SOURCES test_engine_soak.cpp
  LIBS dsv4_runtime)
