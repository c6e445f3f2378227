# Optimized CPU kernels: portable dispatch and scratch code, plus AVX-512 translation units
# that alone get the ISA flags (chosen at run time by dsv4k::cpu::avx512_kernels_supported,
# so the library still runs, on the references, on CPUs without AVX-512).
# Included from kernels/CMakeLists.txt: paths are relative to kernels/.
target_sources(dsv4_kernels PRIVATE
  cpu/features.cpp
  cpu/scratch.cpp
)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(DSV4K_AVX512_SOURCES
    cpu/avx512/act_pack.cpp
    cpu/avx512/gemm_bf16.cpp
    cpu/avx512/gemm_f32.cpp
    cpu/avx512/gemm_fp4.cpp
    cpu/avx512/gemm_fp8.cpp
    cpu/avx512/indexer_scores.cpp
    cpu/avx512/kv_row.cpp
    cpu/avx512/quantize.cpp
    cpu/avx512/rmsnorm.cpp
    cpu/avx512/sparse_attention.cpp
  )
  target_sources(dsv4_kernels PRIVATE ${DSV4K_AVX512_SOURCES})
  # AVX512-FP16 is not required (Zen 4 has AVX-512 BF16 but not FP16) and not used.
  set_source_files_properties(${DSV4K_AVX512_SOURCES} PROPERTIES COMPILE_OPTIONS
    "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vbmi;-mavx512bf16;-mfma;-mf16c")
  target_compile_definitions(dsv4_kernels PUBLIC DSV4K_HAVE_AVX512_KERNELS=1)
endif()
