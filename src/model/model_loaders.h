// Extra model formats for Model::load, registered by higher layers (e.g. GGUF files from export/),
// so model/ does not depend on them. Model::load asks the registered loaders first, in
// registration order; the first whose `accepts` returns true loads the model.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "model/model.h"

namespace as {

struct ModelLoader {
  std::string name;  // "gguf"
  // Cheap check (extension / magic bytes); must not throw for paths it does not handle.
  std::function<bool(const std::string& path)> accepts;
  // Loads the model; `tokenizer_path` overrides the tokenizer found with the weights when non-empty.
  std::function<std::unique_ptr<Model>(const std::string& path, const LoadOptions& opts,
                                       const std::string& tokenizer_path)>
      load;
};

// Adds a loader; a second registration under the same name replaces the first. Thread-safe.
void register_model_loader(ModelLoader loader);
// Loads `path` with the first registered loader that accepts it; nullptr when none does.
std::unique_ptr<Model> load_with_registered_loader(const std::string& path, const LoadOptions& opts,
                                                   const std::string& tokenizer_path);

}  // namespace as
