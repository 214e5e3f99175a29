// A fuzz target's corpus, replayed without libFuzzer: every build with
// tests (gcc, and the ASan/UBSan build) links each target of test/fuzz
// with this main, so CI runs every seed and every input a fuzzing run
// ever kept through the sanitizers, without the clang build tools/fuzz
// needs. After the corpus, --mutate SECONDS keeps going with random
// mutations of it (blind: no coverage guidance, that is tools/fuzz's job),
// from a seed printed first, so that any run can be repeated.
//
//   fuzz_T_replay [--mutate SECONDS] [--seed N] [--last FILE] PATH...
//
// PATH is a file or a folder of inputs. Before each mutated input runs, it
// is written to FILE (default fuzz-last-input in the working folder): a
// crash leaves the input that made it there, to replay alone. Exit 0 when
// every input ran; 1 when no input was found (a corpus that went missing
// must not pass) or on a usage error; a crash ends the run as the
// sanitizers or the target's trap end it.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Only some targets have one.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

using Input = std::vector<uint8_t>;

bool read_input(const std::filesystem::path& p, Input& out) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

// Inputs in a stable order: folders in name order, so a run's sequence of
// mutations depends on the seed alone.
bool collect(const std::string& path, std::vector<Input>& corpus) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
  } else if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
  } else {
    std::fprintf(stderr, "replay: %s: no such file or folder\n", path.c_str());
    return false;
  }
  for (const auto& f : files) {
    Input in;
    if (!read_input(f, in)) {
      std::fprintf(stderr, "replay: %s: cannot read\n", f.c_str());
      return false;
    }
    corpus.push_back(std::move(in));
  }
  return true;
}

// One to four edits of the kinds that find parser bugs: bits flipped,
// bytes set to boundary values, a run copied elsewhere, the end cut or
// grown, a piece of another input spliced in.
Input mutate(const std::vector<Input>& corpus, std::mt19937_64& rng) {
  auto pick = [&rng](size_t n) { return n ? static_cast<size_t>(rng() % n) : 0; };
  Input in = corpus[pick(corpus.size())];
  static constexpr uint8_t kBoundary[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
  const int edits = 1 + static_cast<int>(pick(4));
  for (int e = 0; e < edits; ++e) {
    switch (pick(in.empty() ? 1 : 6)) {
      case 0:  // grow by a few random bytes
        for (size_t n = 1 + pick(16); n > 0; --n) in.push_back(static_cast<uint8_t>(rng()));
        break;
      case 1:
        in[pick(in.size())] ^= static_cast<uint8_t>(1u << pick(8));
        break;
      case 2:
        in[pick(in.size())] = kBoundary[pick(std::size(kBoundary))];
        break;
      case 3: {
        const size_t from = pick(in.size()), to = pick(in.size());
        const size_t len = std::min({1 + pick(64), in.size() - from, in.size() - to});
        std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(from), len, in.begin() + static_cast<std::ptrdiff_t>(to));
        break;
      }
      case 4:
        in.resize(pick(in.size() + 1));
        break;
      default: {
        const Input& other = corpus[pick(corpus.size())];
        if (other.empty()) break;
        const size_t from = pick(other.size()), to = pick(in.size());
        const size_t len = std::min({1 + pick(512), other.size() - from, in.size() - to});
        std::copy_n(other.begin() + static_cast<std::ptrdiff_t>(from), len, in.begin() + static_cast<std::ptrdiff_t>(to));
      }
    }
  }
  return in;
}

int usage() {
  std::fprintf(stderr, "usage: replay [--mutate SECONDS] [--seed N] [--last FILE] PATH...\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0;
  uint64_t seed = std::random_device{}();
  std::string last = "fuzz-last-input";
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--mutate" || a == "--seed" || a == "--last") && i + 1 >= argc) return usage();
    if (a == "--mutate") {
      seconds = std::strtod(argv[++i], nullptr);
    } else if (a == "--seed") {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--last") {
      last = argv[++i];
    } else if (a.starts_with("--")) {
      return usage();
    } else {
      paths.push_back(a);
    }
  }
  if (paths.empty()) return usage();
  std::vector<Input> corpus;
  for (const auto& p : paths)
    if (!collect(p, corpus)) return 1;
  if (corpus.empty()) {
    std::fprintf(stderr, "replay: no inputs found: the corpus is missing\n");
    return 1;
  }
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  for (const Input& in : corpus) LLVMFuzzerTestOneInput(in.data(), in.size());
  std::printf("replayed %zu inputs\n", corpus.size());
  if (seconds <= 0) return 0;

  std::printf("mutating for %g s from seed %llu (--seed to repeat)\n", seconds, static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  std::mt19937_64 rng(seed);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < end) {
    const Input in = mutate(corpus, rng);
    {
      std::ofstream f(last, std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char*>(in.data()), static_cast<std::streamsize>(in.size()));
    }
    LLVMFuzzerTestOneInput(in.data(), in.size());
    ++runs;
  }
  std::filesystem::remove(last);
  std::printf("ran %llu mutated inputs\n", static_cast<unsigned long long>(runs));
  return 0;
}
