# The SIMT CUDA kernels compiled as host C++ against the emulation (kernels/cuda/emu) and
# compared with kernels/ref on random inputs and odd sizes; runs in every CI run, GPU or not.
dsv4_add_test(dsv4_cuda_emu_tests
  LABELS kernels
  SOURCES cuda_emu/test_cuda_emu.cpp
  LIBS dsv4_cuda_emu dsv4_kernels)

# One fragment per op family (cuda_emu/<family>.cmake), each adding its own test executable.
file(GLOB DSV4_CUDA_EMU_FRAGMENTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cuda_emu/*.cmake)
list(SORT DSV4_CUDA_EMU_FRAGMENTS)
foreach(fragment ${DSV4_CUDA_EMU_FRAGMENTS})
  include(${fragment})
endforeach()
