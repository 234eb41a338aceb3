// Task registry and readers for the multiple-choice data layouts:
//   query/choices/gold jsonl (ARC, PIQA, OpenBookQA, COPA), Winogrande's context_options jsonl,
//   LAMBADA's context/continuation jsonl, and HellaSwag in llama.cpp's bzip2'd 6-lines-per-task text.
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file.h"
#include "common/text.h"
#include "eval/mc.h"

#ifdef AS_HAVE_BZIP2
#include <bzlib.h>
#endif

namespace as {

namespace {

enum class Layout { QueryChoices, Winogrande, Lambada, Hellaswag };

struct TaskEntry {
  McTaskInfo info;
  Layout layout;
  std::vector<std::string> aliases;
};

const std::vector<TaskEntry>& registry() {
  static const std::vector<TaskEntry> tasks = {
      {{"arc_easy", "arc_easy.jsonl", "\nAnswer:", false}, Layout::QueryChoices, {}},
      {{"arc_challenge", "arc_challenge.jsonl", "\nAnswer:", false}, Layout::QueryChoices, {}},
      {{"piqa", "piqa.jsonl", "\nAnswer:", false}, Layout::QueryChoices, {}},
      {{"openbookqa", "openbook_qa.jsonl", "", false}, Layout::QueryChoices, {"openbook_qa"}},
      {{"copa", "copa.jsonl", "", false}, Layout::QueryChoices, {}},
      {{"winogrande", "winogrande.jsonl", "", false}, Layout::Winogrande, {}},
      {{"hellaswag", "hellaswag_val_full.txt.bz2", "", false}, Layout::Hellaswag, {}},
      {{"lambada", "lambada_openai.jsonl", "", true}, Layout::Lambada, {"lambada_openai"}},
  };
  return tasks;
}

const TaskEntry& find_task(const std::string& name) {
  for (const TaskEntry& t : registry()) {
    if (t.info.name == name) return t;
    for (const std::string& a : t.aliases)
      if (a == name) return t;
  }
  std::string list;
  for (const std::string& n : mc_task_names()) list += (list.empty() ? "" : ", ") + n;
  throw Error("unknown eval task '" + name + "' (tasks: " + list + ")");
}

// ---- bzip2 ----

#ifdef AS_HAVE_BZIP2
std::string bunzip2(const std::string& path) {
  const std::string in = read_file(path);
  std::string out;
  size_t used = 0;
  char buf[1 << 16];
  // A .bz2 file may hold several concatenated streams; decode them one after another.
  while (used < in.size()) {
    bz_stream s{};
    check(BZ2_bzDecompressInit(&s, 0, 0) == BZ_OK, path + ": cannot initialize bzip2 decoder");
    s.next_in = const_cast<char*>(in.data() + used);
    s.avail_in = static_cast<unsigned>(std::min<size_t>(in.size() - used, 1u << 30));
    int rc = BZ_OK;
    while (rc == BZ_OK) {
      s.next_out = buf;
      s.avail_out = sizeof buf;
      rc = BZ2_bzDecompress(&s);
      out.append(buf, sizeof buf - s.avail_out);
      if (rc == BZ_OK && s.avail_in == 0 && s.avail_out != 0) rc = BZ_UNEXPECTED_EOF;
    }
    used += static_cast<size_t>(s.next_in - (in.data() + used));
    BZ2_bzDecompressEnd(&s);
    if (rc != BZ_STREAM_END)
      throw Error(path + ": corrupt or truncated bzip2 data (bzip2 error " + std::to_string(rc) + ")");
  }
  return out;
}
#else
std::string bunzip2(const std::string& path) {
  // Without libbz2 at build time, fall back to the bzip2 program. The path is single-quoted.
  std::string quoted = "'";
  for (char c : path) quoted += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  FILE* f = ::popen(("bzip2 -dc " + quoted + " 2>/dev/null").c_str(), "r");
  check(f != nullptr, path + ": cannot run bzip2 to decompress");
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int st = ::pclose(f);
  check(st == 0, path + ": bzip2 -dc failed (corrupt file, or bzip2 not installed)");
  return out;
}
#endif

std::string read_text(const std::string& path) {
  const bool bz = path.size() > 4 && path.compare(path.size() - 4, 4, ".bz2") == 0;
  return bz ? bunzip2(path) : read_file(path);
}

// Splits into lines (a trailing '\r' is dropped; a final line without '\n' counts).
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t nl = text.find('\n', i);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(i, nl - i);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
    i = nl + 1;
  }
  return out;
}

// ---- jsonl ----

struct JsonlReader {
  std::string path;
  size_t line_no = 0;

  std::string where() const { return path + ":" + std::to_string(line_no); }

  const nlohmann::json& field(const nlohmann::json& j, const char* key) const {
    auto it = j.find(key);
    if (it == j.end()) throw Error(where() + ": missing field '" + key + "'");
    return *it;
  }
  std::string str(const nlohmann::json& j, const char* key) const {
    const auto& v = field(j, key);
    if (!v.is_string()) throw Error(where() + ": field '" + key + "' must be a string");
    return v.get<std::string>();
  }
  std::vector<std::string> str_list(const nlohmann::json& j, const char* key) const {
    const auto& v = field(j, key);
    if (!v.is_array() || v.empty()) throw Error(where() + ": field '" + key + "' must be a non-empty list");
    std::vector<std::string> out;
    for (const auto& e : v) {
      if (!e.is_string()) throw Error(where() + ": field '" + key + "' must hold strings");
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  int64_t gold(const nlohmann::json& j, size_t options) const {
    const auto& v = field(j, "gold");
    if (!v.is_number_integer()) throw Error(where() + ": field 'gold' must be an integer");
    const int64_t g = v.get<int64_t>();
    if (g < 0 || g >= static_cast<int64_t>(options))
      throw Error(where() + ": gold " + std::to_string(g) + " outside [0, " + std::to_string(options) + ")");
    return g;
  }
};

McExample parse_record(const JsonlReader& r, const nlohmann::json& j, const TaskEntry& t) {
  if (!j.is_object()) throw Error(r.where() + ": expected a JSON object");
  McExample ex;
  switch (t.layout) {
    case Layout::QueryChoices: {
      ex.contexts = {strip(r.str(j, "query")) + t.info.delimiter};
      for (const std::string& c : r.str_list(j, "choices")) ex.continuations.push_back(strip(c));
      ex.gold = r.gold(j, ex.continuations.size());
      break;
    }
    case Layout::Winogrande: {
      for (const std::string& c : r.str_list(j, "context_options")) ex.contexts.push_back(strip(c));
      ex.continuations = {strip(r.str(j, "continuation"))};
      ex.gold = r.gold(j, ex.contexts.size());
      break;
    }
    case Layout::Lambada: {
      ex.contexts = {strip(r.str(j, "context"))};
      ex.continuations = {strip(r.str(j, "continuation"))};
      if (ex.continuations[0].empty()) throw Error(r.where() + ": empty 'continuation'");
      ex.gold = 0;
      break;
    }
    case Layout::Hellaswag:
      break;
  }
  return ex;
}

std::vector<McExample> load_jsonl(const std::string& path, const TaskEntry& t, int64_t limit) {
  const std::string text = read_file(path);
  std::vector<McExample> out;
  JsonlReader r{path, 0};
  size_t i = 0;
  while (i < text.size() && (limit < 0 || static_cast<int64_t>(out.size()) < limit)) {
    size_t nl = text.find('\n', i);
    if (nl == std::string::npos) nl = text.size();
    ++r.line_no;
    const std::string line = strip(text.substr(i, nl - i));
    i = nl + 1;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(r.where() + ": malformed JSON (" + e.what() + ")");
    }
    out.push_back(parse_record(r, j, t));
  }
  return out;
}

std::vector<McExample> load_hellaswag(const std::string& path, int64_t limit) {
  std::vector<std::string> lines = lines_of(read_text(path));
  while (!lines.empty() && strip(lines.back()).empty()) lines.pop_back();
  if (lines.size() % 6 != 0)
    throw Error(path + ": " + std::to_string(lines.size()) +
                " lines, not a multiple of 6 (context, gold index, 4 endings per task)");
  std::vector<McExample> out;
  for (size_t k = 0; k + 6 <= lines.size(); k += 6) {
    if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) break;
    McExample ex;
    ex.contexts = {strip(lines[k])};
    const std::string g = strip(lines[k + 1]);
    const std::string where = path + ":" + std::to_string(k + 2);
    if (g.size() != 1 || g[0] < '0' || g[0] > '3')
      throw Error(where + ": gold index must be 0..3 (got '" + g + "')");
    ex.gold = g[0] - '0';
    for (size_t e = 0; e < 4; ++e) ex.continuations.push_back(strip(lines[k + 2 + e]));
    out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace

std::vector<std::string> mc_task_names() {
  std::vector<std::string> out;
  for (const TaskEntry& t : registry()) out.push_back(t.info.name);
  return out;
}

const McTaskInfo& mc_task_info(const std::string& task) { return find_task(task).info; }

std::string mc_task_file(const std::string& task, const std::string& data_path) {
  const TaskEntry& t = find_task(task);
  const std::string file = is_directory(data_path) ? data_path + "/" + t.info.file : data_path;
  check(file_exists(file), t.info.name + ": data file not found: " + file);
  return file;
}

std::vector<McExample> load_mc_examples(const std::string& task, const std::string& data_path, int64_t limit) {
  const TaskEntry& t = find_task(task);
  const std::string file = mc_task_file(task, data_path);
  std::vector<McExample> out =
      t.layout == Layout::Hellaswag ? load_hellaswag(file, limit) : load_jsonl(file, t, limit);
  check(!out.empty() || limit == 0, t.info.name + ": no examples in " + file);
  return out;
}

}  // namespace as
