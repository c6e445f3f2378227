#include "model/model_loader.h"

namespace dsv4 {
namespace {

class CheckpointLookup final : public TensorLookup {
 public:
  explicit CheckpointLookup(const Checkpoint& c) : c_(c) {}
  const TensorView* find(const std::string& name) const override { return c_.find(name); }
  std::vector<std::string> names() const override { return c_.names(); }

 private:
  const Checkpoint& c_;
};

}  // namespace

Result<std::unique_ptr<LoadedModel>> load_model(const std::string& directory, const ModelLoadOptions& options) {
  auto m = std::make_unique<LoadedModel>();
  m->directory = directory;
  DSV4_ASSIGN_OR_RETURN(m->config, load_model_config(directory));
  Result<Checkpoint> ckpt = Checkpoint::open(directory);
  if (!ckpt.is_ok()) return ckpt.status();
  m->checkpoint = std::move(ckpt).value();
  m->tensors = std::make_shared<CheckpointLookup>(m->checkpoint);  // m is not moved: the reference stays valid
  Result<std::unique_ptr<ModelWeights>> w = bind_model_weights(m->config, *m->tensors);
  if (!w.is_ok()) return w.status().with_context(directory);
  m->weights = std::move(w).value();
  if (options.prefault) {
    PrefaultOptions po;
    po.n_threads = options.n_threads;
    DSV4_RETURN_IF_ERROR(prefault_checkpoint(m->checkpoint, po, options.progress));
  }
  return m;
}

}  // namespace dsv4
