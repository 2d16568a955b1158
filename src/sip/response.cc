#include "sipedge/sip/response.h"

#include "sipedge/base/strings.h"

namespace sipedge::sip {

std::string_view defaultReason(int status) {
  switch (status) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Notification";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 305: return "Use Proxy";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 423: return "Interval Too Brief";
    case 429: return "Provide Referrer Identity";  // RFC 3892 (not HTTP's "Too Many Requests")
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 489: return "Bad Event";
    case 491: return "Request Pending";
    case 493: return "Undecipherable";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    default: return "";
  }
}

void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

namespace {

// Whether a To value already carries a tag parameter (outside quotes and angle brackets' URI).
bool hasTag(const Message& request, std::string_view raw_to) {
  if (const NameAddr* to = request.to()) {
    return !to->tag.empty();
  }
  // Tolerant parse with a malformed To: look for ";tag=" after the last '>' (or anywhere).
  std::size_t from = raw_to.rfind('>');
  std::string_view params = from == std::string_view::npos ? raw_to : raw_to.substr(from);
  std::string lower = toLower(params);
  return lower.find(";tag=") != std::string::npos;
}

}  // namespace

std::string responseText(const Message& request, int status, std::string_view reason,
                         std::string_view to_tag, std::span<const ExtraHeader> extra,
                         std::string_view body, std::string_view content_type) {
  std::string out;
  out.reserve(512 + body.size());
  out += "SIP/2.0 ";
  out += std::to_string(status);
  out += ' ';
  if (reason.empty()) {
    reason = defaultReason(status);
  }
  for (char c : reason) {
    out += (c == '\r' || c == '\n') ? ' ' : c;
  }
  out += "\r\n";
  for (const Header& h : request.headers()) {
    switch (h.id) {
      case HeaderId::Via: appendHeader(out, "Via", h.value); break;
      case HeaderId::From: appendHeader(out, "From", h.value); break;
      case HeaderId::To:
        if (status > 100 && !to_tag.empty() && !hasTag(request, h.value)) {
          out += "To: ";
          out += h.value;
          out += ";tag=";
          out += to_tag;
          out += "\r\n";
        } else {
          appendHeader(out, "To", h.value);
        }
        break;
      case HeaderId::CallId: appendHeader(out, "Call-ID", h.value); break;
      case HeaderId::CSeq: appendHeader(out, "CSeq", h.value); break;
      default: break;
    }
  }
  for (const auto& [name, value] : extra) {
    appendHeader(out, name, value);
  }
  if (!body.empty() && !content_type.empty()) {
    appendHeader(out, "Content-Type", content_type);
  }
  appendHeader(out, "Content-Length", std::to_string(body.size()));
  out += "\r\n";
  out += body;
  return out;
}

Result<Message, ParseError> makeResponse(const Message& request, int status,
                                         std::string_view reason, std::string_view to_tag,
                                         std::span<const ExtraHeader> extra) {
  std::string text = responseText(request, status, reason, to_tag, extra);
  return parseMessage(text, ParseOptions{});
}

}  // namespace sipedge::sip
