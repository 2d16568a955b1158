// Fuzz target: sip::parseMessage, Message::serialize, sip::validate and the Message modifiers.
//
// The whole input is one message. It is always parsed as a datagram with the default options;
// the last byte (mixed with the size, so that the seed corpus exercises every variant) chooses
// whether it is also parsed with tolerant = true, with datagram = false, or with both.
//
// Properties, for every parse that succeeds:
//  (a) serialize() parses again with the same options into an equal message, and serializing
//      that one gives the same bytes (idempotence);
//  (b) a strict parse whose body was not cut by Content-Length serializes byte for byte to the
//      input (unmodified messages are forwarded unchanged);
//  (c) validate() returns a value (never crashes);
//  (d) removeTopVia, pushVia, setHeader("Call-ID"), setRequestUri / setStatus keep the message
//      serializable: the result parses again, with the values that were set.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz_check.h"
#include "sipedge/sip/message.h"

namespace {

using sipedge::sip::Header;
using sipedge::sip::Message;
using sipedge::sip::NameAddr;
using sipedge::sip::ParseOptions;

constexpr std::string_view kVia = "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-fuzz;rport";
constexpr std::string_view kBranch = "z9hG4bK-fuzz";
constexpr std::string_view kCallId = "x@y";
constexpr std::string_view kRequestUri = "sip:fuzz@127.0.0.1:5060;transport=tcp";

void checkSameNameAddr(const NameAddr* a, const NameAddr* b) {
  FUZZ_CHECK((a == nullptr) == (b == nullptr));
  if (a != nullptr) {
    FUZZ_CHECK(a->uri.text == b->uri.text);
    FUZZ_CHECK(a->tag == b->tag);
    FUZZ_CHECK(a->display == b->display);
  }
}

// Headers (name and value, in order) and, when `typed`, the typed views too; when `errors`, the
// first error of a tolerant parse as well.
void checkSameMessage(const Message& a, const Message& b, bool typed, bool errors) {
  FUZZ_CHECK(a.isRequest() == b.isRequest());
  FUZZ_CHECK(a.version() == b.version());
  if (a.isRequest()) {
    FUZZ_CHECK(a.method() == b.method());
    FUZZ_CHECK(a.methodText() == b.methodText());
    FUZZ_CHECK(a.requestUri().text == b.requestUri().text);
  } else {
    FUZZ_CHECK(a.statusCode() == b.statusCode());
    FUZZ_CHECK(a.reasonPhrase() == b.reasonPhrase());
  }
  FUZZ_CHECK(a.headers().size() == b.headers().size());
  for (std::size_t i = 0; i < a.headers().size(); ++i) {
    FUZZ_CHECK(a.headers()[i].name == b.headers()[i].name);
    FUZZ_CHECK(a.headers()[i].value == b.headers()[i].value);
    FUZZ_CHECK(a.headers()[i].id == b.headers()[i].id);
    FUZZ_CHECK(a.headers()[i].valid == b.headers()[i].valid);
  }
  FUZZ_CHECK(a.body() == b.body());
  if (!typed) {
    return;
  }
  FUZZ_CHECK(a.vias().size() == b.vias().size());
  for (std::size_t i = 0; i < a.vias().size(); ++i) {
    FUZZ_CHECK(a.vias()[i].branch == b.vias()[i].branch);
    FUZZ_CHECK(a.vias()[i].host == b.vias()[i].host);
    FUZZ_CHECK(a.vias()[i].port == b.vias()[i].port);
    FUZZ_CHECK(a.vias()[i].transport == b.vias()[i].transport);
  }
  checkSameNameAddr(a.from(), b.from());
  checkSameNameAddr(a.to(), b.to());
  FUZZ_CHECK(a.callId() == b.callId());
  FUZZ_CHECK(a.cseq() == b.cseq());
  FUZZ_CHECK(a.maxForwards() == b.maxForwards());
  FUZZ_CHECK(a.contentLength() == b.contentLength());
  FUZZ_CHECK(a.contacts().size() == b.contacts().size());
  FUZZ_CHECK(a.contactStar() == b.contactStar());
  FUZZ_CHECK(a.routes().size() == b.routes().size());
  FUZZ_CHECK(a.recordRoutes().size() == b.recordRoutes().size());
  if (errors) {
    FUZZ_CHECK(a.firstError().has_value() == b.firstError().has_value());
    if (a.firstError()) {
      FUZZ_CHECK(a.firstError()->code == b.firstError()->code);
    }
  }
}

// Touches the accessors that compute something, for the sanitizers' benefit.
void exercise(const Message& m) {
  (void)sipedge::sip::validate(m);  // (c)
  if (m.firstError()) {
    (void)m.firstError()->reason();
    (void)m.firstError()->describe();
  }
  for (const Header& h : m.headers()) {
    (void)m.offsetOf(h.raw);
    (void)m.find(h.name);
  }
  for (const NameAddr& c : m.contacts()) {
    (void)c.displayName();
    (void)c.qMilli();
    (void)c.expires();
  }
  if (m.from() != nullptr) {
    (void)m.from()->displayName();
  }
}

void checkModifications(Message m, const ParseOptions& options) {
  m.removeTopVia();
  const auto pushed = m.pushVia(kVia);
  FUZZ_CHECK(pushed.has_value());
  FUZZ_CHECK(!m.vias().empty() && m.vias().front().branch == kBranch);
  const auto set = m.setHeader("Call-ID", kCallId);
  FUZZ_CHECK(set.has_value());
  FUZZ_CHECK(m.callId() == kCallId);
  if (m.isRequest()) {
    const auto ruri = m.setRequestUri(kRequestUri);
    FUZZ_CHECK(ruri.has_value());
    FUZZ_CHECK(m.requestUri().text == kRequestUri);
  } else {
    m.setStatus(486, "Busy Here");
  }
  exercise(m);

  const std::string text = m.serialize();
  // The modifications may take the message past the limits it was parsed with (one more Via,
  // one more header, a longer start line): those are not what is checked here.
  ParseOptions relaxed = options;
  relaxed.limits.max_message_bytes = text.size() + 1;
  relaxed.limits.max_header_section_bytes = text.size() + 1;
  relaxed.limits.max_start_line_bytes = text.size() + 1;
  relaxed.limits.max_header_bytes = text.size() + 1;
  relaxed.limits.max_headers = m.headers().size() + 1;
  relaxed.limits.max_vias = SIZE_MAX;
  relaxed.limits.max_body_bytes = text.size() + 1;
  auto again = sipedge::sip::parseMessage(text, relaxed);
  FUZZ_CHECK(again.has_value());
  // Typed views are compared only for strict parses: a tolerant parse keeps the values parsed
  // from a header before it turned out to be malformed (so that a 400 can still be addressed),
  // while a modifier recomputes them from the valid headers only.
  checkSameMessage(m, *again, !options.tolerant, false);
  FUZZ_CHECK(again->callId() == kCallId);
  FUZZ_CHECK(!again->vias().empty() && again->vias().front().branch == kBranch);
  if (again->isRequest()) {
    FUZZ_CHECK(again->requestUri().text == kRequestUri);
  } else {
    FUZZ_CHECK(again->statusCode() == 486 && again->reasonPhrase() == "Busy Here");
  }
  FUZZ_CHECK(again->serialize() == text);
}

void checkOne(std::string_view input, const ParseOptions& options) {
  auto parsed = sipedge::sip::parseMessage(input, options);
  if (!parsed) {
    (void)parsed.error().reason();
    (void)parsed.error().describe();
    return;
  }
  const Message& m = *parsed;
  exercise(m);
  FUZZ_CHECK(options.tolerant || !m.firstError());

  // The body starts after the first CRLFCRLF: the start line ends at the first LF, every LF in
  // the header section ends a line (bare LFs are errors) and a continuation line starts with SP
  // or HTAB, never CR.
  const std::size_t header_end = input.find("\r\n\r\n");
  FUZZ_CHECK(header_end != std::string_view::npos);
  const std::size_t body_start = header_end + 4;
  FUZZ_CHECK(m.offsetOf(m.body()) == body_start);
  const std::size_t received_body = input.size() - body_start;

  const std::string s1 = m.serialize();

  // (b) Only a datagram's Content-Length below the received body changes the bytes (the extra
  // octets are discarded, RFC 3261 18.3); tolerant parses may also drop an oversized body.
  if (!options.tolerant && (!m.contentLength() || *m.contentLength() == received_body)) {
    FUZZ_CHECK(s1 == input);
  }

  // (a) Re-parse with the same options: serialize() keeps every header byte for byte and writes
  // the body as parsed, so the header section is the same and the body now matches
  // Content-Length when the first parse cut it. (Re-parsing a tolerant stream parse as a
  // datagram would be wrong: its body may be longer than a mismatching Content-Length.)
  //
  // A tolerant parse drops a body above limits.max_body_bytes (keeping its Content-Length), so
  // the second parse finds a different body error, or none: compare errors only otherwise.
  const auto cl = m.contentLength();
  const bool cut =
      options.datagram && cl && *cl <= options.limits.max_body_bytes && *cl <= received_body;
  const bool body_dropped = m.body().size() != (cut ? *cl : received_body);
  FUZZ_CHECK(!body_dropped || options.tolerant);
  auto second = sipedge::sip::parseMessage(s1, options);
  FUZZ_CHECK(second.has_value());
  checkSameMessage(m, *second, true, !body_dropped);
  FUZZ_CHECK(second->serialize() == s1);

  // A clone serializes like the original (regress-clone-stream-body: a tolerant stream parse
  // whose Content-Length is below the body it kept once lost body bytes in the copy).
  const Message copy = m.clone();
  FUZZ_CHECK(copy.serialize() == s1);
  FUZZ_CHECK(copy.firstError().has_value() == m.firstError().has_value());

  // (d) Modifications, on the second parse (the first stays intact for comparison above).
  checkModifications(std::move(*second), options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  checkOne(input, ParseOptions{});
  if (size == 0) {
    return 0;
  }
  const auto selector = static_cast<std::uint8_t>(data[size - 1] ^ size);
  if ((selector & 1) != 0) {
    ParseOptions o;
    o.tolerant = true;
    checkOne(input, o);
  }
  if ((selector & 2) != 0) {
    ParseOptions o;
    o.datagram = false;
    checkOne(input, o);
  }
  if ((selector & 4) != 0) {
    ParseOptions o;
    o.tolerant = true;
    o.datagram = false;
    checkOne(input, o);
  }
  return 0;
}
