# The emulator's recording of launches (what CUDA graphs are to the GPU backend).
dsv4_add_test(dsv4_cuda_emu_recording_tests
  LABELS kernels
  SOURCES cuda_emu/test_emu_recording.cpp
  LIBS dsv4_cuda_emu)
