#pragma once

// Between config.cc (TOML -> Config, pure) and load.cc (files and includes).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/config/config.h"

namespace sipedge::config::detail {

// An `include` pattern a document holds.
struct IncludeRequest {
  std::string pattern;  // joined to the including file's directory
  std::string written;  // as written
  std::string path;     // "include[i]"
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

enum class DocumentKind : std::uint8_t {
  Main,      // every section
  Included,  // only [[partners]], [federation] blocked_domains and include
};

// Parses one TOML document and adds what it holds to `config`. Relative paths are joined to
// `dir`. With `includes` null, an `include` key is an error; otherwise its patterns are appended.
[[nodiscard]] std::optional<ConfigError> readDocument(std::string_view text,
                                                      const std::string& source_name,
                                                      const std::string& dir, DocumentKind kind,
                                                      Config& config,
                                                      std::vector<IncludeRequest>* includes);

}  // namespace sipedge::config::detail
