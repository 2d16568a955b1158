#pragma once

// Warnings about a configuration that parses but is risky or partly dead (issue 5, `sipedge
// check-config`): open federation without blocked domains, partners that can never match, rules
// shadowed by earlier ones. Pure: it looks only at the Config (its SourceMap gives positions).
// Certificate expiry and file checks need I/O and live in the app's check-config command.

#include <cstdint>
#include <string>
#include <vector>

#include "sipedge/config/config.h"

namespace sipedge::config {

// Positioned like ConfigError (S29); line and column are 0 when the setting is a default that
// was not written (then they point at the enclosing table when it was written).
struct ConfigWarning {
  std::string file;
  std::string path;  // dotted path of the node to look at, e.g. "partners[1].networks[2]"
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string message;
  // "FILE:LINE:COL: warning: PATH: MESSAGE" (the parts that are unknown are left out).
  std::string describe() const;
  bool operator==(const ConfigWarning&) const = default;
};

// Every warning, in a stable order: federation first, then the partners in config order.
std::vector<ConfigWarning> lint(const Config& config);

}  // namespace sipedge::config
