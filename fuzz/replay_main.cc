// Stand-in driver for the fuzz targets in normal builds (like reSIProcate's
// build/oss-fuzz/main.cpp): calls LLVMFuzzerTestOneInput once per file named on the command line,
// or once per regular file in each directory named (not recursive, sorted for a stable order).
// CTest runs it over the committed seed corpus, under sanitizers in the sanitizer build (STYLE 34).
//
// Exit status: 0 when at least one input ran; 1 when an argument cannot be read or nothing ran
// (an empty or missing corpus is a configuration error, not a pass). A property violation in the
// target aborts the process, which CTest reports as a failure.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool runFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot open %s\n", path.c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  // Copy into an exactly-sized heap buffer so that ASan sees reads past the end of the input.
  std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
  // Named before the run, and flushed, so that the input is known when the target aborts.
  std::printf("replay: %s (%zu bytes)\n", path.c_str(), data.size());
  std::fflush(stdout);
  LLVMFuzzerTestOneInput(data.empty() ? nullptr : data.data(), data.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <file-or-directory>...\n", argv[0]);
    return 1;
  }
  std::size_t ran = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) {
          files.push_back(entry.path());
        }
      }
      if (ec) {
        std::fprintf(stderr, "replay: cannot list %s: %s\n", arg.c_str(), ec.message().c_str());
        ok = false;
        continue;
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        std::fprintf(stderr, "replay: %s holds no inputs\n", arg.c_str());
        ok = false;
      }
      for (const auto& f : files) {
        if (runFile(f)) {
          ++ran;
        } else {
          ok = false;
        }
      }
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      if (runFile(arg)) {
        ++ran;
      } else {
        ok = false;
      }
    } else {
      std::fprintf(stderr, "replay: %s is missing or not a file or directory\n", arg.c_str());
      ok = false;
    }
  }
  std::printf("replay: ran %zu inputs\n", ran);
  std::fflush(stdout);
  if (ran == 0) {
    std::fprintf(stderr, "replay: no inputs ran\n");
    return 1;
  }
  return ok ? 0 : 1;
}
