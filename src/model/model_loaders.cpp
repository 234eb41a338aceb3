#include "model/model_loaders.h"

#include <mutex>
#include <vector>

namespace as {
namespace {

std::mutex& loaders_mutex() {
  static std::mutex m;
  return m;
}
std::vector<ModelLoader>& loaders() {
  static std::vector<ModelLoader> v;
  return v;
}

}  // namespace

void register_model_loader(ModelLoader loader) {
  std::lock_guard<std::mutex> lock(loaders_mutex());
  for (auto& l : loaders()) {
    if (l.name == loader.name) {
      l = std::move(loader);
      return;
    }
  }
  loaders().push_back(std::move(loader));
}

std::unique_ptr<Model> load_with_registered_loader(const std::string& path, const LoadOptions& opts,
                                                   const std::string& tokenizer_path) {
  std::vector<ModelLoader> snapshot;
  {
    std::lock_guard<std::mutex> lock(loaders_mutex());
    snapshot = loaders();
  }
  for (const auto& l : snapshot)
    if (l.accepts && l.accepts(path)) return l.load(path, opts, tokenizer_path);
  return nullptr;
}

}  // namespace as
