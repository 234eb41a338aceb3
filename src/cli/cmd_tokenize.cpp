// angelslim tokenize --tokenizer PATH (--text T | --input FILE.jsonl) [--json]
#include <nlohmann/json.hpp>

#include <fstream>

#include "cli/command.h"
#include "common/error.h"
#include "io/tokenizer/tokenizer.h"

namespace as::cli::cmd_tokenize {
namespace {

struct Opts {
  std::string tokenizer, text, input;
  bool has_text = false;
  bool decode = false;
  bool json = true;
};

int run(const Opts& o) {
  auto tok = load_tokenizer(o.tokenizer);
  if (!o.input.empty()) {
    std::ifstream in(o.input);
    if (!in) throw Error(o.input + ": cannot open");
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw Error(o.input + ":" + std::to_string(n) + ": invalid JSON: " + e.what());
      }
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
        throw Error(o.input + ":" + std::to_string(n) + ": expected an object with a string \"text\"");
      auto ids = tok->encode(j["text"].get<std::string>());
      print_json(nlohmann::json{{"ids", ids}}.dump());
    }
    return 0;
  }
  if (!o.has_text) throw Error("tokenize: give --text or --input");
  auto ids = tok->encode(o.text);
  nlohmann::json j{{"ids", ids}};
  if (o.decode) j["decoded"] = tok->decode(ids);
  print_json(j.dump());
  return 0;
}

const Register reg_tokenize({"tokenize", "Encode text to token ids (no BOS/EOS added)",
                    [](CLI::App& sub, const GlobalOptions&) {
                      auto o = std::make_shared<Opts>();
                      sub.add_option("--tokenizer", o->tokenizer,
                                     "tokenizer.json / tokenizer.model / tokenizer.bin, or a model directory")
                          ->required();
                      auto* t = sub.add_option("--text", o->text, "Text to encode");
                      auto* i = sub.add_option("--input", o->input, "jsonl file of {\"text\": ...} objects");
                      t->excludes(i);
                      sub.add_flag("--decode", o->decode, "Also decode the ids back to text");
                      sub.add_flag("--json", o->json, "Output JSON (always on)");
                      return [o, t] {
                        o->has_text = t->count() > 0;
                        return run(*o);
                      };
                    }});

}  // namespace
}  // namespace as::cli::cmd_tokenize
