# The optimized CPU kernels against their scalar references (testing ladder rung 1), plus
# their batch-invariance properties. The kernels exist on x86-64 builds only (see
# kernels/cpu/sources.cmake); the tests skip at run time when the CPU lacks their ISA.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  dsv4_add_test(dsv4_fast_kernel_tests
    LABELS kernels
    SOURCES test_fast_gemm.cpp test_fast_gemm_invariance.cpp test_fast_ops.cpp test_fast_random.cpp
    LIBS dsv4_kernels)
endif()
