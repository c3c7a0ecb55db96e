// Runs `elsa data stats` as a user would: a good run prints the tables, bad input gives one clear error
// line and exit code 1. Needs the elsa program built (ELSA_BIN, set by ctest).
#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "tests/data/data_helpers.hpp"

namespace {

using elsa::testing::run_elsa;

#define ELSA_REQUIRE_PROGRAM()                                                                                     \
  do {                                                                                                             \
    if (!std::filesystem::exists(elsa::testing::elsa_bin()))                                                       \
      GTEST_FAIL() << "the elsa program " << elsa::testing::elsa_bin() << " is not built; build the 'elsa' target"; \
  } while (false)

TEST(DataCli, MissingDataFolderIsOneClearErrorLine) {
  ELSA_REQUIRE_PROGRAM();
  auto r = run_elsa("data stats --data-dir /nonexistent/elsa-data");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.rfind("elsa: error: ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/elsa-data"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("scripts/fetch_data.sh"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST(DataCli, UnknownTaskListsTheTasks) {
  ELSA_REQUIRE_PROGRAM();
  auto r = run_elsa("data stats --tasks spam,sentiment");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("'sentiment'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("supersense"), std::string::npos) << r.output;
}

TEST(DataCli, StatsPrintsSplitsCorpusAndPartition) {
  ELSA_REQUIRE_PROGRAM();
  ELSA_REQUIRE_DATA();
  auto r = run_elsa("data stats --data-dir " + elsa::testing::data_dir().string() +
                    " --tasks party --clients 3 --partition dirichlet --alpha 0.3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* expected : {"task party", "democratic", "republican", "pre-training corpus", "probe set",
                               "held-out LM text", "partition: dirichlet over 3 clients, alpha 0.3",
                               "mean label entropy"})
    EXPECT_NE(r.output.find(expected), std::string::npos) << "missing '" << expected << "' in:\n" << r.output;
  EXPECT_EQ(r.output.find("task spam"), std::string::npos) << "--tasks party printed spam";
}

} // namespace
