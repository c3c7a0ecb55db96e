// The documents a new user reads on a fresh clone link only to files that are in the repository: every
// relative Markdown link of README.md, docs/*.md and the model card names an existing file or folder.
#include <gtest/gtest.h>

#include <regex>

#include "tests/cli/cli_helpers.hpp"

namespace elsa::testing {
namespace {

namespace fs = std::filesystem;

TEST(Docs, RelativeLinksPointIntoTheRepository) {
  std::vector<fs::path> documents = {source_dir() / "README.md", source_dir() / "models/elsa-base/README.md",
                                     source_dir() / "messages/README.md"};
  for (const auto& e : fs::directory_iterator(source_dir() / "docs"))
    if (e.path().extension() == ".md")
      documents.push_back(e.path());
  const std::regex link(R"(\]\(([^)\s]+)\))");
  int checked = 0;
  for (const auto& doc : documents) {
    ASSERT_TRUE(fs::exists(doc)) << doc;
    const auto text = read_text(doc);
    for (std::sregex_iterator it(text.begin(), text.end(), link), end; it != end; ++it) {
      std::string target = (*it)[1];
      if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0
          || target.rfind("mailto:", 0) == 0)
        continue;
      target = target.substr(0, target.find('#'));
      if (target.empty())
        continue; // a link within the page
      const auto resolved = (doc.parent_path() / target).lexically_normal();
      EXPECT_TRUE(fs::exists(resolved))
        << doc << " links to " << target << ", which is not in the repository";
      const auto rel = resolved.lexically_relative(source_dir());
      EXPECT_FALSE(rel.empty() || *rel.begin() == "..") << doc << " links outside the repository: " << target;
      ++checked;
    }
  }
  EXPECT_GT(checked, 10) << "the link pattern found almost nothing";
}

} // namespace
} // namespace elsa::testing
