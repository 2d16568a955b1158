#pragma once

// SIP, SIPS and tel URIs (RFC 3261 19.1, 25.1; RFC 3966), and other schemes kept as absolute
// URIs. Parsed values are views into the text they were parsed from: the caller keeps it alive
// (a Message keeps its own buffer).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sipedge/base/result.h"
#include "sipedge/sip/error.h"

namespace sipedge::sip {

// A `;name[=value]` list, validated when parsed and walked on demand without allocating.
// Whitespace around ';' and '=' (SWS) is allowed in header parameters and skipped here.
struct Param {
  std::string_view name;
  std::string_view value;  // empty when the parameter has no value
  bool has_value = false;
  bool operator==(const Param&) const = default;
};

class ParamList {
 public:
  ParamList() = default;
  // `raw` starts with ';' (or is empty) and was validated by one of the parsers.
  explicit ParamList(std::string_view raw) : raw_(raw) {}

  class Iterator {
   public:
    using value_type = Param;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    explicit Iterator(std::string_view rest) : rest_(rest) { advance(); }
    const Param& operator*() const { return current_; }
    const Param* operator->() const { return &current_; }
    Iterator& operator++() {
      advance();
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      advance();
      return old;
    }
    bool operator==(const Iterator& o) const {
      return done_ == o.done_ && (done_ || rest_.data() == o.rest_.data());
    }

   private:
    void advance();
    std::string_view rest_;
    Param current_;
    bool done_ = true;
  };

  Iterator begin() const { return Iterator(raw_); }
  Iterator end() const { return Iterator(); }
  bool empty() const { return begin() == end(); }
  std::string_view raw() const { return raw_; }

  // Case-insensitive lookup of a parameter name. The value of a valueless parameter is "".
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }

 private:
  std::string_view raw_;
};

enum class UriScheme : std::uint8_t { Sip, Sips, Tel, Other };
enum class HostKind : std::uint8_t { None, Name, IPv4, IPv6 };

struct Uri {
  UriScheme scheme = UriScheme::Other;
  std::string_view scheme_text;  // as written
  std::string_view user;  // sip/sips: user or telephone-subscriber, escapes kept; tel: number
  std::string_view password;
  bool has_password = false;
  std::string_view host;  // IPv6 references include the brackets
  HostKind host_kind = HostKind::None;
  std::optional<std::uint16_t> port;
  ParamList params;          // uri-parameters (sip/sips) or tel parameters
  std::string_view headers;  // after '?', without it
  std::string_view opaque;   // Other: everything after "scheme:"
  std::string_view text;     // the whole URI as written

  bool isSip() const { return scheme == UriScheme::Sip || scheme == UriScheme::Sips; }
  std::optional<std::string_view> param(std::string_view name) const { return params.get(name); }
};

// Parses a whole URI. Offsets in the error are relative to `text`.
[[nodiscard]] Result<Uri, ParseError> parseUri(std::string_view text);

// RFC 3261 19.1.4 equivalence for sip/sips; case-insensitive scheme and exact, unescaped
// comparison for others (tel numbers compare without visual separators, RFC 3966 4).
bool uriEquivalent(const Uri& a, const Uri& b);

// Canonical text of a URI (scheme lower-cased, everything else as written).
std::string toString(const Uri& uri);

// The URI text with parameter `name` set to `value` (nullopt: a valueless parameter), replacing
// an existing one with the same name; the other components are kept as written.
std::string withUriParam(const Uri& uri, std::string_view name,
                         std::optional<std::string_view> value);
// The URI text without parameter `name`.
std::string withoutUriParam(const Uri& uri, std::string_view name);

}  // namespace sipedge::sip
