dsv4_add_test(dsv4_cuda_emu_moe_route_tests
  LABELS kernels
  SOURCES cuda_emu/test_moe_route_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
