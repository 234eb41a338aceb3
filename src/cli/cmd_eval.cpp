// angelslim eval ppl|mc ...
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/model_options.h"
#include "eval/mc.h"
#include "eval/ppl.h"

namespace as::cli::cmd_eval {
namespace {

struct PplOpts {
  ModelOptions m;
  std::string data;
  PplOptions p;
  bool json = false;
};
struct McOpts {
  ModelOptions m;
  std::string data;
  McOptions mc;
  bool json = false;
};

const Register reg_eval({"eval", "Evaluate a model: perplexity (ppl) or multiple-choice accuracy (mc)",
                    [](CLI::App& sub, const GlobalOptions&) {
                      sub.require_subcommand(1);
                      auto po = std::make_shared<PplOpts>();
                      auto* ppl = sub.add_subcommand("ppl", "Perplexity on a text file");
                      po->m.add_to(*ppl);
                      ppl->add_option("--data", po->data, "Text file")->required()->check(CLI::ExistingFile);
                      ppl->add_option("--protocol", po->p.protocol, "paragraphs | stream")
                          ->check(CLI::IsMember({"paragraphs", "stream"}))->capture_default_str();
                      ppl->add_option("--max-paragraphs", po->p.max_paragraphs, "paragraphs: first N (-1 = all)");
                      ppl->add_option("--ctx", po->p.ctx, "stream: window length")->capture_default_str();
                      ppl->add_option("--stride", po->p.stride, "stream: window stride")->capture_default_str();
                      ppl->add_option("--max-tokens", po->p.max_tokens, "stream: tokens read (-1 = all)");
                      ppl->add_flag("--json", po->json, "Print one JSON object");

                      auto mo = std::make_shared<McOpts>();
                      auto* mc = sub.add_subcommand("mc", "Multiple-choice log-likelihood accuracy");
                      mo->m.add_to(*mc);
                      mc->add_option("--task", mo->mc.task, "Task name")->required();
                      mc->add_option("--data", mo->data, "Dataset file")->required()->check(CLI::ExistingFile);
                      mc->add_option("--limit", mo->mc.limit, "First N examples (-1 = all)");
                      mc->add_flag("--json", mo->json, "Print one JSON object");

                      return [&sub, ppl, mc, po, mo]() -> int {
                        if (ppl->parsed()) {
                          po->p.progress = !po->json;
                          auto model = po->m.load();
                          auto r = eval_perplexity(*model, po->data, po->p);
                          nlohmann::json j{{"nll", r.nll}, {"ppl", r.ppl}, {"tokens", r.tokens},
                                           {"sequences", r.sequences}, {"seconds", r.seconds},
                                           {"protocol", po->p.protocol}};
                          if (po->json) print_json(j.dump());
                          else std::printf("ppl %.4f  nll %.4f  tokens %lld  (%.2f s)\n", r.ppl, r.nll,
                                           (long long)r.tokens, r.seconds);
                          return 0;
                        }
                        (void)sub;
                        mo->mc.progress = !mo->json;
                        auto model = mo->m.load();
                        auto r = eval_multiple_choice(*model, mo->data, mo->mc);
                        nlohmann::json j{{"task", mo->mc.task}, {"acc", r.acc}, {"acc_norm", r.acc_norm},
                                         {"n", r.n}, {"seconds", r.seconds}};
                        if (mo->json) print_json(j.dump());
                        else std::printf("%s: acc %.4f  acc_norm %.4f  n %lld  (%.2f s)\n", mo->mc.task.c_str(), r.acc,
                                         r.acc_norm, (long long)r.n, r.seconds);
                        return 0;
                      };
                    }});

}  // namespace
}  // namespace as::cli::cmd_eval
