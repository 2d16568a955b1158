#pragma once

// The static directory (DESIGN.md: pure): exact users, then templated rules such as
// "{user}@acme.com" <-> "{user}@nyc.acme.com", from [directory.static]. Every answer is immediate.

#include <unordered_map>

#include "sipedge/config/config.h"
#include "sipedge/identity/directory.h"

namespace sipedge::identity {

class StaticDirectory final : public Directory {
 public:
  // The configuration is validated by config::parse (addresses, templates, URIs).
  explicit StaticDirectory(const config::StaticDirectoryConfig& config);

  std::optional<Answer> lookup(Direction direction, const Aor& aor, Callback done) override;
  DirectoryStats stats() const override { return stats_; }

  // The same mapping without the Directory plumbing (for `sipedge policy test` and tests).
  Answer map(Direction direction, const Aor& aor) const;

 private:
  struct Rule {
    std::string external_host;
    std::string internal_host;
  };
  std::vector<config::StaticDirectoryConfig::User> users_;
  std::unordered_map<std::string, std::size_t> by_external_;  // "user@host" -> users_ index
  std::unordered_map<std::string, std::size_t> by_internal_;  // the first user wins
  std::vector<Rule> rules_;
  DirectoryStats stats_;
};

}  // namespace sipedge::identity
