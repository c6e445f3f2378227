dsv4_add_test(dsv4_engine_tests
  LABELS model
  SOURCES test_engine_invariance.cpp test_engine_api.cpp
  LIBS dsv4_runtime)

# Long-running property test; the sanitizer run skips the `soak` label.
dsv4_add_test(dsv4_engine_soak_tests
  LABELS soak
  SOURCES test_engine_soak.cpp
  LIBS dsv4_runtime)

# The engine on the CUDA backend against the CPU model: over the host emulation in every
# build (label model-emu, with the model-level emulated tests) and on
# a GPU (label gpu, skipping without one) where nvcc is.
dsv4_add_test(dsv4_engine_cuda_emu_tests
  PREFIX "emu."
  LABELS model-emu
  SOURCES test_engine_cuda.cpp ../model/cuda_model_emu.cpp
  LIBS dsv4_runtime dsv4_cuda_backend_emu)
if(TARGET dsv4_cuda_backend)
  dsv4_add_test(dsv4_engine_cuda_gpu_tests
    PREFIX "gpu."
    LABELS gpu
    SOURCES test_engine_cuda.cpp ../model/cuda_model_gpu.cpp
    LIBS dsv4_runtime dsv4_cuda_backend)
endif()
