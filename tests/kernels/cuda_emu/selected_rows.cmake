# The selected-row kernels of kernels/cuda/selected_rows.cuh, run through the host emulation against kernels/ref.
dsv4_add_test(dsv4_cuda_emu_selected_rows_tests
  LABELS kernels
  SOURCES cuda_emu/test_selected_rows_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)
