# The CUDA sampler on the host emulation against the engine's CPU sampler (its reference).
dsv4_add_test(dsv4_cuda_emu_sampling_tests
  LABELS kernels
  SOURCES cuda_emu/test_sampling_emu.cpp
  LIBS dsv4_cuda_emu dsv4_runtime)
