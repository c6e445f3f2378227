# The MoE dispatch (moe_dispatch.cuh) and grouped FP4 GEMM (grouped_gemm.cuh) on the host
# emulation against kernels/ref.
dsv4_add_test(dsv4_cuda_emu_moe_dispatch_tests
  LABELS kernels
  SOURCES cuda_emu/test_moe_dispatch_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
