# CUDA is built when nvcc is found (DSV4_CUDA=AUTO) or forced ON/OFF.
# Architectures are explicit: 90a (Hopper, wgmma) by default.
set(DSV4_CUDA "AUTO" CACHE STRING "Build CUDA sources: AUTO, ON or OFF")
set(DSV4_CUDA_ARCHS "90a" CACHE STRING "CUDA architectures (CMAKE_CUDA_ARCHITECTURES form)")
set(DSV4_HAVE_CUDA OFF)
if(NOT DSV4_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_ARCHITECTURES ${DSV4_CUDA_ARCHS})
    enable_language(CUDA)
    # CMake 3.25 does not know nvcc 13's C++20 dialect, and without an explicit CUDA
    # standard it would demand the CXX one (20) for .cu files: CUDA sources are C++17.
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(DSV4_HAVE_CUDA ON)
  elseif(DSV4_CUDA STREQUAL "ON")
    message(FATAL_ERROR "DSV4_CUDA=ON but no CUDA compiler was found")
  endif()
endif()
message(STATUS "dsv4: CUDA build ${DSV4_HAVE_CUDA}")
