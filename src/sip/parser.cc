// RFC 3261 7 / 25 message parser: one pass over the bytes, header fields split and unfolded,
// the stack's headers parsed into typed values, everything else kept raw (STYLE S3, S4).

#include <cstring>

#include "message_parser.h"
#include "scan.h"
#include "sipedge/base/strings.h"

namespace sipedge::sip {
namespace {

using scan::error;
constexpr auto npos = std::string_view::npos;

bool isVersion(std::string_view v) {
  // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, case-insensitive (RFC 3261 7.1)
  if (v.size() < 7 || !iequals(v.substr(0, 4), "SIP/")) {
    return false;
  }
  const std::size_t dot = v.find('.', 4);
  if (dot == npos || dot == 4 || dot + 1 == v.size()) {
    return false;
  }
  for (std::size_t i = 4; i < v.size(); ++i) {
    if (i != dot && (v[i] < '0' || v[i] > '9')) {
      return false;
    }
  }
  return true;
}

// Index of the first character a Reason-Phrase may not hold (controls but HTAB), or npos.
std::size_t badReasonChar(std::string_view r) {
  for (std::size_t i = 0; i < r.size(); ++i) {
    const auto c = static_cast<unsigned char>(r[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return i;
    }
  }
  return npos;
}

}  // namespace

bool MessageParser::addressable(const Message& m) {
  return m.isRequest() && m.method() != Method::Ack && m.find(HeaderId::Via) != nullptr &&
         m.find(HeaderId::From) != nullptr && m.find(HeaderId::To) != nullptr &&
         m.find(HeaderId::CallId) != nullptr && m.find(HeaderId::CSeq) != nullptr;
}

bool MessageParser::isTyped(HeaderId id) {
  switch (id) {
    case HeaderId::Via:
    case HeaderId::From:
    case HeaderId::To:
    case HeaderId::CallId:
    case HeaderId::CSeq:
    case HeaderId::MaxForwards:
    case HeaderId::ContentLength:
    case HeaderId::Contact:
    case HeaderId::Route:
    case HeaderId::RecordRoute: return true;
    default: return false;
  }
}

void MessageParser::clearTyped(Message& m, HeaderId id) {
  switch (id) {
    case HeaderId::Via: m.vias_.clear(); break;
    case HeaderId::From: m.from_.reset(); break;
    case HeaderId::To: m.to_.reset(); break;
    case HeaderId::CallId: m.call_id_ = {}; break;
    case HeaderId::CSeq: m.cseq_.reset(); break;
    case HeaderId::MaxForwards: m.max_forwards_.reset(); break;
    case HeaderId::ContentLength: m.content_length_.reset(); break;
    case HeaderId::Contact:
      m.contacts_.clear();
      m.contact_star_ = false;
      break;
    case HeaderId::Route: m.routes_.clear(); break;
    case HeaderId::RecordRoute: m.record_routes_.clear(); break;
    default: break;
  }
}

Result<void, ParseError> MessageParser::applyTyped(Message& m, const Header& h) {
  const std::string_view v = h.value;
  switch (h.id) {
    case HeaderId::Via: return parseViaList(v, m.vias_);
    case HeaderId::From:
    case HeaderId::To: {
      auto na = parseNameAddr(v);
      if (!na) {
        return fail(na.error());
      }
      auto& slot = h.id == HeaderId::From ? m.from_ : m.to_;
      if (!slot) {
        slot = *na;
      }
      return {};
    }
    case HeaderId::CallId: {
      auto c = parseCallId(v);
      if (!c) {
        return fail(c.error());
      }
      if (m.call_id_.empty()) {
        m.call_id_ = *c;
      }
      return {};
    }
    case HeaderId::CSeq: {
      auto c = parseCSeq(v);
      if (!c) {
        return fail(c.error());
      }
      if (!m.cseq_) {
        m.cseq_ = *c;
      }
      return {};
    }
    case HeaderId::MaxForwards: {
      auto mf = parseMaxForwards(v);
      if (!mf) {
        return fail(mf.error());
      }
      if (!m.max_forwards_) {
        m.max_forwards_ = *mf;
      }
      return {};
    }
    case HeaderId::ContentLength: {
      auto cl = parseContentLength(v);
      if (!cl) {
        return fail(cl.error());
      }
      // Two different lengths make framing impossible (RFC 4475 3.3.9).
      if (m.content_length_ && *m.content_length_ != *cl) {
        return fail(error(ParseErrorCode::DuplicateHeader, 0, "conflicting Content-Length values"));
      }
      m.content_length_ = *cl;
      return {};
    }
    case HeaderId::Contact:
      if (trimWs(v) == "*") {
        m.contact_star_ = true;
        return {};
      }
      return parseNameAddrList(v, m.contacts_);
    case HeaderId::Route: return parseNameAddrList(v, m.routes_);
    case HeaderId::RecordRoute: return parseNameAddrList(v, m.record_routes_);
    default: return {};
  }
}

Result<void, ParseError> MessageParser::checkValue(HeaderId id, std::string_view value) {
  if (!isTyped(id)) {
    return {};
  }
  Message scratch(Message::Arena::create(1024));
  Header h;
  h.id = id;
  h.value = value;
  return applyTyped(scratch, h);
}

Result<Message, ParseError> MessageParser::parse(std::string_view in, const ParseOptions& opt) {
  const ParseLimits& lim = opt.limits;
  if (in.empty()) {
    return fail(error(ParseErrorCode::Empty, 0, ""));
  }
  if (in.size() > lim.max_message_bytes) {
    return fail(error(ParseErrorCode::MessageTooLarge, lim.max_message_bytes, "limit exceeded"));
  }
  // The arena holds the bytes and, typically, every typed vector: sized from the message.
  Message m(Message::Arena::create(in.size() + 2048 + 3 * in.size()));
  char* bytes = static_cast<char*>(m.pool_->resource()->allocate(in.size(), 1));
  std::memcpy(bytes, in.data(), in.size());
  m.buffer_ = bytes;
  m.size_ = in.size();
  const std::string_view s(m.buffer_, m.size_);

  std::optional<ParseError> first;
  auto note = [&first](ParseError e) {
    if (!first) {
      first = std::move(e);
    }
  };

  // ---- start line ----
  const std::size_t scan_len = std::min(s.size(), lim.max_start_line_bytes + 2);
  const void* nlp = std::memchr(s.data(), '\n', scan_len);
  if (nlp == nullptr) {
    if (s.size() > lim.max_start_line_bytes) {
      return fail(
          error(ParseErrorCode::StartLineTooLong, lim.max_start_line_bytes, "limit exceeded"));
    }
    return fail(error(ParseErrorCode::HeaderSectionIncomplete, s.size(), "no end of start line"));
  }
  const std::size_t eol = static_cast<std::size_t>(static_cast<const char*>(nlp) - s.data());
  if (eol == 0 || s[eol - 1] != '\r') {
    return fail(error(ParseErrorCode::BadStartLine, eol, "line not ended by CRLF"));
  }
  const std::string_view line = s.substr(0, eol - 1);
  m.start_line_raw_ = s.substr(0, eol + 1);
  if (line.size() >= 4 && iequals(line.substr(0, 4), "SIP/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    const std::size_t sp = line.find(' ');
    if (sp == npos || !isVersion(line.substr(0, sp))) {
      return fail(error(ParseErrorCode::BadVersion, 0, "malformed SIP-Version"));
    }
    m.version_ = line.substr(0, sp);
    const std::string_view rest = line.substr(sp + 1);
    if (rest.size() < 4 || rest[3] != ' ') {
      return fail(error(ParseErrorCode::BadStatusCode, sp + 1, "expected 3-digit code and SP"));
    }
    auto code = parseDecimal(rest.substr(0, 3), 699);
    if (!code || *code < 100) {
      return fail(error(ParseErrorCode::BadStatusCode, sp + 1, "code outside 100-699"));
    }
    m.status_code_ = static_cast<int>(*code);
    m.reason_ = rest.substr(4);
    if (const std::size_t bad = badReasonChar(m.reason_); bad != npos) {
      return fail(error(ParseErrorCode::BadReasonPhrase, sp + 5 + bad, "control character"));
    }
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version, single spaces (RFC 3261 25.1)
    const std::size_t sp1 = line.find(' ');
    if (sp1 == npos || sp1 == 0) {
      return fail(error(ParseErrorCode::BadStartLine, sp1 == npos ? line.size() : 0,
                        "expected Method SP Request-URI SP SIP-Version"));
    }
    m.method_text_ = line.substr(0, sp1);
    if (!isToken(m.method_text_)) {
      return fail(error(ParseErrorCode::BadMethod, 0, "method is not a token"));
    }
    m.method_ = methodFromToken(m.method_text_);
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == npos) {
      note(error(ParseErrorCode::BadStartLine, line.size(), "missing SIP-Version"));
    } else if (sp2 == sp1 + 1 || line.find(' ', sp2 + 1) != npos || line.find('\t') != npos) {
      note(error(ParseErrorCode::BadStartLine, sp2, "extra whitespace in request line"));
    } else {
      const std::string_view uri_text = line.substr(sp1 + 1, sp2 - sp1 - 1);
      m.version_ = line.substr(sp2 + 1);
      auto uri = parseUri(uri_text);
      if (!uri) {
        ParseError e = uri.error();
        e.code = ParseErrorCode::BadRequestUri;
        e.offset += sp1 + 1;
        note(std::move(e));
      } else if (!uri->headers.empty()) {
        note(error(ParseErrorCode::BadRequestUri, sp1 + 1, "headers not allowed in Request-URI"));
      } else {
        m.request_uri_ = *uri;
      }
      if (!isVersion(m.version_)) {
        note(error(ParseErrorCode::BadVersion, sp2 + 1, "malformed SIP-Version"));
      }
    }
  }

  // ---- header fields ----
  m.headers_.reserve(24);
  std::size_t pos = eol + 1;
  std::size_t body_start = npos;
  while (true) {
    if (pos >= s.size()) {
      return fail(
          error(ParseErrorCode::HeaderSectionIncomplete, pos, "no empty line after headers"));
    }
    if (pos > lim.max_header_section_bytes) {
      return fail(error(ParseErrorCode::MessageTooLarge, pos, "header section too large"));
    }
    if (s[pos] == '\r' && pos + 1 < s.size() && s[pos + 1] == '\n') {
      body_start = pos + 2;
      break;
    }
    // One field: the first line plus any continuation lines starting with SP/HTAB.
    const std::size_t field_start = pos;
    bool folded = false;
    std::size_t field_end = pos;
    while (true) {
      const void* p = std::memchr(s.data() + field_end, '\n', s.size() - field_end);
      if (p == nullptr) {
        return fail(error(ParseErrorCode::HeaderSectionIncomplete, s.size(),
                          "no empty line after headers"));
      }
      const std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(p) - s.data());
      if (s[nl - 1] != '\r') {
        return fail(error(ParseErrorCode::BadHeaderLine, nl, "line not ended by CRLF"));
      }
      field_end = nl + 1;
      if (field_end < s.size() && (s[field_end] == ' ' || s[field_end] == '\t')) {
        folded = true;
        continue;
      }
      break;
    }
    if (field_end - field_start > lim.max_header_bytes) {
      return fail(error(ParseErrorCode::HeaderTooLong, field_start, "limit exceeded"));
    }
    if (m.headers_.size() >= lim.max_headers) {
      return fail(error(ParseErrorCode::TooManyHeaders, field_start, "limit exceeded"));
    }
    if (field_start == eol + 1 && (s[field_start] == ' ' || s[field_start] == '\t')) {
      return fail(
          error(ParseErrorCode::BadHeaderLine, field_start, "continuation line without header"));
    }
    Header h;
    h.raw = s.substr(field_start, field_end - field_start);
    std::string_view content = h.raw.substr(0, h.raw.size() - 2);
    if (folded) {
      content = m.store(scan::unfold(content));
    }
    const std::size_t name_end = scan::skipToken(content, 0);
    h.name = content.substr(0, name_end);
    const std::size_t colon = scan::skipWs(content, name_end);
    const std::size_t value_offset = folded ? field_start : field_start + colon + 1;
    if (name_end == 0 || colon >= content.size() || content[colon] != ':') {
      ParseError e = error(ParseErrorCode::BadHeaderName, field_start + name_end,
                           name_end == 0 ? "empty or invalid header name" : "expected ':'");
      h.valid = false;
      h.name = content.substr(0, std::min(content.size(), std::max<std::size_t>(name_end, 1)));
      h.value = {};
      m.headers_.push_back(h);
      note(std::move(e));
      pos = field_end;
      continue;
    }
    h.value = trimWs(content.substr(colon + 1));
    h.id = headerIdFromName(h.name);
    if (h.id != HeaderId::Other) {
      auto r = applyTyped(m, h);
      if (!r) {
        ParseError e = r.error();
        e.header = std::string(h.name);
        e.offset += folded ? field_start
                           : value_offset + static_cast<std::size_t>(h.value.data() -
                                                                     (content.data() + colon + 1));
        h.valid = false;
        note(std::move(e));
      } else if (h.id == HeaderId::Via && m.vias_.size() > lim.max_vias) {
        return fail(error(ParseErrorCode::TooManyVias, field_start, "limit exceeded"));
      }
    }
    m.headers_.push_back(h);
    pos = field_end;
  }

  // ---- body ----
  std::string_view rest = s.substr(body_start);
  if (m.content_length_) {
    const std::uint64_t cl = *m.content_length_;
    if (cl > lim.max_body_bytes) {
      note(error(ParseErrorCode::BodyTooLarge, body_start, "Content-Length above limit"));
    } else if (cl > rest.size()) {
      note(error(ParseErrorCode::BodyTruncated, s.size(), "fewer body bytes than Content-Length"));
    } else if (opt.datagram) {
      rest = rest.substr(0, cl);  // RFC 3261 18.3: extra octets are discarded
    } else if (cl != rest.size()) {
      note(error(ParseErrorCode::BadContentLength, body_start, "does not match the framed body"));
    }
  } else if (!opt.datagram && !rest.empty()) {
    note(error(ParseErrorCode::MissingContentLength, body_start, "required on stream transports"));
  }
  if (rest.size() > lim.max_body_bytes) {
    note(error(ParseErrorCode::BodyTooLarge, body_start, "limit exceeded"));
    rest = rest.substr(0, 0);
  }
  m.body_ = rest;

  if (first) {
    // A 400 can be addressed when this is a request (not ACK) with the headers a response copies.
    first->addressable = addressable(m);
    if (!opt.tolerant) {
      return fail(std::move(*first));
    }
    m.first_error_ = std::move(first);
  }
  return m;
}

Result<Message, ParseError> parseMessage(std::string_view bytes, const ParseOptions& options) {
  return MessageParser::parse(bytes, options);
}

}  // namespace sipedge::sip
