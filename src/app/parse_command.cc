// `sipedge parse`: check captured messages with the same parser and validation the gateway
// applies to what it receives.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "commands.h"
#include "sipedge/sip/message.h"
#include "sipedge/sip/stream_framer.h"

namespace sipedge::app {
namespace {

using sip::Message;
using sip::ParseError;

struct Totals {
  std::size_t messages = 0;
  std::size_t keepalives = 0;
  std::size_t bytes = 0;
  std::size_t errors = 0;
  std::map<std::string, std::size_t> by_reason;
};

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string uriText(const sip::Uri& u) {
  return printable(u.text);
}

void printNameAddr(const char* label, const sip::NameAddr& na) {
  fmt::print("  {}: uri={}", label, uriText(na.uri));
  if (!na.display.empty()) {
    fmt::print(" display=\"{}\"", printable(na.displayName()));
  }
  if (!na.tag.empty()) {
    fmt::print(" tag={}", printable(na.tag));
  }
  if (auto q = na.qMilli()) {
    fmt::print(" q={}.{:03}", *q / 1000, *q % 1000);
  }
  if (auto e = na.expires()) {
    fmt::print(" expires={}", *e);
  }
  fmt::print("\n");
}

// Headers parsed on demand: shown when present, with the reason when malformed (the gateway
// rejects them only where it uses them).
void printOnDemand(const Message& m) {
  auto malformed = [](const char* name, const ParseError& e) {
    fmt::print("  {}: malformed at byte {}: {}\n", name, e.offset, e.reason());
  };
  if (auto e = m.expires(); !e) {
    malformed("Expires", e.error());
  } else if (*e) {
    fmt::print("  Expires: {}\n", **e);
  }
  if (auto ct = m.contentType(); !ct) {
    malformed("Content-Type", ct.error());
  } else if (*ct) {
    fmt::print("  Content-Type: {}/{}\n", printable((*ct)->type), printable((*ct)->subtype));
  }
  if (auto ra = m.retryAfter(); !ra) {
    malformed("Retry-After", ra.error());
  } else if (*ra) {
    fmt::print("  Retry-After: {}\n", (*ra)->seconds);
  }
  if (auto r = m.referTo(); !r) {
    malformed("Refer-To", r.error());
  } else if (*r) {
    printNameAddr("Refer-To", **r);
  }
  if (auto p = m.assertedIdentities(); !p) {
    malformed("P-Asserted-Identity", p.error());
  } else {
    for (const auto& id : *p) {
      printNameAddr("P-Asserted-Identity", id);
    }
  }
  const std::pair<const char*, sip::HeaderId> lists[] = {{"Supported", sip::HeaderId::Supported},
                                                         {"Require", sip::HeaderId::Require},
                                                         {"Allow", sip::HeaderId::Allow}};
  for (const auto& [name, id] : lists) {
    auto t = m.tokens(id);
    if (!t) {
      malformed(name, t.error());
    } else if (!t->empty()) {
      fmt::print("  {}: {}\n", name, printable(fmt::format("{}", fmt::join(*t, ","))));
    }
  }
}

void printMessage(const Message& m) {
  if (m.isRequest()) {
    fmt::print("  request: {} {} {}\n", printable(m.methodText()), uriText(m.requestUri()),
               printable(m.version()));
  } else {
    fmt::print("  response: {} {} \"{}\"\n", printable(m.version()), m.statusCode(),
               printable(m.reasonPhrase()));
  }
  for (const sip::Via& v : m.vias()) {
    fmt::print("  Via: {}/{}/{} sent-by={}{}", printable(v.protocol_name),
               printable(v.protocol_version), printable(v.transport), printable(v.host),
               v.port ? fmt::format(":{}", *v.port) : std::string());
    if (!v.branch.empty()) {
      fmt::print(" branch={}", printable(v.branch));
    }
    if (!v.received.empty()) {
      fmt::print(" received={}", printable(v.received));
    }
    if (v.rport) {
      fmt::print(" rport{}", v.rport_value ? fmt::format("={}", *v.rport_value) : std::string());
    }
    fmt::print("\n");
  }
  if (const auto* f = m.from()) {
    printNameAddr("From", *f);
  }
  if (const auto* t = m.to()) {
    printNameAddr("To", *t);
  }
  fmt::print("  Call-ID: {}\n", printable(m.callId()));
  if (m.cseq()) {
    fmt::print("  CSeq: {} {}\n", m.cseq()->number, printable(m.cseq()->method_text));
  }
  if (m.maxForwards()) {
    fmt::print("  Max-Forwards: {}\n", *m.maxForwards());
  }
  if (m.contactStar()) {
    fmt::print("  Contact: *\n");
  }
  for (const auto& c : m.contacts()) {
    printNameAddr("Contact", c);
  }
  for (const auto& r : m.routes()) {
    printNameAddr("Route", r);
  }
  for (const auto& r : m.recordRoutes()) {
    printNameAddr("Record-Route", r);
  }
  printOnDemand(m);
  if (m.contentLength()) {
    fmt::print("  Content-Length: {}\n", *m.contentLength());
  }
  std::size_t other = 0;
  for (const auto& h : m.headers()) {
    other += h.id == sip::HeaderId::Other ? 1 : 0;
  }
  fmt::print("  headers: {} ({} unknown), body: {} bytes\n", m.headers().size(), other,
             m.body().size());
}

// Parses and validates one message; prints it or its error. Returns false on error.
bool checkMessage(const std::string& file, std::string_view bytes, std::size_t base_offset,
                  bool datagram, const ParseCommandOptions& opts, Totals& totals) {
  sip::ParseOptions po;
  po.datagram = datagram;
  auto report = [&](const ParseError& e) {
    ++totals.errors;
    ++totals.by_reason[e.reason()];
    if (!opts.summary) {
      fmt::print("{}: error at byte {}: {}\n", file, base_offset + e.offset, e.reason());
    }
    return false;
  };
  auto m = sip::parseMessage(bytes, po);
  if (!m) {
    return report(m.error());
  }
  if (auto v = sip::validate(*m); !v) {
    return report(v.error());
  }
  ++totals.messages;
  if (!opts.summary) {
    fmt::print("{}: ok ({} bytes{})\n", file, bytes.size(),
               base_offset > 0 ? fmt::format(", at byte {}", base_offset) : std::string());
    printMessage(*m);
  }
  return true;
}

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace

void addParseCommand(CLI::App& app, ParseCommandOptions& opts) {
  auto* cmd = app.add_subcommand(
      "parse", "Parse and validate SIP messages from files (one message per file, or a stream)");
  cmd->add_option("FILE", opts.files, "Files to check")->required();
  cmd->add_flag(
      "--stream", opts.stream,
      "Treat each file as a TCP/TLS byte stream of several messages (Content-Length framing)");
  cmd->add_flag("--summary", opts.summary, "Print only totals: messages, bytes, errors by reason");
}

int runParseCommand(const ParseCommandOptions& opts) {
  Totals totals;
  bool all_ok = true;
  for (const std::string& file : opts.files) {
    std::string data;
    if (!readFile(file, data)) {
      fmt::print(stderr, "{}: cannot read: {}\n", file, std::strerror(errno));
      all_ok = false;
      ++totals.errors;
      ++totals.by_reason["unreadable file"];
      continue;
    }
    totals.bytes += data.size();
    if (!opts.stream) {
      all_ok &= checkMessage(file, data, 0, true, opts, totals);
      continue;
    }
    sip::StreamFramer framer;
    framer.feed(data);
    while (true) {
      const std::size_t offset = framer.streamOffset();
      auto frame = framer.next();
      if (!frame) {
        all_ok = false;
        ++totals.errors;
        ++totals.by_reason[frame.error().reason()];
        if (!opts.summary) {
          fmt::print("{}: error at byte {}: {}\n", file, frame.error().offset,
                     frame.error().reason());
        }
        break;
      }
      if (!*frame) {
        if (framer.buffered() > 0) {
          all_ok = false;
          ++totals.errors;
          ++totals.by_reason["incomplete message at end of stream"];
          if (!opts.summary) {
            fmt::print("{}: error at byte {}: incomplete message at end of stream\n", file,
                       framer.streamOffset());
          }
        }
        break;
      }
      if ((*frame)->kind != sip::Frame::Kind::Message) {
        ++totals.keepalives;
        continue;
      }
      all_ok &= checkMessage(file, (*frame)->bytes, offset, false, opts, totals);
    }
  }
  if (opts.summary || opts.files.size() > 1 || opts.stream) {
    fmt::print("summary: {} messages ok, {} errors, {} keep-alives, {} bytes\n", totals.messages,
               totals.errors, totals.keepalives, totals.bytes);
    for (const auto& [reason, n] : totals.by_reason) {
      fmt::print("  {:>8}  {}\n", n, reason);
    }
  }
  return all_ok ? 0 : 1;
}

}  // namespace sipedge::app
