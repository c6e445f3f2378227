dsv4_add_test(dsv4_cuda_emu_compressor_tests
  LABELS kernels
  SOURCES cuda_emu/test_compressor_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
