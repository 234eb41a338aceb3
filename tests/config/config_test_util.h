// Assertion helper for the config tests: the call throws as::Error with a one-line message that
// contains every expected fragment.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/error.h"

namespace as::test {

inline void expect_error(const std::function<void()>& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
  } catch (const as::Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line message: " << msg;
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "missing '" << f << "' in: " << msg;
    return;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-as::Error: " << e.what();
    return;
  }
  ADD_FAILURE() << "no exception; expected one containing '" << (fragments.empty() ? "" : fragments[0]) << "'";
}

}  // namespace as::test
