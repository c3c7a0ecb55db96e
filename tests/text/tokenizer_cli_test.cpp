// `elsa tokenizer encode|decode` run as a user would: the built program, stdin and stdout, GPT-2's files.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test_support.hpp"

namespace {

namespace fs = std::filesystem;

struct run_result {
  int status = -1;
  std::string out, err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `elsa tokenizer <verb> --vocab ... --merges ...` with input on stdin.
run_result run_tokenizer(const std::string& verb, const std::string& input) {
  const fs::path dir = fs::temp_directory_path() / ("elsa_tokenizer_cli_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "in", std::ios::binary) << input;
  }
  const fs::path gpt2 = elsa::testing::data_dir() / "gpt2";
  const std::string cmd = "'" + elsa::testing::elsa_bin() + "' tokenizer " + verb + " --vocab '" +
                          (gpt2 / "encoder.json").string() + "' --merges '" + (gpt2 / "vocab.bpe").string() +
                          "' < '" + (dir / "in").string() + "' > '" + (dir / "out").string() + "' 2> '" +
                          (dir / "err").string() + "'";
  run_result r;
  const int raw = std::system(cmd.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  fs::remove_all(dir);
  return r;
}

class TokenizerCli : public ::testing::Test {
protected:
  void SetUp() override {
    if (!fs::exists(elsa::testing::elsa_bin()))
      FAIL() << "the elsa program is not built at " << elsa::testing::elsa_bin() << " (build target 'elsa')";
  }
};

TEST_F(TokenizerCli, EncodesHelloWorld) {
  const auto r = run_tokenizer("encode", "hello world");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "31373 995\n");
}

TEST_F(TokenizerCli, DecodesHelloWorld) {
  const auto r = run_tokenizer("decode", "31373 995\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello world");
}

TEST_F(TokenizerCli, NamesTheBadTokenPosition) {
  const auto bad = run_tokenizer("decode", "31373 hello 995");
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.err.rfind("elsa: error: ", 0), 0u) << bad.err;
  EXPECT_NE(bad.err.find("token 2"), std::string::npos) << bad.err;
  const auto unknown = run_tokenizer("decode", "31373 995 50257");
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("token 3"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("50257"), std::string::npos) << unknown.err;
}

} // namespace
