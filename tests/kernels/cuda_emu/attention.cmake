dsv4_add_test(dsv4_cuda_emu_attention_tests
  LABELS kernels
  SOURCES cuda_emu/test_attention_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
