// config::load: the configuration file and the files its `include` patterns match. The I/O
// wrapper around the pure reader in config.cc (STYLE S28).

#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "document.h"
#include "sipedge/config/config.h"

namespace sipedge::config {
namespace {

namespace fs = std::filesystem;

// The file's text, or why it cannot be read (strerror).
Result<std::string> readFile(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (!in) {
    return fail(Error{errno != 0 ? std::strerror(errno) : "cannot open"});
  }
  if (fs::is_directory(path, ec)) {
    return fail(Error{"is a directory"});
  }
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string canonicalOf(const std::string& path) {
  std::error_code ec;
  const fs::path canon = fs::weakly_canonical(fs::path(path), ec);
  return ec ? path : canon.string();
}

// The files an include pattern names: a pattern without wildcards names one file (which must
// exist: readFile reports it); one with wildcards matches zero or more, sorted.
Result<std::vector<std::string>> expand(const detail::IncludeRequest& inc) {
  if (inc.written.find_first_of("*?[") == std::string::npos) {
    return std::vector<std::string>{inc.pattern};
  }
  glob_t g{};
  const int rc = ::glob(inc.pattern.c_str(), GLOB_ERR, nullptr, &g);
  std::vector<std::string> matches;
  if (rc == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      matches.emplace_back(g.gl_pathv[i]);
    }
  }
  globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH) {
    return fail(Error{"cannot list files matching \"" + inc.written + "\""});
  }
  return matches;
}

class Loader {
 public:
  // Reads one file (already read into `text`) and, depth first, the files it includes.
  std::optional<ConfigError> file(const std::string& name, const std::string& text,
                                  detail::DocumentKind kind) {
    std::error_code ec;
    std::string dir = fs::path(name).parent_path().string();
    const fs::path abs = fs::absolute(fs::path(name), ec);
    if (!ec) {
      dir = abs.parent_path().lexically_normal().string();
    }
    std::vector<detail::IncludeRequest> includes;
    if (auto error = detail::readDocument(text, name, dir, kind, config_, &includes)) {
      return error;
    }
    stack_.push_back(canonicalOf(name));
    for (const detail::IncludeRequest& inc : includes) {
      auto at = [&](std::string message) {
        return ConfigError{name, inc.path, inc.line, inc.column, std::move(message)};
      };
      auto matches = expand(inc);
      if (!matches) {
        return at(matches.error().message);
      }
      for (const std::string& path : *matches) {
        if (std::find(stack_.begin(), stack_.end(), canonicalOf(path)) != stack_.end()) {
          return at("include cycle: \"" + path + "\" is already being read");
        }
        auto content = readFile(path);
        if (!content) {
          return at("cannot read included file \"" + path + "\": " + content.error().message);
        }
        if (auto error = file(path, *content, detail::DocumentKind::Included)) {
          return error;
        }
      }
    }
    stack_.pop_back();
    return std::nullopt;
  }

  Config& config() { return config_; }

 private:
  Config config_;
  std::vector<std::string> stack_;  // canonical paths of the files being read (cycle check)
};

}  // namespace

Result<Config, ConfigError> load(const std::string& path) {
  auto content = readFile(path);
  if (!content) {
    return fail(ConfigError{path, "", 0, 0, "cannot read the file: " + content.error().message});
  }
  Loader loader;
  if (auto error = loader.file(path, *content, detail::DocumentKind::Main)) {
    return fail(std::move(*error));
  }
  return std::move(loader.config());
}

}  // namespace sipedge::config
