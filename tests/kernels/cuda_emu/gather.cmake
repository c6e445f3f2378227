# The row gather and fill of kernels/cuda/gather.cuh, run through the host emulation against kernels/ref.
dsv4_add_test(dsv4_cuda_emu_gather_tests
  LABELS kernels
  SOURCES cuda_emu/test_gather_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
