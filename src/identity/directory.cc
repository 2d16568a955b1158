#include "sipedge/identity/directory.h"

#include "sipedge/base/strings.h"

namespace sipedge::identity {

bool headerSafe(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"') {
      return false;
    }
  }
  return true;
}

std::optional<Aor> parseAor(std::string_view text) {
  // An identity (from the configuration or a directory server) goes into the headers sipedge
  // writes.
  if (!headerSafe(text)) {
    return std::nullopt;
  }
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
