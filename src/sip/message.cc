#include "sipedge/sip/message.h"

#include <string>

#include "message_parser.h"
#include "scan.h"
#include "sipedge/base/assert.h"
#include "sipedge/base/strings.h"

namespace sipedge::sip {

const Header* Message::find(HeaderId id) const {
  for (const Header& h : headers_) {
    if (h.id == id) {
      return &h;
    }
  }
  return nullptr;
}

namespace {

// Whether `h` is the header called `name` (whose id is `id`): known headers by id, so that
// compact and full names match each other; others by name, case-insensitively.
bool isNamed(const Header& h, HeaderId id, std::string_view name) {
  return id != HeaderId::Other ? h.id == id : (h.id == HeaderId::Other && iequals(h.name, name));
}

}  // namespace

const Header* Message::find(std::string_view name) const {
  const HeaderId id = headerIdFromName(name);
  for (const Header& h : headers_) {
    if (isNamed(h, id, name)) {
      return &h;
    }
  }
  return nullptr;
}

std::size_t Message::offsetOf(std::string_view text) const {
  const char* begin = buffer_;
  if (begin == nullptr || text.data() < begin || text.data() > begin + size_) {
    return 0;
  }
  return static_cast<std::size_t>(text.data() - begin);
}

std::size_t Message::count(HeaderId id) const {
  std::size_t n = 0;
  for (const Header& h : headers_) {
    n += h.id == id ? 1 : 0;
  }
  return n;
}

namespace {

// Attributes an on-demand parse error to the header it came from.
ParseError located(const Message& m, const Header& h, ParseError e) {
  e.header = std::string(h.name);
  e.offset += m.offsetOf(h.value);
  return e;
}

template <class T, class ParseFn>
Result<std::optional<T>, ParseError> single(const Message& m, HeaderId id, ParseFn parse) {
  const Header* h = m.find(id);
  if (h == nullptr) {
    return std::optional<T>();
  }
  auto v = parse(h->value);
  if (!v) {
    return fail(located(m, *h, v.error()));
  }
  return std::optional<T>(std::move(*v));
}

}  // namespace

Result<std::optional<std::uint32_t>, ParseError> Message::expires() const {
  return single<std::uint32_t>(*this, HeaderId::Expires, parseExpires);
}

Result<std::optional<std::uint32_t>, ParseError> Message::minExpires() const {
  return single<std::uint32_t>(*this, HeaderId::MinExpires, parseExpires);
}

Result<std::optional<ContentType>, ParseError> Message::contentType() const {
  return single<ContentType>(*this, HeaderId::ContentType, parseContentType);
}

Result<std::optional<RetryAfter>, ParseError> Message::retryAfter() const {
  return single<RetryAfter>(*this, HeaderId::RetryAfter, parseRetryAfter);
}

Result<std::optional<NameAddr>, ParseError> Message::referTo() const {
  return single<NameAddr>(*this, HeaderId::ReferTo, parseNameAddr);
}

Result<std::optional<NameAddr>, ParseError> Message::referredBy() const {
  return single<NameAddr>(*this, HeaderId::ReferredBy, parseNameAddr);
}

namespace {
Result<std::vector<NameAddr>, ParseError> nameAddrs(const Message& m, HeaderId id) {
  std::vector<NameAddr> out;
  for (const Header& h : m.headers()) {
    if (h.id != id) {
      continue;
    }
    if (auto r = parseNameAddrList(h.value, out); !r) {
      return fail(located(m, h, r.error()));
    }
  }
  return out;
}
}  // namespace

Result<std::vector<NameAddr>, ParseError> Message::assertedIdentities() const {
  return nameAddrs(*this, HeaderId::PAssertedIdentity);
}

Result<std::vector<NameAddr>, ParseError> Message::paths() const {
  return nameAddrs(*this, HeaderId::Path);
}

Result<std::vector<std::string_view>, ParseError> Message::tokens(HeaderId id) const {
  std::vector<std::string_view> out;
  for (const Header& h : headers_) {
    if (h.id != id) {
      continue;
    }
    auto r = parseTokenList(h.value);
    if (!r) {
      return fail(located(*this, h, r.error()));
    }
    out.insert(out.end(), r->begin(), r->end());
  }
  return out;
}

std::unique_ptr<Message::Arena> Message::Arena::create(std::size_t bytes) {
  void* block = ::operator new(sizeof(Arena) + bytes);
  return std::unique_ptr<Arena>(new (block)
                                    Arena(static_cast<char*>(block) + sizeof(Arena), bytes));
}

Message::Message(std::unique_ptr<Arena> arena)
    : pool_(std::move(arena)),
      headers_(pool_->resource()),
      vias_(pool_->resource()),
      contacts_(pool_->resource()),
      routes_(pool_->resource()),
      record_routes_(pool_->resource()) {}

Message& Message::operator=(Message&& other) noexcept {
  // The vectors' allocator is fixed at construction (it points into this message's arena), so a
  // moved-to message is rebuilt from the source rather than assigned member by member.
  if (this != &other) {
    this->~Message();
    new (this) Message(std::move(other));
  }
  return *this;
}

std::string_view Message::store(std::string_view text) {
  written_.push_back(std::make_unique<std::string>(text));
  return *written_.back();
}

Result<void, ParseError> Message::makeHeader(std::string_view name, std::string_view value,
                                             Header& out) {
  if (!isToken(name)) {
    return fail(scan::error(ParseErrorCode::BadHeaderName, 0, "header name is not a token"));
  }
  // No CR/LF (header injection) and no other control characters but HTAB.
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      ParseError e = scan::error(ParseErrorCode::BadHeaderValue, i, "control character in value");
      e.header = std::string(name);
      return fail(e);
    }
  }
  out.id = headerIdFromName(name);
  auto check = MessageParser::checkValue(out.id, trimWs(value));
  if (!check) {
    ParseError e = check.error();
    e.header = std::string(name);
    return fail(e);
  }
  const std::string_view canonical = canonicalName(out.id);
  out.name = canonical.empty() ? store(name) : canonical;
  out.value = store(trimWs(value));
  out.raw = {};
  out.valid = true;
  return {};
}

Result<void, ParseError> Message::refreshTyped(HeaderId id) {
  if (!MessageParser::isTyped(id)) {
    return {};
  }
  MessageParser::clearTyped(*this, id);
  for (const Header& h : headers_) {
    if (h.id == id && h.valid) {
      auto r = MessageParser::applyTyped(*this, h);
      if (!r) {
        return r;
      }
    }
  }
  return {};
}

Result<void, ParseError> Message::insertHeader(std::size_t index, std::string_view name,
                                               std::string_view value) {
  Header h;
  auto r = makeHeader(name, value, h);
  if (!r) {
    return r;
  }
  index = std::min(index, headers_.size());
  headers_.insert(headers_.begin() + static_cast<std::ptrdiff_t>(index), h);
  return refreshTyped(h.id);
}

Result<void, ParseError> Message::addHeader(std::string_view name, std::string_view value) {
  return insertHeader(headers_.size(), name, value);
}

Result<void, ParseError> Message::setHeader(std::string_view name, std::string_view value) {
  Header h;
  auto r = makeHeader(name, value, h);
  if (!r) {
    return r;
  }
  bool placed = false;
  for (std::size_t i = 0; i < headers_.size();) {
    if (!isNamed(headers_[i], h.id, name)) {
      ++i;
      continue;
    }
    if (!placed) {
      headers_[i] = h;
      placed = true;
      ++i;
    } else {
      headers_.erase(headers_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  if (!placed) {
    headers_.push_back(h);
  }
  return refreshTyped(h.id);
}

Result<void, ParseError> Message::replaceHeaderAt(std::size_t index, std::string_view value) {
  SIPEDGE_RELEASE_ASSERT(index < headers_.size());
  const HeaderId old_id = headers_[index].id;
  const std::string name(headers_[index].name);
  Header h;
  auto r = makeHeader(name, value, h);
  if (!r) {
    return r;
  }
  headers_[index] = h;
  SIPEDGE_ASSERT(old_id == h.id);
  return refreshTyped(h.id);
}

void Message::removeHeaderAt(std::size_t index) {
  SIPEDGE_RELEASE_ASSERT(index < headers_.size());
  const HeaderId id = headers_[index].id;
  headers_.erase(headers_.begin() + static_cast<std::ptrdiff_t>(index));
  (void)refreshTyped(id);  // the remaining values were valid before
}

std::size_t Message::removeHeaders(std::string_view name) {
  const HeaderId id = headerIdFromName(name);
  const std::size_t before = headers_.size();
  std::erase_if(headers_, [&](const Header& h) { return isNamed(h, id, name); });
  (void)refreshTyped(id);
  return before - headers_.size();
}

void Message::removeTopVia() {
  for (std::size_t i = 0; i < headers_.size(); ++i) {
    if (headers_[i].id != HeaderId::Via) {
      continue;
    }
    auto items = splitList(headers_[i].value);
    if (!items || items->size() <= 1) {
      removeHeaderAt(i);
      return;
    }
    std::string rest;
    for (std::size_t k = 1; k < items->size(); ++k) {
      if (k > 1) {
        rest += ", ";
      }
      rest += (*items)[k];
    }
    (void)replaceHeaderAt(i, rest);
    return;
  }
}

Result<void, ParseError> Message::pushVia(std::string_view value) {
  std::size_t index = 0;
  while (index < headers_.size() && headers_[index].id != HeaderId::Via) {
    ++index;
  }
  if (index == headers_.size()) {
    index = 0;
  }
  return insertHeader(index, "Via", value);
}

Result<void, ParseError> Message::setRequestUri(std::string_view uri) {
  SIPEDGE_RELEASE_ASSERT(isRequest());
  const std::string_view stored = store(trimWs(uri));
  auto parsed = parseUri(stored);
  if (!parsed) {
    ParseError e = parsed.error();
    e.code = ParseErrorCode::BadRequestUri;
    return fail(e);
  }
  request_uri_ = *parsed;
  start_line_raw_ = {};
  return {};
}

void Message::setStatus(int code, std::string_view reason) {
  SIPEDGE_RELEASE_ASSERT(isResponse() && code >= 100 && code <= 699);
  status_code_ = code;
  std::string clean;
  for (char c : reason) {
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) {
      clean.push_back(c);
    }
  }
  reason_ = store(clean);
  start_line_raw_ = {};
}

void Message::setBody(std::string_view body, std::optional<std::string_view> content_type) {
  body_ = store(body);
  (void)setHeader("Content-Length", std::to_string(body.size()));
  if (content_type) {
    (void)setHeader("Content-Type", *content_type);
  }
}

void Message::serializeTo(std::string& out) const {
  out.reserve(out.size() + size_ + 64);
  if (!start_line_raw_.empty()) {
    out += start_line_raw_;
  } else if (isRequest()) {
    out += method_text_;
    out += ' ';
    out += request_uri_.text;
    out += ' ';
    out += version_;
    out += "\r\n";
  } else {
    out += version_;
    out += ' ';
    out += std::to_string(status_code_);
    out += ' ';
    out += reason_;
    out += "\r\n";
  }
  for (const Header& h : headers_) {
    if (!h.raw.empty()) {
      out += h.raw;
    } else {
      out += h.name;
      out += ": ";
      out += h.value;
      out += "\r\n";
    }
  }
  out += "\r\n";
  out += body_;
}

std::string Message::serialize() const {
  std::string out;
  serializeTo(out);
  return out;
}

Message Message::clone() const {
  ParseOptions opt;
  opt.tolerant = true;
  // Datagram framing reproduces the body exactly unless Content-Length disagrees with it (a
  // tolerant stream parse can keep such a body); stream framing never cuts the body.
  opt.datagram = !content_length_ || *content_length_ == body_.size();
  const std::string text = serialize();
  opt.limits.max_message_bytes = text.size() + 1;
  opt.limits.max_header_section_bytes = text.size() + 1;
  opt.limits.max_start_line_bytes = text.size() + 1;
  opt.limits.max_header_bytes = text.size() + 1;
  opt.limits.max_headers = headers_.size() + 1;
  opt.limits.max_vias = vias_.size() + 1;
  opt.limits.max_body_bytes = text.size() + 1;
  auto copy = parseMessage(text, opt);
  SIPEDGE_RELEASE_ASSERT(copy.has_value());
  // The copy carries the original's verdict, not the one its re-parse reached.
  copy->first_error_ = first_error_;
  return std::move(*copy);
}
}  // namespace sipedge::sip
