# The SIMT GEMMs (kernels/cuda/gemm.cuh) on the host emulation against kernels/ref.
dsv4_add_test(dsv4_cuda_emu_gemm_tests
  LABELS kernels
  SOURCES cuda_emu/test_gemm_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
