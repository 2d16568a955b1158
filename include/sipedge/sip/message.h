#pragma once

// A SIP request or response (RFC 3261 7). The message owns the bytes it was parsed from; every
// header is kept, in order, as a name and a value viewing those bytes, and the headers the stack
// works with are parsed eagerly into typed values (STYLE S4). Unmodified headers serialize byte
// for byte; modified ones serialize canonically.
//
// Memory: one arena block per message holds the received bytes and the typed vectors (one
// allocation to parse, one to free); text written by the modifiers is kept beside it. String
// views returned by the accessors stay valid while the message lives, moves included; the spans
// (headers(), vias(), ...) and pointers (from(), find(), ...) are invalidated by any modification.

#include <cstdint>
#include <memory>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/base/result.h"
#include "sipedge/sip/error.h"
#include "sipedge/sip/headers.h"
#include "sipedge/sip/limits.h"
#include "sipedge/sip/method.h"
#include "sipedge/sip/uri.h"

namespace sipedge::sip {

struct Header {
  HeaderId id = HeaderId::Other;
  std::string_view name;   // as written (or canonical when added by us)
  std::string_view value;  // trimmed; folded lines already joined with single spaces
  std::string_view raw;    // the whole field as received, CRLF included; empty once modified
  bool valid = true;       // false only in messages parsed with tolerant = true
};

struct ParseOptions {
  ParseLimits limits;
  // Keep going past malformed header values (they stay as raw headers with valid = false) so
  // that a 400 can still be addressed. The first error is kept in Message::firstError().
  bool tolerant = false;
  // Stream transports frame by Content-Length themselves; for datagrams a Content-Length below
  // the body size truncates the body (RFC 3261 18.3) and one above it is an error.
  bool datagram = true;
};

class Message {
 public:
  Message(Message&&) noexcept = default;
  Message& operator=(Message&& other) noexcept;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  ~Message() = default;

  // A deep copy (messages are move-only so that copies are visible in review).
  [[nodiscard]] Message clone() const;

  bool isRequest() const { return status_code_ == 0; }
  bool isResponse() const { return status_code_ != 0; }

  // Requests.
  Method method() const { return method_; }
  std::string_view methodText() const { return method_text_; }
  const Uri& requestUri() const { return request_uri_; }
  // Responses.
  int statusCode() const { return status_code_; }
  std::string_view reasonPhrase() const { return reason_; }
  std::string_view version() const { return version_; }

  std::span<const Header> headers() const { return headers_; }
  // The first header with this id (or name, case-insensitively, compact forms included).
  const Header* find(HeaderId id) const;
  const Header* find(std::string_view name) const;
  std::size_t count(HeaderId id) const;

  // Typed values, parsed eagerly.
  std::span<const Via> vias() const { return vias_; }
  const NameAddr* from() const { return from_ ? &*from_ : nullptr; }
  const NameAddr* to() const { return to_ ? &*to_ : nullptr; }
  std::string_view callId() const { return call_id_; }
  const std::optional<CSeq>& cseq() const { return cseq_; }
  std::optional<std::uint32_t> maxForwards() const { return max_forwards_; }
  std::optional<std::uint64_t> contentLength() const { return content_length_; }
  std::span<const NameAddr> contacts() const { return contacts_; }
  bool contactStar() const { return contact_star_; }
  std::span<const NameAddr> routes() const { return routes_; }
  std::span<const NameAddr> recordRoutes() const { return record_routes_; }
  std::string_view body() const { return body_; }
  // The size of the bytes the message was parsed from (0 for a message built in memory).
  std::size_t receivedSize() const { return size_; }

  // Typed values of headers kept raw, parsed on demand (STYLE S4): nullopt when the header is
  // absent; an error (with the header's name and byte offset) when it is malformed. List headers
  // gather every instance in order.
  [[nodiscard]] Result<std::optional<std::uint32_t>, ParseError> expires() const;
  [[nodiscard]] Result<std::optional<std::uint32_t>, ParseError> minExpires() const;
  [[nodiscard]] Result<std::optional<ContentType>, ParseError> contentType() const;
  [[nodiscard]] Result<std::optional<RetryAfter>, ParseError> retryAfter() const;
  [[nodiscard]] Result<std::optional<NameAddr>, ParseError> referTo() const;
  [[nodiscard]] Result<std::optional<NameAddr>, ParseError> referredBy() const;
  [[nodiscard]] Result<std::vector<NameAddr>, ParseError> assertedIdentities() const;
  [[nodiscard]] Result<std::vector<NameAddr>, ParseError> paths() const;
  // Supported, Require, Proxy-Require, Unsupported, Allow, Allow-Events.
  [[nodiscard]] Result<std::vector<std::string_view>, ParseError> tokens(HeaderId id) const;

  // Byte offset of `text` (a view returned by this message) in the parsed input; 0 for text we
  // wrote ourselves.
  std::size_t offsetOf(std::string_view text) const;

  // Tolerant parses only: the first problem found.
  const std::optional<ParseError>& firstError() const { return first_error_; }

  // ---- modification; each keeps the typed view in step and leaves other headers untouched ----
  // Appends a header after the existing ones.
  [[nodiscard]] Result<void, ParseError> addHeader(std::string_view name, std::string_view value);
  // Inserts before headers()[index] (index == headers().size() appends).
  [[nodiscard]] Result<void, ParseError> insertHeader(std::size_t index, std::string_view name,
                                                      std::string_view value);
  // Replaces the first header with this name and removes the others; appends when absent.
  [[nodiscard]] Result<void, ParseError> setHeader(std::string_view name, std::string_view value);
  // Replaces the value of headers()[index].
  [[nodiscard]] Result<void, ParseError> replaceHeaderAt(std::size_t index, std::string_view value);
  void removeHeaderAt(std::size_t index);
  // Removes all headers with this name; returns how many were removed.
  std::size_t removeHeaders(std::string_view name);
  // Removes the topmost Via value (splitting a comma-separated Via header if needed).
  void removeTopVia();
  // Prepends a Via header (the value is validated).
  [[nodiscard]] Result<void, ParseError> pushVia(std::string_view value);
  [[nodiscard]] Result<void, ParseError> setRequestUri(std::string_view uri);
  void setStatus(int code, std::string_view reason);
  // Replaces the body and keeps Content-Length (and Content-Type, when given) in step.
  void setBody(std::string_view body, std::optional<std::string_view> content_type = std::nullopt);

  // Serializes the message: byte-identical to the input for an unmodified parsed message.
  [[nodiscard]] std::string serialize() const;
  void serializeTo(std::string& out) const;

 private:
  friend class MessageParser;
  // One heap block per message: a monotonic arena that holds the received bytes and the typed
  // vectors, so that parsing a message costs one allocation and freeing it one more.
  // Vectors that outgrow the block continue in further blocks from the heap.
  class Arena {
   public:
    static std::unique_ptr<Arena> create(std::size_t bytes);
    std::pmr::memory_resource* resource() { return &resource_; }
    static void operator delete(void* p) { ::operator delete(p); }

   private:
    Arena(void* buffer, std::size_t size) : resource_(buffer, size) {}
    std::pmr::monotonic_buffer_resource resource_;
  };

  explicit Message(std::unique_ptr<Arena> arena);

  std::string_view store(std::string_view text);
  [[nodiscard]] Result<void, ParseError> refreshTyped(HeaderId id);
  [[nodiscard]] Result<void, ParseError> makeHeader(std::string_view name, std::string_view value,
                                                    Header& out);

  std::unique_ptr<Arena> pool_;
  const char* buffer_ = nullptr;  // the received bytes, in pool_
  std::size_t size_ = 0;
  // Text we wrote (modified values). Each string is heap-allocated once and never moves, so views
  // into it stay valid as this list grows and when the message is moved.
  std::vector<std::unique_ptr<std::string>> written_;

  std::string_view start_line_raw_;  // with CRLF; empty once modified
  Method method_ = Method::Unknown;
  std::string_view method_text_;
  Uri request_uri_;
  std::string_view version_;
  int status_code_ = 0;
  std::string_view reason_;

  std::pmr::vector<Header> headers_;
  std::pmr::vector<Via> vias_;
  std::optional<NameAddr> from_;
  std::optional<NameAddr> to_;
  std::string_view call_id_;
  std::optional<CSeq> cseq_;
  std::optional<std::uint32_t> max_forwards_;
  std::optional<std::uint64_t> content_length_;
  std::pmr::vector<NameAddr> contacts_;
  bool contact_star_ = false;
  std::pmr::vector<NameAddr> routes_;
  std::pmr::vector<NameAddr> record_routes_;
  std::string_view body_;
  std::optional<ParseError> first_error_;
};

// Parses one message (RFC 3261 7 and 25). Pure and bounded by options.limits.
[[nodiscard]] Result<Message, ParseError> parseMessage(std::string_view bytes,
                                                       const ParseOptions& options = {});

// What the gateway checks on everything it receives, beyond syntax (RFC 3261 8.1.1, 8.2.2):
// mandatory headers present (To, From, CSeq, Call-ID, Via; Max-Forwards on requests), CSeq method
// equal to the request method, exactly one of each single-valued header, numeric ranges.
[[nodiscard]] Result<void, ParseError> validate(const Message& msg);

}  // namespace sipedge::sip
