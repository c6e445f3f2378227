# The elementwise family of kernels/cuda, run through the host emulation against kernels/ref.
dsv4_add_test(dsv4_cuda_emu_elementwise_tests
  LABELS kernels
  SOURCES cuda_emu/test_elementwise_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
