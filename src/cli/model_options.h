// Options shared by commands that load a model (--model, --tokenizer, --dtype).
#pragma once
#include <memory>
#include <string>

#include "cli/command.h"
#include "model/model.h"

namespace as::cli {

struct ModelOptions {
  std::string model;
  std::string tokenizer;
  std::string dtype = "float32";
  void add_to(CLI::App& sub);
  std::unique_ptr<Model> load() const;
};

}  // namespace as::cli
