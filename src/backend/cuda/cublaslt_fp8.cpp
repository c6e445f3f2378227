// cuBLASLt's block-scaled FP8 matmul (see cublaslt_fp8.h). Built only where CUDA is.
//
// The call, in cuBLASLt's column-major terms (layout facts in kernels/include/dsv4k/fp8_lt.h):
//   D (n x m, ld ldd, fp32) = alpha · [A_scale ⊙ op(A)] · [B_scale ⊙ op(B)], beta = 0
//   A = W  as k x n, ld k, e4m3, TRANSA = T, A_SCALE_MODE = BLK128x128_32F
//   B = xq as k x m, ld k, e4m3, TRANSB = N, B_SCALE_MODE = VEC128_32F
// with compute type 32F and scale type 32F (both required for FP8).
//
// Numerics: D is fp32 and the backend rounds it to bf16 itself (kernels/cuda/fp8_lt.h), because
// the cuBLAS documentation does not state how an FP8 matmul rounds a bf16 D, while the rest of
// the model rounds with dsv4k::round_bf16 (nearest even) and the SIMT path must stay
// interchangeable. FAST_ACCUM stays off, so the kernels promote partial sums to fp32 instead of
// accumulating the whole k in the tensor cores' reduced-precision adder.
//
// Batch invariance (DESIGN.md §4: a row's result must not depend on the rows beside it): split-K
// and stream-K style algorithms sum k in an order that depends on the grid, and the grid depends
// on m, so the heuristic is restricted to algorithms without a cross-block reduction
// (CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK = NONE). Only a GPU run can confirm that the
// remaining algorithms accumulate each output in the same order whatever m is
// (tests/gpu/test_cublaslt_fp8_gpu.cpp checks it).
#include "backend/cuda/cublaslt_fp8.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "backend/cuda/cuda_runtime.h"

namespace dsv4::cuda {
namespace {

// cuBLAS recommends 32 MiB of workspace on Hopper; allocated once per backend.
constexpr size_t kWorkspaceBytes = size_t{32} << 20;
// The plan cache is cleared when it grows past this many shapes (distinct m values of long
// prefills); replanning costs one heuristic query per shape.
constexpr size_t kMaxPlans = 4096;
// Every operand is at least 16-byte aligned (lt_fp8_shape_refusal checks it); telling the
// heuristic so keeps it from picking an algorithm that assumes the default 256.
constexpr uint32_t kMinAlignment = 16;

std::string lt_error(cublasStatus_t s) {
  return std::string(cublasLtGetStatusName(s)) + " (" + cublasLtGetStatusString(s) + ")";
}

Status lt_status(cublasStatus_t s, const std::string& what) {
  if (s == CUBLAS_STATUS_SUCCESS) return Status::ok();
  const std::string m = what + ": " + lt_error(s);
  return s == CUBLAS_STATUS_ALLOC_FAILED ? resource_exhausted(m) : internal_error(m);
}

void destroy_handle(void* h) { (void)cublasLtDestroy(static_cast<cublasLtHandle_t>(h)); }
void destroy_desc(void* d) { (void)cublasLtMatmulDescDestroy(static_cast<cublasLtMatmulDesc_t>(d)); }
void destroy_layout(void* l) { (void)cublasLtMatrixLayoutDestroy(static_cast<cublasLtMatrixLayout_t>(l)); }
void destroy_pref(void* p) { (void)cublasLtMatmulPreferenceDestroy(static_cast<cublasLtMatmulPreference_t>(p)); }

template <typename T>
Status set_desc(void* desc, cublasLtMatmulDescAttributes_t attr, const T& value, const char* name) {
  return lt_status(cublasLtMatmulDescSetAttribute(static_cast<cublasLtMatmulDesc_t>(desc), attr, &value, sizeof(T)),
                   std::string("cublasLtMatmulDescSetAttribute(") + name + ")");
}

template <typename T>
Status set_pref(void* pref, cublasLtMatmulPreferenceAttributes_t attr, const T& value, const char* name) {
  return lt_status(
      cublasLtMatmulPreferenceSetAttribute(static_cast<cublasLtMatmulPreference_t>(pref), attr, &value, sizeof(T)),
      std::string("cublasLtMatmulPreferenceSetAttribute(") + name + ")");
}

Result<UniqueHandle> make_layout(cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld) {
  cublasLtMatrixLayout_t l = nullptr;
  DSV4_RETURN_IF_ERROR(lt_status(
      cublasLtMatrixLayoutCreate(&l, type, static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), ld),
      "cublasLtMatrixLayoutCreate"));
  return UniqueHandle(l, destroy_layout);
}

std::string shape_text(const LtFp8Problem& p) {
  return "m " + std::to_string(p.m) + ", n " + std::to_string(p.n) + ", k " + std::to_string(p.k) + ", ldd " +
         std::to_string(p.ldd);
}

// Descriptors and the chosen algorithm of one shape; `refused` non-empty when there is none.
struct Plan {
  UniqueHandle desc, a, b, d;
  cublasLtMatmulAlgo_t algo{};
  std::string refused;
};

class CublasLtFp8Gemm final : public LtFp8Gemm {
 public:
  CublasLtFp8Gemm(UniqueHandle handle, UniqueHandle pref, PoolBuffer workspace)
      : handle_(std::move(handle)), pref_(std::move(pref)), workspace_(std::move(workspace)) {}

  Result<std::string> refusal(const LtFp8Problem& p) override {
    std::string why = lt_fp8_shape_refusal(p);
    if (!why.empty()) return why;
    Result<Plan*> plan = plan_for(p);
    if (!plan.is_ok()) return plan.status();
    return (*plan)->refused;
  }

  Status run(const LtFp8Problem& p, void* stream) override {
    const std::string why = lt_fp8_shape_refusal(p);
    if (!why.empty()) return invalid_argument("cuBLASLt FP8 GEMM (" + shape_text(p) + "): " + why);
    Result<Plan*> planned = plan_for(p);
    DSV4_RETURN_IF_ERROR(planned.status());
    Plan& plan = **planned;
    if (!plan.refused.empty()) return unavailable("cuBLASLt FP8 GEMM (" + shape_text(p) + "): " + plan.refused);
    DSV4_RETURN_IF_ERROR(set_scale_pointers(plan, p));
    const float alpha = 1.0f, beta = 0.0f;
    return lt_status(cublasLtMatmul(static_cast<cublasLtHandle_t>(handle_.get()),
                                    static_cast<cublasLtMatmulDesc_t>(plan.desc.get()), &alpha, p.w,
                                    layout(plan.a), p.xq, layout(plan.b), &beta, p.d, layout(plan.d), p.d,
                                    layout(plan.d), &plan.algo, workspace_.get(), kWorkspaceBytes,
                                    static_cast<cudaStream_t>(stream)),
                     "cublasLtMatmul (" + shape_text(p) + ")");
  }

 private:
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t>;  // m, n, k, ldd

  static cublasLtMatrixLayout_t layout(const UniqueHandle& h) { return static_cast<cublasLtMatrixLayout_t>(h.get()); }

  // The scale pointers live in the descriptor, so they are set again for every call.
  static Status set_scale_pointers(Plan& plan, const LtFp8Problem& p) {
    DSV4_RETURN_IF_ERROR(set_desc(plan.desc.get(), CUBLASLT_MATMUL_DESC_A_SCALE_POINTER,
                                  static_cast<const void*>(p.w_scale), "A_SCALE_POINTER"));
    return set_desc(plan.desc.get(), CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, static_cast<const void*>(p.x_scale),
                    "B_SCALE_POINTER");
  }

  Result<Plan*> plan_for(const LtFp8Problem& p) {
    const Key key{p.m, p.n, p.k, p.ldd};
    auto it = plans_.find(key);
    if (it != plans_.end()) return &it->second;
    if (plans_.size() >= kMaxPlans) plans_.clear();
    Plan plan;
    DSV4_RETURN_IF_ERROR(make_plan(p, &plan).with_context("planning cuBLASLt FP8 GEMM (" + shape_text(p) + ")"));
    return &plans_.emplace(key, std::move(plan)).first->second;
  }

  Status make_plan(const LtFp8Problem& p, Plan* plan) {
    cublasLtMatmulDesc_t desc = nullptr;
    DSV4_RETURN_IF_ERROR(
        lt_status(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate"));
    plan->desc = UniqueHandle(desc, destroy_desc);
    const cublasOperation_t op_t = CUBLAS_OP_T, op_n = CUBLAS_OP_N;
    const int32_t a_mode = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F;  // W: one scale per 128x128 tile
    const int32_t b_mode = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;      // xq: one per row per 128 of k
    const int8_t fast_accum = 0;
    DSV4_RETURN_IF_ERROR(set_desc(desc, CUBLASLT_MATMUL_DESC_TRANSA, op_t, "TRANSA"));
    DSV4_RETURN_IF_ERROR(set_desc(desc, CUBLASLT_MATMUL_DESC_TRANSB, op_n, "TRANSB"));
    DSV4_RETURN_IF_ERROR(set_desc(desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, a_mode, "A_SCALE_MODE"));
    DSV4_RETURN_IF_ERROR(set_desc(desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, b_mode, "B_SCALE_MODE"));
    DSV4_RETURN_IF_ERROR(set_desc(desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, fast_accum, "FAST_ACCUM"));
    DSV4_RETURN_IF_ERROR(set_scale_pointers(*plan, p));

    Result<UniqueHandle> a = make_layout(CUDA_R_8F_E4M3, p.k, p.n, p.k);
    DSV4_RETURN_IF_ERROR(a.status());
    plan->a = std::move(a).value();
    Result<UniqueHandle> b = make_layout(CUDA_R_8F_E4M3, p.k, p.m, p.k);
    DSV4_RETURN_IF_ERROR(b.status());
    plan->b = std::move(b).value();
    Result<UniqueHandle> d = make_layout(CUDA_R_32F, p.n, p.m, p.ldd);
    DSV4_RETURN_IF_ERROR(d.status());
    plan->d = std::move(d).value();

    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(
        static_cast<cublasLtHandle_t>(handle_.get()), desc, layout(plan->a), layout(plan->b), layout(plan->d),
        layout(plan->d), static_cast<cublasLtMatmulPreference_t>(pref_.get()), 1, &result, &found);
    // No algorithm is an answer, not an error: the shape goes to the SIMT kernel.
    if (s != CUBLAS_STATUS_SUCCESS || found == 0 || result.state != CUBLAS_STATUS_SUCCESS)
      plan->refused = "cuBLASLt has no block-scaled FP8 algorithm for it: " +
                      lt_error(s != CUBLAS_STATUS_SUCCESS ? s : result.state);
    else
      plan->algo = result.algo;
    return Status::ok();
  }

  UniqueHandle handle_;  // cublasLtHandle_t
  UniqueHandle pref_;    // cublasLtMatmulPreference_t shared by every shape
  PoolBuffer workspace_;
  std::map<Key, Plan> plans_;
};

// Compute capability of the current device (the runtime made it current).
Status device_capability(int* major, int* minor) {
  int dev = 0;
  DSV4_RETURN_IF_ERROR(status_of(cudaGetDevice(&dev), "cudaGetDevice"));
  DSV4_RETURN_IF_ERROR(status_of(cudaDeviceGetAttribute(major, cudaDevAttrComputeCapabilityMajor, dev),
                                 "cudaDeviceGetAttribute(major)"));
  return status_of(cudaDeviceGetAttribute(minor, cudaDevAttrComputeCapabilityMinor, dev),
                   "cudaDeviceGetAttribute(minor)");
}

}  // namespace

Result<std::unique_ptr<LtFp8Gemm>> make_cublaslt_fp8_gemm(DeviceRuntime& rt) {
  int major = 0, minor = 0;
  DSV4_RETURN_IF_ERROR(device_capability(&major, &minor));
  if (major != 9 || minor != 0)
    return unavailable("cuBLASLt's 1x128 / 128x128 block-scaled FP8 matmul needs compute capability 9.0; " +
                       rt.name() + " has " + std::to_string(major) + "." + std::to_string(minor));
  const size_t version = cublasLtGetVersion();
  if (version < 120900)
    return unavailable("cuBLASLt " + std::to_string(version) + " predates block-scaled FP8 (12.9 / 120900)");

  cublasLtHandle_t h = nullptr;
  DSV4_RETURN_IF_ERROR(lt_status(cublasLtCreate(&h), "cublasLtCreate"));
  UniqueHandle handle(h, destroy_handle);
  cublasLtMatmulPreference_t p = nullptr;
  DSV4_RETURN_IF_ERROR(lt_status(cublasLtMatmulPreferenceCreate(&p), "cublasLtMatmulPreferenceCreate"));
  UniqueHandle pref(p, destroy_pref);
  const uint64_t ws_bytes = kWorkspaceBytes;
  const uint32_t no_reduction = CUBLASLT_REDUCTION_SCHEME_NONE;
  DSV4_RETURN_IF_ERROR(set_pref(p, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, ws_bytes, "MAX_WORKSPACE_BYTES"));
  DSV4_RETURN_IF_ERROR(set_pref(p, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, no_reduction, "REDUCTION_SCHEME_MASK"));
  for (const auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                          CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    DSV4_RETURN_IF_ERROR(set_pref(p, attr, kMinAlignment, "MIN_ALIGNMENT"));

  Result<PoolBuffer> ws = allocate_buffer(rt.pool(), kWorkspaceBytes, rt.stream());
  if (!ws.is_ok()) return ws.status().with_context("cuBLASLt workspace");
  std::unique_ptr<LtFp8Gemm> out =
      std::make_unique<CublasLtFp8Gemm>(std::move(handle), std::move(pref), std::move(ws).value());
  return out;
}

}  // namespace dsv4::cuda
