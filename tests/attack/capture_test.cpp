// Captured activations on disk (core/attack/capture): what an edge writes reads back exactly, and a file
// that is not a capture is named in one clear error.
#include <fstream>
#include <tuple>

#include <gtest/gtest.h>

#include "core/attack/capture.hpp"
#include "core/errors.hpp"
#include "core/fed/tensor_bridge.hpp"

namespace elsa::attack {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("elsa_capture_test_" + name);
  fs::remove_all(d);
  return d;
}

captured_batch sample_batch(messages::dtype type) {
  torch::manual_seed(3);
  captured_batch b;
  b.edge = 1;
  b.client = 5;
  b.round = 9;
  b.step = 2;
  b.head_blocks = 1;
  b.wire_dtype = messages::to_string(type);
  b.activation = fed::to_wire(torch::randn({3, 7, 4}), type);
  b.lengths = {7, 4, 1};
  return b;
}

TEST(Capture, ABatchReadsBackAsItArrivedWithWhoSentItAndWhen) {
  const auto dir = fresh_dir("roundtrip");
  for (auto type : {messages::dtype::f32, messages::dtype::f16}) {
    fs::remove_all(dir);
    auto b = sample_batch(type);
    write_capture(dir, b);
    EXPECT_TRUE(fs::exists(dir / "edge1-round9-client5-step2.safetensors"));
    auto back = read_captures(dir);
    ASSERT_EQ(back.size(), 1u);
    const auto& r = back.front();
    EXPECT_EQ(r.edge, 1u);
    EXPECT_EQ(r.client, 5u);
    EXPECT_EQ(r.round, 9u);
    EXPECT_EQ(r.step, 2u);
    EXPECT_EQ(r.head_blocks, 1);
    EXPECT_EQ(r.wire_dtype, messages::to_string(type));
    EXPECT_EQ(r.lengths, b.lengths);
    // f16 widens to f32 losslessly: the values are the ones received, bit for bit.
    EXPECT_TRUE(torch::equal(fed::from_wire(r.activation), fed::from_wire(b.activation)));
  }
}

TEST(Capture, BatchesComeBackInRoundEdgeClientStepOrder) {
  const auto dir = fresh_dir("order");
  auto b = sample_batch(messages::dtype::f32);
  for (auto [edge, client, step] : {std::tuple{1u, 5u, 3u}, std::tuple{0u, 6u, 0u}, std::tuple{1u, 5u, 0u}}) {
    b.edge = edge;
    b.client = client;
    b.step = step;
    write_capture(dir, b);
  }
  auto back = read_captures(dir);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].edge, 0u);
  EXPECT_EQ(back[1].step, 0u);
  EXPECT_EQ(back[2].step, 3u);
}

TEST(Capture, MalformedBatchesAndFilesAreRefusedByName) {
  const auto dir = fresh_dir("bad");
  auto b = sample_batch(messages::dtype::f32);
  b.lengths = {7, 4};  // three rows
  EXPECT_THROW(write_capture(dir, b), error);
  try {
    read_captures(fresh_dir("missing"));
    ADD_FAILURE() << "a missing capture folder was accepted";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("[privacy] capture"), std::string::npos) << e.what();
  }
  fs::create_directories(dir);
  std::ofstream(dir / "junk.safetensors") << "not a safetensors file";
  try {
    read_captures(dir);
    ADD_FAILURE() << "junk was read as a capture";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("junk.safetensors"), std::string::npos) << e.what();
  }
  // A row longer than the activation is refused on read.
  fs::remove_all(dir);
  b = sample_batch(messages::dtype::f32);
  b.lengths = {7, 4, 1};
  write_capture(dir, b);
  auto file = dir / capture_file_name(b);
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Same-length edits of the metadata, each refused with what is wrong.
  for (auto [from, to, says] : {std::tuple{"7,4,1", "9,4,1", "row length 9"},
                                std::tuple{"7,4,1", "7,4,,", "\"lengths\" = \"\" is not a count"},
                                std::tuple{"\"f32\"", "\"f99\"", "not f32, f16 or bf16"},
                                std::tuple{"\"round\":\"9\"", "\"round\":\"x\"", "\"round\" = \"x\""}}) {
    auto edited = bytes;
    auto at = edited.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    edited.replace(at, std::string(from).size(), to);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << edited;
    try {
      read_captures(dir);
      ADD_FAILURE() << "accepted a capture with " << to;
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(file.filename().string()), std::string::npos) << e.what();
    }
  }
}

} // namespace
} // namespace elsa::attack
