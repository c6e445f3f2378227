// <immintrin.h> for the AVX-512 translation units (internal header).
//
// GCC 12 reports -Wuninitialized / -Wmaybe-uninitialized inside avx512fintrin.h for the
// _mm512_undefined_* placeholders that masked and mixed-width intrinsics start from (a
// false positive: those lanes are never read). The diagnostics are located in the system
// header, so ignoring them around its inclusion silences exactly those and keeps the
// warnings on for our own code.
#pragma once

#if defined(__clang__)
#include <immintrin.h>
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif
