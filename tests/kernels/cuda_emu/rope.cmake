# The rope family of kernels/cuda, run through the host emulation against kernels/ref.
dsv4_add_test(dsv4_cuda_emu_rope_tests
  LABELS kernels
  SOURCES cuda_emu/test_rope_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
