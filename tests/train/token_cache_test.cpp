// The pre-training token cache: what write_token_cache writes reads back for the same vocabulary hash only,
// and no temporary file is left beside it.
#include <filesystem>

#include <gtest/gtest.h>

#include "core/train/tokens.hpp"

namespace elsa::train {
namespace {

TEST(TokenCache, ReadsBackForItsVocabularyOnly) {
  const auto dir = std::filesystem::temp_directory_path() / "elsa_token_cache_test";
  std::filesystem::remove_all(dir);
  const auto path = dir / "sub" / "train.tokens";
  const std::vector<int32_t> tokens = {5, 8191, 0, 42, 7};
  write_token_cache(path, 0xabcdef, tokens);
  EXPECT_EQ(read_token_cache(path, 0xabcdef), tokens);
  EXPECT_TRUE(read_token_cache(path, 0xabcdee).empty());
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  write_token_cache(path, 0xabcdef, {1, 2});  // replaced whole
  EXPECT_EQ(read_token_cache(path, 0xabcdef), (std::vector<int32_t>{1, 2}));
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace elsa::train
