dsv4_add_test(dsv4_cuda_emu_kv_row_tests
  LABELS kernels
  SOURCES cuda_emu/test_kv_row_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
