#include "quant/calib_data.h"

#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/log.h"
#include "common/text.h"

namespace as {

std::vector<std::string> read_calibration_documents(const CalibDataOptions& o) {
  std::ifstream in(o.path);
  if (!in) throw Error(o.path + ": cannot open calibration dataset");
  std::vector<std::string> docs;
  std::string line;
  int64_t lineno = 0;
  if (o.format == "text_paragraphs") {
    std::string cur;
    while (std::getline(in, line)) {
      if (strip(line).empty()) {
        if (!strip(cur).empty()) docs.push_back(strip(cur));
        cur.clear();
      } else {
        cur += (cur.empty() ? "" : "\n") + line;
      }
    }
    if (!strip(cur).empty()) docs.push_back(strip(cur));
  } else if (o.format == "jsonl_text" || o.format == "jsonl_messages") {
    while (std::getline(in, line)) {
      ++lineno;
      if (strip(line).empty()) continue;
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw Error(o.path + ":" + std::to_string(lineno) + ": invalid JSON: " + e.what());
      }
      const std::string where = o.path + ":" + std::to_string(lineno);
      if (o.format == "jsonl_text") {
        if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
          throw Error(where + ": expected an object with a string \"text\"");
        docs.push_back(j["text"].get<std::string>());
      } else {
        if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array())
          throw Error(where + ": expected an object with a \"messages\" list");
        // A neutral chat rendering ("role: content" lines); the model's own template is not applied.
        std::string doc;
        for (auto& m : j["messages"]) {
          if (!m.is_object() || !m.contains("content") || !m["content"].is_string())
            throw Error(where + ": each message needs a string \"content\"");
          std::string role = m.contains("role") && m["role"].is_string() ? m["role"].get<std::string>() : "user";
          doc += role + ": " + m["content"].get<std::string>() + "\n";
        }
        docs.push_back(doc);
      }
    }
  } else {
    throw Error("dataset.format '" + o.format + "' is not supported (text_paragraphs, jsonl_text, jsonl_messages)");
  }
  if (o.skip > 0) {
    if (o.skip >= static_cast<int64_t>(docs.size()))
      throw Error(o.path + ": dataset.skip = " + std::to_string(o.skip) + " leaves no documents (file has " +
                  std::to_string(docs.size()) + ")");
    docs.erase(docs.begin(), docs.begin() + o.skip);
  }
  if (docs.empty()) throw Error(o.path + ": no documents in the calibration dataset");
  return docs;
}

torch::Tensor build_calibration_batch(const CalibDataOptions& o, const Tokenizer& tok) {
  if (o.num_samples <= 0 || o.seq_len <= 1) throw Error("dataset: num_samples must be > 0 and seq_len > 1");
  auto docs = read_calibration_documents(o);
  // deterministic Fisher-Yates with xorshift64*, so the same seed gives the same batch everywhere
  uint64_t st = o.seed * 0x9E3779B97F4A7C15ull + 0x853C49E6748FEA9Bull;
  auto next = [&]() {
    st ^= st >> 12;
    st ^= st << 25;
    st ^= st >> 27;
    return st * 0x2545F4914F6CDD1Dull;
  };
  for (size_t i = docs.size(); i > 1; --i) std::swap(docs[i - 1], docs[next() % i]);
  const int64_t want = o.num_samples * o.seq_len;
  std::vector<int64_t> stream;
  stream.reserve(static_cast<size_t>(want));
  for (auto& d : docs) {
    if (tok.bos_id() >= 0 && tok.add_bos()) stream.push_back(tok.bos_id());
    for (int32_t id : tok.encode(d)) stream.push_back(id);
    if (static_cast<int64_t>(stream.size()) >= want) break;
  }
  int64_t n = std::min<int64_t>(o.num_samples, static_cast<int64_t>(stream.size()) / o.seq_len);
  if (n == 0)
    throw Error(o.path + ": the calibration text has only " + std::to_string(stream.size()) +
                " tokens, fewer than one sample of seq_len " + std::to_string(o.seq_len));
  if (n < o.num_samples)
    log_warn("calibration: the dataset gives " + std::to_string(n) + " samples of " + std::to_string(o.seq_len) +
             " tokens, fewer than num_samples = " + std::to_string(o.num_samples));
  return torch::from_blob(stream.data(), {n, o.seq_len}, torch::kLong).clone();
}

}  // namespace as
