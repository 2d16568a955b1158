// The HA1 file (htdigest-compatible "user:realm:HA1" lines).

#include "sipedge/auth/ha1_table.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "sipedge/base/strings.h"

namespace sipedge::auth {

namespace {

bool isHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool isControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7F;
}

bool isBlank(char c) {
  return c == ' ' || c == '\t';
}

// For messages: printable ASCII kept, other bytes as '?', cut at 40.
std::string shown(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
  }
  if (text.size() > 40) {
    out += "...";
  }
  return out;
}

Ha1Error error(std::size_t line, std::size_t column, std::string message) {
  return Ha1Error{line, column, std::move(message)};
}

}  // namespace

std::string toString(const Ha1Error& error, std::string_view source) {
  return fmt::format("{}:{}:{}: {}", source, error.line, error.column, error.message);
}

std::string Ha1Table::key(std::string_view user, std::string_view realm, Algorithm algorithm) {
  // Length-prefixed, so that no user or realm text can make two keys collide.
  std::string k = std::to_string(user.size());
  k.push_back(':');
  k.append(user);
  k.append(realm);
  k.push_back(algorithm == Algorithm::Md5 ? 'm' : 's');
  return k;
}

Result<Ha1Table, Ha1Error> Ha1Table::parse(std::string_view text) {
  Ha1Table table;
  std::unordered_map<std::string, std::size_t> first_line;
  std::size_t line_no = 0;
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    ++line_no;
    std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) {
      line_end = text.size();
    }
    std::string_view line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    // Columns are 1-based byte positions in the line; `b` and `e` bound the content.
    std::size_t b = 0;
    while (b < line.size() && isBlank(line[b])) {
      ++b;
    }
    std::size_t e = line.size();
    while (e > b && isBlank(line[e - 1])) {
      --e;
    }
    if (b == e || line[b] == '#') {
      continue;
    }
    const std::size_t colon1 = line.find(':', b);
    if (colon1 == std::string_view::npos || colon1 >= e) {
      return fail(error(line_no, e + 1, "expected ':' after the user name (user:realm:HA1)"));
    }
    if (colon1 == b) {
      return fail(error(line_no, b + 1, "expected a user name before ':'"));
    }
    const std::size_t colon2 = line.find(':', colon1 + 1);
    if (colon2 == std::string_view::npos || colon2 >= e) {
      return fail(error(line_no, e + 1, "expected ':' after the realm (user:realm:HA1)"));
    }
    if (colon2 == colon1 + 1) {
      return fail(error(line_no, colon2 + 1, "expected a realm between the two ':'"));
    }
    for (std::size_t i = b; i < colon2; ++i) {
      if (isControl(line[i])) {
        return fail(error(line_no, i + 1,
                          i < colon1 ? "unexpected control character in the user name"
                                     : "unexpected control character in the realm"));
      }
    }
    const std::string_view user = line.substr(b, colon1 - b);
    const std::string_view realm = line.substr(colon1 + 1, colon2 - colon1 - 1);
    const std::size_t hex_at = colon2 + 1;
    const std::string_view hex = line.substr(hex_at, e - hex_at);
    if (hex.empty()) {
      return fail(error(line_no, hex_at + 1,
                        "expected the HA1 after ':': 32 hex digits (MD5) or 64 (SHA-256)"));
    }
    for (std::size_t i = 0; i < hex.size(); ++i) {
      if (!isHexDigit(hex[i])) {
        return fail(error(line_no, hex_at + i + 1,
                          "expected a hex digit (HA1: 32 hex digits for MD5, 64 for SHA-256)"));
      }
    }
    if (hex.size() != 32 && hex.size() != 64) {
      return fail(
          error(line_no, hex_at + 1,
                fmt::format("expected 32 hex digits (MD5) or 64 (SHA-256), got {}", hex.size())));
    }
    const Algorithm algorithm = hex.size() == 32 ? Algorithm::Md5 : Algorithm::Sha256;
    std::string k = key(user, realm, algorithm);
    const auto [it, inserted] = first_line.emplace(k, line_no);
    if (!inserted) {
      return fail(
          error(line_no, b + 1,
                fmt::format("duplicate {} entry for user '{}' in realm '{}' (first on line "
                            "{})",
                            algorithmName(algorithm), shown(user), shown(realm), it->second)));
    }
    std::string lower(hex);
    for (char& c : lower) {
      c = asciiLower(c);
    }
    table.entries_.emplace(std::move(k), std::move(lower));
  }
  return table;
}

Result<Ha1Table, std::string> Ha1Table::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxHa1FileBytes) {
      return fail(fmt::format("{}: larger than {} bytes", path, kMaxHa1FileBytes));
    }
  }
  if (in.bad()) {
    return fail(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  auto table = parse(text);
  if (!table) {
    return fail(toString(table.error(), path));
  }
  return std::move(*table);
}

std::optional<std::string_view> Ha1Table::find(std::string_view user, std::string_view realm,
                                               Algorithm algorithm) const {
  const auto it = entries_.find(key(user, realm, algorithm));
  if (it == entries_.end()) {
    return std::nullopt;
  }
  return std::string_view(it->second);
}

}  // namespace sipedge::auth
