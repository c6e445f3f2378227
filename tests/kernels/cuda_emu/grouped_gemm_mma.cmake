# The tensor-core grouped FP4 GEMM (grouped_gemm_mma.cuh) on the host emulation, whose
# emulated mma.sync checks the fragment layout: bit-identical to the SIMT grouped kernel,
# within the fp32 bound of kernels/ref.
dsv4_add_test(dsv4_cuda_emu_grouped_gemm_mma_tests
  LABELS kernels
  SOURCES cuda_emu/test_grouped_gemm_mma_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
# The choice between the experts' SIMT and MMA cores (grouped_gemm.cu) on the emulated API.
dsv4_add_test(dsv4_cuda_emu_grouped_gemm_core_tests
  LABELS kernels
  SOURCES cuda_emu/test_grouped_gemm_core_emu.cpp
  LIBS dsv4_cuda_kernels_emu dsv4_kernels)
