// Whole-model parity with Hugging Face transformers' DeepSeek-V4 (an implementation dsv4
// did not write), on the tiny checkpoint exported by scripts/parity/gen_parity_fixtures.py
// in the official format. See that script for how the fixtures are made.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/standalone_kv_cache.h"
#include "model/model.h"
#include "model/model_loader.h"

namespace dsv4 {
namespace {

const std::string kDir = std::string(DSV4_TEST_DATA_DIR) + "/parity";

constexpr double kExactRelRms = 5e-6;
constexpr double kExactWorstPosition = 2e-5;
constexpr double kReferenceModeMeanKl = 0.05;

template <class T>
std::vector<T> read_array(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  EXPECT_TRUE(in.good()) << "missing fixture " << path;
  const std::streamsize n = in.tellg();
  in.seekg(0);
  std::vector<T> v(static_cast<size_t>(n) / sizeof(T));
  in.read(reinterpret_cast<char*>(v.data()), n);
  return v;
}

struct Diff {
  double max_abs = 0.0;       // max |ours - ref| over all logits
  double rel_rms = 0.0;       // ||ours - ref|| / ||ref||
  double worst_pos_rel = 0.0; // max over positions of max|Δ| / max|ref| at that position
  int64_t worst_pos = -1;
  double top1_agree = 0.0;    // fraction of positions with the same argmax
  double mean_kl = 0.0;       // mean over positions of KL(softmax(ref) || softmax(ours)), nats
};

// log-softmax of one row, in double.
std::vector<double> log_softmax(const float* x, int64_t n) {
  double mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, static_cast<double>(x[i]));
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(x[i] - mx);
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = x[i] - mx - std::log(sum);
  return out;
}

Diff compare(const std::vector<float>& ours, const std::vector<float>& ref, int64_t vocab) {
  Diff d;
  double num = 0.0, den = 0.0;
  int64_t agree = 0;
  const int64_t n = static_cast<int64_t>(ref.size()) / vocab;
  for (int64_t p = 0; p < n; ++p) {
    double pos_max = 0.0, ref_max = 0.0;
    int64_t a1 = 0, a2 = 0;
    for (int64_t v = 0; v < vocab; ++v) {
      const double o = ours[static_cast<size_t>(p * vocab + v)], r = ref[static_cast<size_t>(p * vocab + v)];
      pos_max = std::max(pos_max, std::fabs(o - r));
      ref_max = std::max(ref_max, std::fabs(r));
      num += (o - r) * (o - r);
      den += r * r;
      if (o > ours[static_cast<size_t>(p * vocab + a1)]) a1 = v;
      if (r > ref[static_cast<size_t>(p * vocab + a2)]) a2 = v;
    }
    agree += a1 == a2;
    const std::vector<double> lo = log_softmax(ours.data() + p * vocab, vocab);
    const std::vector<double> lr = log_softmax(ref.data() + p * vocab, vocab);
    for (int64_t v = 0; v < vocab; ++v)
      d.mean_kl += std::exp(lr[static_cast<size_t>(v)]) * (lr[static_cast<size_t>(v)] - lo[static_cast<size_t>(v)]);
    d.max_abs = std::max(d.max_abs, pos_max);
    if (pos_max / ref_max > d.worst_pos_rel) {
      d.worst_pos_rel = pos_max / ref_max;
      d.worst_pos = p;
    }
  }
  d.rel_rms = std::sqrt(num / den);
  d.top1_agree = static_cast<double>(agree) / static_cast<double>(n);
  d.mean_kl /= static_cast<double>(n);
  return d;
}

class Parity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<std::unique_ptr<LoadedModel>> m = load_model(kDir + "/model", {});
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    model_ = std::move(m).value().release();
    std::ifstream in(kDir + "/manifest.json");
    manifest_ = new nlohmann::json(nlohmann::json::parse(in));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete manifest_;
  }

  std::vector<float> run(const std::string& seq, Numerics numerics) {
    auto backend = make_cpu_backend({});
    Model model(model_->config, *model_->weights, *backend, numerics);
    ForwardBatch b;
    b.tokens = read_array<int32_t>(kDir + "/" + seq + ".tokens.i32");
    StandaloneKvCache cache(model_->config, numerics, *backend, 1, static_cast<int64_t>(b.tokens.size()));
    const int32_t slot = cache.add_sequence();
    b.chunks = {{slot, 0, static_cast<int64_t>(b.tokens.size())}};
    b.logits = LogitsMode::kAll;
    ForwardResult r;
    Status st = model.forward(b, cache, &r);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    return r.logits;
  }

  static LoadedModel* model_;
  static nlohmann::json* manifest_;
};
LoadedModel* Parity::model_ = nullptr;
nlohmann::json* Parity::manifest_ = nullptr;

TEST_F(Parity, ExactModeMatchesTransformersAtEveryPosition) {
  for (const auto& s : (*manifest_)["sequences"]) {
    const std::string name = s["name"];
    const std::vector<float> ref = read_array<float>(kDir + "/" + name + ".logits.f32");
    const std::vector<float> ours = run(name, Numerics::exact());
    ASSERT_EQ(ours.size(), ref.size());
    const Diff d = compare(ours, ref, model_->config.vocab_size);
    std::printf("%s exact: max|Δ| %.3e, rel rms %.3e, worst position %lld (rel %.3e), top-1 %.4f\n", name.c_str(),
                d.max_abs, d.rel_rms, static_cast<long long>(d.worst_pos), d.worst_pos_rel, d.top1_agree);
    // Two fp32 implementations differ only in summation order and libm ulps: measured
    // ~1e-6 relative RMS and ~3e-6 worst position. The bounds leave ~5x headroom and sit
    // orders of magnitude below the effect of any single wrong op (a missing YaRN, a
    // transposed mix or a wrongly rotated row moves logits by 1e-3..1e-1 relative; see
    // scripts/parity/mutation_check.py). A failure at one isolated position while every
    // other position agrees points at an indexer near-tie (regenerate the fixtures).
    EXPECT_LE(d.rel_rms, kExactRelRms) << name;
    EXPECT_LE(d.worst_pos_rel, kExactWorstPosition) << name << " at position " << d.worst_pos;
    EXPECT_EQ(d.top1_agree, 1.0) << name;
  }
}

TEST_F(Parity, ReferenceModeIsStatisticallyClose) {
  for (const auto& s : (*manifest_)["sequences"]) {
    const std::string name = s["name"];
    const std::vector<float> ref = read_array<float>(kDir + "/" + name + ".logits.f32");
    Numerics n = Numerics::reference();
    n.simulate_kv_fp8 = false;
    n.simulate_indexer_fp4 = false;
    const Diff d = compare(run(name, n), ref, model_->config.vocab_size);
    std::printf("%s reference numerics: rel rms %.3e, top-1 %.4f, mean KL %.4f\n", name.c_str(), d.rel_rms,
                d.top1_agree, d.mean_kl);
    // FP8 activation quantization before every FP8/FP4 product (3 mantissa bits, ~3.6%
    // RMS per input) compounds over the layers and flips MoE routing in a random model:
    // measured 16% relative RMS, 74-79% top-1, mean KL 0.013 nats against fp32. The bounds
    // leave 2-4x headroom; a wrong op pushes the KL and the disagreement far beyond them.
    EXPECT_LE(d.rel_rms, 0.35) << name;
    EXPECT_GE(d.top1_agree, 0.60) << name;
    EXPECT_LE(d.mean_kl, kReferenceModeMeanKl) << name;
  }
}

// bf16 activations with the reference's rounding points but no activation quantization:
// what bf16 rounding alone costs against fp32 (measured 4.3-4.6% relative RMS, 95-96% top-1).
TEST_F(Parity, Bf16RoundingAloneStaysClose) {
  for (const auto& s : (*manifest_)["sequences"]) {
    const std::string name = s["name"];
    const std::vector<float> ref = read_array<float>(kDir + "/" + name + ".logits.f32");
    Numerics n = Numerics::reference();
    n.quantize_activations = false;
    n.simulate_kv_fp8 = false;
    n.simulate_indexer_fp4 = false;
    const Diff d = compare(run(name, n), ref, model_->config.vocab_size);
    std::printf("%s bf16 rounding: rel rms %.3e, top-1 %.4f, mean KL %.5f\n", name.c_str(), d.rel_rms, d.top1_agree,
                d.mean_kl);
    EXPECT_LE(d.rel_rms, 0.10) << name;
    EXPECT_GE(d.top1_agree, 0.90) << name;
  }
}

// The MTP block against the NumPy implementation of spec §2.7 (scripts/parity/mtp_numpy.py),
// fed the same main-model streams that transformers produced.
TEST_F(Parity, MtpBlockMatchesTheNumpyReference) {
  const int64_t n = (*manifest_)["mtp"]["length"];
  const int64_t hc_d = model_->config.hc_mult * model_->config.hidden_size;
  auto backend = make_cpu_backend({});
  Model model(model_->config, *model_->weights, *backend, Numerics::exact());
  StandaloneKvCache cache(model_->config, Numerics::exact(), *backend, 1, n);
  const int32_t slot = cache.add_sequence();
  MtpBatch b;
  b.next_tokens = read_array<int32_t>(kDir + "/mtp.next_tokens.i32");
  b.hidden = read_array<float>(kDir + "/mtp.hidden.f32");
  ASSERT_EQ(static_cast<int64_t>(b.hidden.size()), n * hc_d);
  b.chunks = {{slot, 0, n}};
  b.logits = LogitsMode::kAll;
  ForwardResult r;
  ASSERT_TRUE(model.forward_mtp(b, cache, &r).is_ok());
  const Diff d = compare(r.logits, read_array<float>(kDir + "/mtp.logits.f32"), model_->config.vocab_size);
  std::printf("mtp exact: max|Δ| %.3e, rel rms %.3e, worst position %lld (rel %.3e), top-1 %.4f\n", d.max_abs,
              d.rel_rms, static_cast<long long>(d.worst_pos), d.worst_pos_rel, d.top1_agree);
  EXPECT_LE(d.rel_rms, kExactRelRms);
  EXPECT_LE(d.worst_pos_rel, kExactWorstPosition) << "at position " << d.worst_pos;
  EXPECT_EQ(d.top1_agree, 1.0);
}

}  // namespace
}  // namespace dsv4
