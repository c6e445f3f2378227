# The KV row codecs of kernels/cuda/kv_row.cuh on rows scattered in a pool (the *_at launchers).
dsv4_add_test(dsv4_cuda_emu_kv_row_at_tests
  LABELS kernels
  SOURCES cuda_emu/test_kv_row_at_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
