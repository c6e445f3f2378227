# The steps around cuBLASLt's block-scaled FP8 GEMM (kernels/cuda/fp8_lt.cuh) on the host
# emulation against kernels/ref, and the cuBLASLt operand layouts against ref::gemm_fp8_q.
dsv4_add_test(dsv4_cuda_emu_fp8_lt_tests
  LABELS kernels
  SOURCES cuda_emu/test_fp8_lt_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
