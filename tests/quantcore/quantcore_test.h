// Shared by the quantcore test files: two intra-op threads for every test, and an error check.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "common/error.h"

namespace as::test {

struct TwoTorchThreads : ::testing::Environment {
  void SetUp() override { torch::set_num_threads(2); }
};
// One registration per binary (an inline variable, however many files include this header).
[[maybe_unused]] inline const auto* kTwoTorchThreads = ::testing::AddGlobalTestEnvironment(new TwoTorchThreads);

// Expects fn to throw as::Error whose message contains `needle`.
template <typename F>
void expect_error(F&& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected as::Error containing '" << needle << "'";
  } catch (const as::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace as::test
