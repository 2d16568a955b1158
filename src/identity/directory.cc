#include "sipedge/identity/directory.h"

#include "sipedge/base/strings.h"

namespace sipedge::identity {

std::optional<Aor> parseAor(std::string_view text) {
  const std::size_t at = text.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size()) {
    return std::nullopt;
  }
  return Aor{std::string(text.substr(0, at)), toLower(text.substr(at + 1))};
}

std::string_view statusName(Status s) {
  switch (s) {
    case Status::Found: return "found";
    case Status::NotFound: return "not-found";
    case Status::Unavailable: return "unavailable";
  }
  return "?";
}

std::string_view directionName(Direction d) {
  return d == Direction::ToInternal ? "to-internal" : "to-external";
}

}  // namespace sipedge::identity
