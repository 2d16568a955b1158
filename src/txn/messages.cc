#include "messages.h"

#include "sipedge/base/assert.h"
#include "sipedge/sip/headers.h"
#include "sipedge/sip/response.h"

namespace sipedge::txn {
namespace {

using sip::appendHeader;

std::string_view headerValue(const sip::Message& m, sip::HeaderId id) {
  const sip::Header* h = m.find(id);
  return h != nullptr ? h->value : std::string_view();
}

// An ACK or CANCEL: everything but To and the CSeq method is the request's.
std::string buildAckOrCancel(const RequestParts& r, std::string_view method, std::string_view to) {
  std::string out;
  out.reserve(256 + r.request_uri.size() + r.top_via.size() + r.from.size() + to.size());
  out += method;
  out += ' ';
  out += r.request_uri;
  out += " SIP/2.0\r\n";
  appendHeader(out, "Via", r.top_via);
  appendHeader(out, "Max-Forwards", "70");
  for (const std::string& route : r.routes) {
    appendHeader(out, "Route", route);
  }
  appendHeader(out, "From", r.from);
  appendHeader(out, "To", to);
  appendHeader(out, "Call-ID", r.call_id);
  appendHeader(out, "CSeq", std::to_string(r.cseq) + " " + std::string(method));
  appendHeader(out, "Content-Length", "0");
  out += "\r\n";
  return out;
}

void statusLine(std::string& out, int status) {
  out += "SIP/2.0 ";
  out += std::to_string(status);
  out += ' ';
  out += sip::defaultReason(status);
  out += "\r\n";
}

}  // namespace

bool hasTransactionHeaders(const sip::Message& m) {
  return !m.vias().empty() && m.from() != nullptr && m.to() != nullptr && !m.callId().empty() &&
         m.cseq().has_value();
}

RequestParts requestParts(const sip::Message& request) {
  SIPEDGE_ASSERT(hasTransactionHeaders(request));
  RequestParts p;
  p.method = std::string(request.methodText());
  p.request_uri = std::string(request.requestUri().text);
  p.top_via = std::string(request.vias().front().text);
  p.from = std::string(headerValue(request, sip::HeaderId::From));
  p.to = std::string(headerValue(request, sip::HeaderId::To));
  p.call_id = std::string(request.callId());
  p.cseq = request.cseq()->number;
  for (const sip::Header& h : request.headers()) {
    if (h.id == sip::HeaderId::Route) {
      p.routes.emplace_back(h.value);
    }
  }
  return p;
}

AnswerParts answerParts(const sip::Message& request) {
  SIPEDGE_ASSERT(hasTransactionHeaders(request));
  AnswerParts p;
  for (const sip::Header& h : request.headers()) {
    if (h.id == sip::HeaderId::Via) {
      p.vias.emplace_back(h.value);
    }
  }
  p.from = std::string(headerValue(request, sip::HeaderId::From));
  p.to = std::string(headerValue(request, sip::HeaderId::To));
  p.to_has_tag = !request.to()->tag.empty();
  p.call_id = std::string(request.callId());
  p.cseq = std::string(headerValue(request, sip::HeaderId::CSeq));
  if (const sip::Header* ts = request.find("Timestamp"); ts != nullptr) {
    p.timestamp = std::string(ts->value);
  }
  return p;
}

std::string buildAck(const RequestParts& request, std::string_view response_to) {
  return buildAckOrCancel(request, "ACK", response_to);
}

std::string buildCancel(const RequestParts& request) {
  return buildAckOrCancel(request, "CANCEL", request.to);
}

std::string buildResponse(const AnswerParts& r, int status, std::string_view to_tag,
                          std::string_view extra_headers) {
  std::string out;
  out.reserve(256 + r.from.size() + r.to.size() + r.call_id.size() + extra_headers.size());
  statusLine(out, status);
  for (const std::string& via : r.vias) {
    appendHeader(out, "Via", via);
  }
  appendHeader(out, "From", r.from);
  if (!r.to_has_tag && !to_tag.empty()) {
    appendHeader(out, "To", r.to + ";tag=" + std::string(to_tag));
  } else {
    appendHeader(out, "To", r.to);
  }
  appendHeader(out, "Call-ID", r.call_id);
  appendHeader(out, "CSeq", r.cseq);
  if (status == 100 && !r.timestamp.empty()) {
    appendHeader(out, "Timestamp", r.timestamp);
  }
  out += extra_headers;
  appendHeader(out, "Content-Length", "0");
  out += "\r\n";
  return out;
}

sip::Message synthesizeResponse(const RequestParts& r, int status) {
  std::string text;
  statusLine(text, status);
  appendHeader(text, "Via", r.top_via);
  appendHeader(text, "From", r.from);
  appendHeader(text, "To", r.to);
  appendHeader(text, "Call-ID", r.call_id);
  appendHeader(text, "CSeq", std::to_string(r.cseq) + " " + r.method);
  appendHeader(text, "Content-Length", "0");
  text += "\r\n";
  sip::ParseOptions options;
  // Every value was accepted by this parser before (in the request); only the limits could differ.
  options.limits.max_message_bytes = text.size() + 1;
  options.limits.max_header_section_bytes = text.size() + 1;
  options.limits.max_header_bytes = text.size() + 1;
  auto message = sip::parseMessage(text, options);
  SIPEDGE_RELEASE_ASSERT(message.has_value());
  return std::move(*message);
}

std::optional<std::string> viaWithAddress(const sip::Via& via, const transport::ViaAddress& at) {
  std::string value;
  value += via.protocol_name;
  value += '/';
  value += via.protocol_version;
  value += '/';
  value += transport::transportName(at.transport);
  value += ' ';
  const bool bare_v6 = at.host.find(':') != std::string::npos && at.host.front() != '[';
  value += bare_v6 ? "[" + at.host + "]" : at.host;
  if (at.port != 0) {
    value += ':';
    value += std::to_string(at.port);
  }
  value += via.params.raw();
  std::vector<sip::Via> check;
  if (at.host.empty() || !sip::parseViaList(value, check) || check.size() != 1) {
    return std::nullopt;
  }
  return value;
}

}  // namespace sipedge::txn
