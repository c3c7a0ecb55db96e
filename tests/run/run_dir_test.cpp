// The run directory policy and the input-folder checks: a new folder is only created when the work starts,
// an earlier run is refused unless replaced on purpose (and then only a run folder), a folder that cannot
// be created fails at once leaving nothing, and a missing model or data folder names the absolute path.
#include "core/run/run_dir.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "core/errors.hpp"
#include "core/run/run_config.hpp"

namespace er = elsa::run;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const auto p = fs::temp_directory_path() / ("elsa_run_dir_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

std::string claim_error(const fs::path& dir, bool replace) {
  try {
    er::run_dir::claim(dir, replace, "--out " + dir.string(), "choose another --out",
                       er::federated_run_markers());
  } catch (const elsa::error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(RunDir, ANewFolderIsCreatedOnlyWhenTheWorkStarts) {
  const auto root = scratch("new");
  const auto dir = root / "a" / "b";
  const auto claimed
    = er::run_dir::claim(dir, false, "--out x", "choose another --out", er::federated_run_markers());
  EXPECT_FALSE(fs::exists(root)) << "claim() left the folders it tried";
  claimed.create();
  EXPECT_TRUE(fs::is_directory(dir));
  fs::remove_all(root);
}

TEST(RunDir, ForceOnAFolderThatDoesNotExistYetCreatesIt) {
  const auto root = scratch("force_new");
  const auto dir = root / "run";
  const auto claimed = er::run_dir::claim(dir, true, "--out x", "choose another --out", er::federated_run_markers());
  EXPECT_NO_THROW(claimed.create());
  EXPECT_TRUE(fs::is_directory(dir));
  fs::remove_all(root);
}

TEST(RunDir, AnEarlierRunIsRefusedAndKept) {
  const auto dir = scratch("earlier");
  fs::create_directories(dir / "adapters" / "genre");
  std::ofstream(dir / "summary.json") << "{}\n";
  std::ofstream(dir / "notes.txt") << "mine\n";
  const auto what = claim_error(dir, false);
  EXPECT_EQ(
    what, "--out " + dir.string()
            + ": the folder exists and is not empty (an earlier run?); choose another --out, or add --force "
              "to replace what is in it");
  EXPECT_TRUE(fs::exists(dir / "notes.txt"));
  // --force replaces it, but only when the work starts.
  const auto claimed
    = er::run_dir::claim(dir, true, "--out x", "choose another --out", er::federated_run_markers());
  EXPECT_TRUE(fs::exists(dir / "notes.txt"));
  claimed.create();
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_TRUE(fs::is_empty(dir));
  fs::remove_all(dir);
}

TEST(RunDir, AnEmptyFolderIsUsed) {
  const auto dir = scratch("empty");
  fs::create_directories(dir);
  EXPECT_EQ(claim_error(dir, false), "");
  fs::remove_all(dir);
}

TEST(RunDir, ForceReplacesOnlyARunFolder) {
  const auto dir = scratch("notes");
  fs::create_directories(dir);
  std::ofstream(dir / "notes.txt") << "mine\n";
  const auto what = claim_error(dir, true);
  EXPECT_TRUE(contains(what, "holds files but no earlier run (none of config.toml, metrics.jsonl")) << what;
  EXPECT_TRUE(fs::exists(dir / "notes.txt"));
  fs::remove_all(dir);
}

TEST(RunDir, ForceNeverDeletesTheCurrentDirectory) {
  const auto here = fs::current_path();
  const auto what = claim_error(here.parent_path(), true);
  EXPECT_TRUE(contains(what, "which holds the current directory")) << what;
}

TEST(RunDir, AFileOrAnImpossibleFolderFailsAtOnce) {
  const auto file = scratch("file");
  std::ofstream(file) << "x\n";
  EXPECT_EQ(claim_error(file, false),
            "--out " + file.string() + ": is a file, not a folder; choose another --out");
  EXPECT_TRUE(contains(claim_error(file / "sub", false), ": cannot create the folder ("))
    << claim_error(file / "sub", false);
  fs::remove(file);
  const auto proc = claim_error("/proc/elsa_run_dir_test/x", false);
  EXPECT_TRUE(contains(proc, "--out /proc/elsa_run_dir_test/x: cannot create the folder (")) << proc;
}

TEST(InputFolders, AMissingFolderNamesTheAbsolutePathAndWhereItIs) {
  // A relative path that exists beside the config, not in the current directory: where it was found.
  const auto repo = scratch("repo");
  fs::create_directories(repo / "configs");
  fs::create_directories(repo / "models" / "m");
  const auto config = repo / "configs" / "run.toml";
  std::ofstream(config) << "\n";
  er::run_config cfg;
  cfg.model_dir = "models/m";
  cfg.data_dir = repo / "data"; // absolute, missing
  try {
    er::check_input_folders(cfg, config);
    ADD_FAILURE();
  } catch (const elsa::error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.code(), elsa::errc::file_not_found);
    const auto tried = (fs::current_path() / "models/m").lexically_normal().string();
    EXPECT_TRUE(contains(what, config.string() + ": [model] model_dir = \"models/m\": no folder " + tried))
      << what;
    EXPECT_TRUE(contains(what, "relative paths are taken from the current directory")) << what;
    EXPECT_TRUE(contains(what, "it is at " + (repo / "models/m").string() + ": run from " + repo.string()))
      << what;
  }
  cfg.model_dir = repo / "models" / "m";
  try {
    er::check_input_folders(cfg, config);
    ADD_FAILURE();
  } catch (const elsa::error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, "[data] data_dir = \"" + (repo / "data").string() + "\": no folder")) << what;
    EXPECT_TRUE(contains(what, "scripts/fetch_data.sh")) << what;
    EXPECT_FALSE(contains(what, "ELSA_DATA_DIR")) << what;
    EXPECT_FALSE(contains(what, "--data-dir")) << what;
  }
  fs::create_directories(repo / "data");
  EXPECT_NO_THROW(er::check_input_folders(cfg, config));
  fs::remove_all(repo);
}

} // namespace
