// SIP parser throughput: sipedge vs sofia-sip (msg_make) vs libosip2 (osip_message_parse), plus
// sipedge's B2BUA path (parse, read, modify, serialize).
//
// Every parse benchmark parses the message and then reads the same typed values the gateway uses,
// through the same reader template for verification and for timing, so that lazy parsing cannot
// make a library look faster than it is:
//   every Via value: sent-by host, port (as a number) and branch;
//   From and To: URI user and host, tag;
//   every Contact: URI user and host;
//   every Record-Route and Route entry: URI host;
//   CSeq number and method; Call-ID; Max-Forwards; Content-Length (numbers).
// Before anything is timed, the values read through each library are collected as text and must
// be identical for all three libraries (the program aborts with the difference otherwise).
//
// Messages are wire-format files (CRLF) in bench/messages, loaded at startup from
// SIPEDGE_BENCH_MESSAGES_DIR (override: environment variable SIPEDGE_BENCH_MESSAGES).

#include <benchmark/benchmark.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <osipparser2/osip_parser.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sofia_features.h>

#include "sipedge/sip/message.h"

namespace {

namespace sip = sipedge::sip;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sip_parse_bench: %s\n", what.c_str());
  std::exit(2);
}

struct TestMessage {
  std::string name;  // file name without ".sip"
  std::string data;
};

std::vector<TestMessage> g_messages;

// ---- sinks: what the reader does with each value ------------------------------------------------

// Timed loops: keep every value alive, nothing else.
struct Consume {
  void str(const char* /*label*/, std::string_view v) { benchmark::DoNotOptimize(v); }
  void cstr(const char* /*label*/, const char* v) { benchmark::DoNotOptimize(v); }
  void num(const char* /*label*/, std::uint64_t v) { benchmark::DoNotOptimize(v); }
};

// Verification: "label=value" lines, compared across libraries.
struct Collect {
  std::string out;
  std::size_t fields = 0;
  void str(const char* label, std::string_view v) {
    out.append(label).append("=").append(v).append("\n");
    ++fields;
  }
  void cstr(const char* label, const char* v) {
    // libosip2 splits Call-ID into number and host: "call-id@" continues the previous line.
    if (std::strcmp(label, "call-id@") == 0) {
      if (v != nullptr) {
        out.pop_back();
        out.append("@").append(v).append("\n");
      }
      return;
    }
    str(label, v != nullptr ? std::string_view(v) : std::string_view());
  }
  void num(const char* label, std::uint64_t v) { str(label, std::to_string(v)); }
};

// Decimal text to number (the C libraries keep ports and some counts as text). nullptr -> 0.
inline std::uint64_t toNum(const char* p) {
  std::uint64_t n = 0;
  if (p != nullptr) {
    for (; *p >= '0' && *p <= '9'; ++p) {
      n = n * 10 + static_cast<std::uint64_t>(*p - '0');
    }
  }
  return n;
}

// ---- readers ---------------------------------------------------------------------------------

template <class Sink>
void readSipedge(const sip::Message& m, Sink& s) {
  for (const sip::Via& v : m.vias()) {
    s.str("via.host", v.host);
    s.num("via.port", v.port.value_or(0));
    s.str("via.branch", v.branch);
  }
  if (const sip::NameAddr* f = m.from()) {
    s.str("from.user", f->uri.user);
    s.str("from.host", f->uri.host);
    s.str("from.tag", f->tag);
  }
  if (const sip::NameAddr* t = m.to()) {
    s.str("to.user", t->uri.user);
    s.str("to.host", t->uri.host);
    s.str("to.tag", t->tag);
  }
  for (const sip::NameAddr& c : m.contacts()) {
    s.str("contact.user", c.uri.user);
    s.str("contact.host", c.uri.host);
  }
  for (const sip::NameAddr& r : m.recordRoutes()) {
    s.str("record-route.host", r.uri.host);
  }
  for (const sip::NameAddr& r : m.routes()) {
    s.str("route.host", r.uri.host);
  }
  if (const auto& cs = m.cseq()) {
    s.num("cseq.number", cs->number);
    s.str("cseq.method", cs->method_text);
  }
  s.str("call-id", m.callId());
  s.num("max-forwards", m.maxForwards().value_or(0));
  s.num("content-length", m.contentLength().value_or(0));
}

template <class Sink>
void readSofia(const sip_t* sip, Sink& s) {
  for (const sip_via_t* v = sip->sip_via; v != nullptr; v = v->v_next) {
    s.cstr("via.host", v->v_host);
    s.num("via.port", toNum(v->v_port));
    s.cstr("via.branch", v->v_branch);
  }
  if (const sip_from_t* f = sip->sip_from) {
    s.cstr("from.user", f->a_url->url_user);
    s.cstr("from.host", f->a_url->url_host);
    s.cstr("from.tag", f->a_tag);
  }
  if (const sip_to_t* t = sip->sip_to) {
    s.cstr("to.user", t->a_url->url_user);
    s.cstr("to.host", t->a_url->url_host);
    s.cstr("to.tag", t->a_tag);
  }
  for (const sip_contact_t* c = sip->sip_contact; c != nullptr; c = c->m_next) {
    s.cstr("contact.user", c->m_url->url_user);
    s.cstr("contact.host", c->m_url->url_host);
  }
  for (const sip_record_route_t* r = sip->sip_record_route; r != nullptr; r = r->r_next) {
    s.cstr("record-route.host", r->r_url->url_host);
  }
  for (const sip_route_t* r = sip->sip_route; r != nullptr; r = r->r_next) {
    s.cstr("route.host", r->r_url->url_host);
  }
  if (const sip_cseq_t* cs = sip->sip_cseq) {
    s.num("cseq.number", cs->cs_seq);
    s.cstr("cseq.method", cs->cs_method_name);
  }
  s.cstr("call-id", sip->sip_call_id != nullptr ? sip->sip_call_id->i_id : nullptr);
  s.num("max-forwards", sip->sip_max_forwards != nullptr ? sip->sip_max_forwards->mf_count : 0);
  s.num("content-length",
        sip->sip_content_length != nullptr ? sip->sip_content_length->l_length : 0);
}

const char* osipParam(osip_list_t* params, const char* name) {
  osip_generic_param_t* p = nullptr;
  if (osip_generic_param_get_byname(params, const_cast<char*>(name), &p) == 0 && p != nullptr) {
    return p->gvalue;
  }
  return nullptr;
}

template <class Sink>
void readOsip(osip_message_t* m, Sink& s) {
  osip_list_iterator_t it;
  for (auto* v = static_cast<osip_via_t*>(osip_list_get_first(&m->vias, &it)); v != nullptr;
       v = static_cast<osip_via_t*>(osip_list_get_next(&it))) {
    s.cstr("via.host", v->host);
    s.num("via.port", toNum(v->port));
    s.cstr("via.branch", osipParam(&v->via_params, "branch"));
  }
  if (osip_from_t* f = m->from; f != nullptr && f->url != nullptr) {
    s.cstr("from.user", f->url->username);
    s.cstr("from.host", f->url->host);
    s.cstr("from.tag", osipParam(&f->gen_params, "tag"));
  }
  if (osip_to_t* t = m->to; t != nullptr && t->url != nullptr) {
    s.cstr("to.user", t->url->username);
    s.cstr("to.host", t->url->host);
    s.cstr("to.tag", osipParam(&t->gen_params, "tag"));
  }
  for (auto* c = static_cast<osip_contact_t*>(osip_list_get_first(&m->contacts, &it)); c != nullptr;
       c = static_cast<osip_contact_t*>(osip_list_get_next(&it))) {
    s.cstr("contact.user", c->url != nullptr ? c->url->username : nullptr);
    s.cstr("contact.host", c->url != nullptr ? c->url->host : nullptr);
  }
  for (auto* r = static_cast<osip_record_route_t*>(osip_list_get_first(&m->record_routes, &it));
       r != nullptr; r = static_cast<osip_record_route_t*>(osip_list_get_next(&it))) {
    s.cstr("record-route.host", r->url != nullptr ? r->url->host : nullptr);
  }
  for (auto* r = static_cast<osip_route_t*>(osip_list_get_first(&m->routes, &it)); r != nullptr;
       r = static_cast<osip_route_t*>(osip_list_get_next(&it))) {
    s.cstr("route.host", r->url != nullptr ? r->url->host : nullptr);
  }
  if (osip_cseq_t* cs = m->cseq) {
    s.num("cseq.number", toNum(cs->number));
    s.cstr("cseq.method", cs->method);
  }
  if (osip_call_id_t* id = m->call_id) {
    s.cstr("call-id", id->number);
    s.cstr("call-id@", id->host);
  } else {
    s.cstr("call-id", nullptr);
  }
  osip_header_t* mf = nullptr;
  osip_message_header_get_byname(m, "max-forwards", 0, &mf);  // -1 when absent
  s.num("max-forwards", mf != nullptr ? toNum(mf->hvalue) : 0);
  s.num("content-length", m->content_length != nullptr ? toNum(m->content_length->value) : 0);
}

// ---- one parse per library, checked -------------------------------------------------------------

sip::Message parseSipedgeOrDie(const TestMessage& t) {
  auto r = sip::parseMessage(t.data);
  if (!r) {
    die("sipedge rejected " + t.name + ": " + r.error().reason());
  }
  return std::move(*r);
}

msg_t* parseSofiaOrDie(const TestMessage& t) {
  msg_t* msg =
      msg_make(sip_default_mclass(), 0, t.data.data(), static_cast<ssize_t>(t.data.size()));
  if (msg == nullptr) {
    die("sofia-sip msg_make returned NULL for " + t.name);
  }
  const sip_t* sip = sip_object(msg);
  if (sip == nullptr || (sip->sip_flags & MSG_FLG_ERROR) != 0 || msg_extract_errors(msg) != 0 ||
      sip->sip_error != nullptr) {
    die("sofia-sip reported a parse error for " + t.name);
  }
  if ((sip->sip_flags & MSG_FLG_COMPLETE) == 0) {
    die("sofia-sip did not complete the message " + t.name);
  }
  if (sip->sip_unknown != nullptr) {
    die(std::string("sofia-sip kept header '") + sip->sip_unknown->un_name + "' of " + t.name +
        " as unknown");
  }
  return msg;
}

osip_message_t* parseOsipOrDie(const TestMessage& t) {
  osip_message_t* m = nullptr;
  if (osip_message_init(&m) != 0) {
    die("osip_message_init failed");
  }
  if (osip_message_parse(m, t.data.data(), t.data.size()) != 0) {
    die("libosip2 rejected " + t.name);
  }
  return m;
}

void expectEqual(const std::string& what, const std::string& got, const std::string& want) {
  if (got != want) {
    die(what + " differ:\n--- sipedge ---\n" + want + "--- other ---\n" + got);
  }
}

// Parses every message with every library once, outside the timed loops, and checks that the
// values the readers see are the same (and the ones in the file).
void verifyParsers() {
  for (const TestMessage& t : g_messages) {
    Collect se;
    sip::Message m = parseSipedgeOrDie(t);
    readSipedge(m, se);

    Collect so;
    msg_t* msg = parseSofiaOrDie(t);
    readSofia(sip_object(msg), so);
    msg_destroy(msg);

    Collect os;
    osip_message_t* om = parseOsipOrDie(t);
    readOsip(om, os);
    osip_message_free(om);

    expectEqual(t.name + ": values read through sofia-sip and sipedge", so.out, se.out);
    expectEqual(t.name + ": values read through libosip2 and sipedge", os.out, se.out);

    // And they are what the file says (a few anchors; the full set is compared above).
    const std::size_t header_end = t.data.find("\r\n\r\n");
    const std::size_t body_size = t.data.size() - (header_end + 4);
    std::size_t via_count = 0;
    for (std::size_t p = 0; (p = se.out.find("via.host=", p)) != std::string::npos; ++p) {
      ++via_count;
    }
    const std::size_t want_vias = t.name == "via20" ? 20 : 2;
    if (via_count != want_vias || m.contentLength().value_or(~0ULL) != body_size ||
        m.callId().empty() || !m.cseq() || m.from() == nullptr || m.to() == nullptr ||
        m.from()->tag.empty() || m.vias().back().branch.empty()) {
      die(t.name + ": unexpected values:\n" + se.out);
    }
    std::fprintf(stderr,
                 "verified %-10s %5zu bytes: %zu values read, identical in sipedge, "
                 "sofia-sip and libosip2 (%zu Vias)\n",
                 t.name.c_str(), t.data.size(), se.fields, via_count);
  }
}

// ---- parse benchmarks -----------------------------------------------------------------------

void BM_sipedge_parse(benchmark::State& state, const TestMessage* t) {
  const std::string_view data = t->data;
  for (auto _ : state) {
    auto r = sip::parseMessage(data);
    if (!r) [[unlikely]] {
      state.SkipWithError("sipedge parse failed");
      break;
    }
    Consume c;
    readSipedge(*r, c);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}

void BM_sofia_parse(benchmark::State& state, const TestMessage* t) {
  const msg_mclass_t* mclass = sip_default_mclass();
  for (auto _ : state) {
    msg_t* msg = msg_make(mclass, 0, t->data.data(), static_cast<ssize_t>(t->data.size()));
    const sip_t* sip = msg != nullptr ? sip_object(msg) : nullptr;
    if (sip == nullptr || (sip->sip_flags & MSG_FLG_ERROR) != 0) [[unlikely]] {
      state.SkipWithError("sofia-sip parse failed");
      break;
    }
    Consume c;
    readSofia(sip, c);
    benchmark::ClobberMemory();
    msg_destroy(msg);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * t->data.size()));
}

void BM_osip_parse(benchmark::State& state, const TestMessage* t) {
  for (auto _ : state) {
    osip_message_t* m = nullptr;
    if (osip_message_init(&m) != 0 || osip_message_parse(m, t->data.data(), t->data.size()) != 0)
        [[unlikely]] {
      state.SkipWithError("libosip2 parse failed");
      break;
    }
    Consume c;
    readOsip(m, c);
    benchmark::ClobberMemory();
    osip_message_free(m);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * t->data.size()));
}

// ---- B2BUA path: parse, read, modify, serialize -----------------------------------------------

// INVITE leg: what the gateway does to a request it forwards on the other leg.
bool modifyInvite(sip::Message& m) {
  m.removeTopVia();
  if (!m.pushVia("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-bench-1"))
    return false;
  if (!m.setHeader("Call-ID", "b2b-7f3a9c1e5d20@127.0.0.1"))
    return false;
  if (!m.setHeader("From", "\"Alice Example\" <sip:alice@example.com>;tag=b2b-from-42")) {
    return false;
  }
  m.removeHeaders("Record-Route");
  if (!m.setRequestUri("sip:bob@127.0.0.2:5070"))
    return false;
  const std::uint32_t mf = m.maxForwards().value_or(70);
  char buf[16];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, mf > 0 ? mf - 1 : 0);
  if (ec != std::errc())
    return false;
  return m.setHeader("Max-Forwards", std::string_view(buf, static_cast<std::size_t>(end - buf)))
      .has_value();
}

// 200 OK leg: the response relayed back.
bool modifyOk(sip::Message& m) {
  m.removeTopVia();
  if (!m.setHeader("To", "Bob <sip:bob@example.com>;tag=b2b-to-77"))
    return false;
  return m.setHeader("Contact", "<sip:gw@127.0.0.1:5060;transport=udp>").has_value();
}

using ModifyFn = bool (*)(sip::Message&);

ModifyFn modifierFor(const TestMessage& t) {
  return t.name == "invite_sdp" ? modifyInvite : modifyOk;
}

void BM_sipedge_b2bua(benchmark::State& state, const TestMessage* t) {
  const std::string_view data = t->data;
  const ModifyFn modify = modifierFor(*t);
  std::string out;
  out.reserve(2 * data.size());
  for (auto _ : state) {
    auto r = sip::parseMessage(data);
    if (!r) [[unlikely]] {
      state.SkipWithError("sipedge parse failed");
      break;
    }
    Consume c;
    readSipedge(*r, c);
    if (!modify(*r)) [[unlikely]] {
      state.SkipWithError("sipedge modification failed");
      break;
    }
    out.clear();
    r->serializeTo(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}

// The modified messages are what a B2BUA would send: check once by parsing them again.
void verifyB2bua(const TestMessage& t) {
  sip::Message m = parseSipedgeOrDie(t);
  if (!modifierFor(t)(m)) {
    die(t.name + ": B2BUA modification failed");
  }
  std::string out;
  m.serializeTo(out);
  auto again = sip::parseMessage(out);
  if (!again) {
    die(t.name + ": serialized B2BUA message does not parse: " + again.error().reason() + "\n" +
        out);
  }
  const sip::Message& b = *again;
  bool ok = b.body() == m.body() && !b.vias().empty() && b.contentLength() == b.body().size();
  if (t.name == "invite_sdp") {
    ok = ok && b.vias().size() == 2 && b.vias()[0].host == "127.0.0.1" &&
         b.vias()[0].branch == "z9hG4bK-bench-1" && b.vias()[1].host == "pc33.example.net" &&
         b.callId() == "b2b-7f3a9c1e5d20@127.0.0.1" && b.from()->tag == "b2b-from-42" &&
         b.recordRoutes().empty() && b.count(sip::HeaderId::RecordRoute) == 0 &&
         b.requestUri().host == "127.0.0.2" && b.requestUri().port == 5070 &&
         b.maxForwards() == 68 && b.routes().size() == 2;
  } else {
    ok = ok && b.vias().size() == 1 && b.vias()[0].host == "pc33.example.net" &&
         b.to()->tag == "b2b-to-77" && b.contacts().size() == 1 &&
         b.contacts()[0].uri.user == "gw" && b.contacts()[0].uri.host == "127.0.0.1" &&
         b.recordRoutes().size() == 1;
  }
  if (!ok) {
    die(t.name + ": serialized B2BUA message is not as expected:\n" + out);
  }
  std::fprintf(stderr, "verified %-10s B2BUA path: %zu -> %zu bytes, re-parses as expected\n",
               t.name.c_str(), t.data.size(), out.size());
}

// ---- setup ----------------------------------------------------------------------------------

TestMessage loadMessage(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name + ".sip";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    die("cannot open " + path);
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) {
      die(path + ": bare LF at byte " + std::to_string(i) +
          " (the files must keep CRLF line endings; see bench/messages/.gitattributes)");
    }
  }
  return {name, std::move(data)};
}

std::string buildInfo() {
  std::string s = SIPEDGE_BENCH_BUILD_TYPE;
  s += " [";
  s += SIPEDGE_BENCH_CXX_FLAGS;
  s += "]";
#ifndef __OPTIMIZE__
  s += " NOT-OPTIMIZED";
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  s += " SANITIZER";
#endif
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }

  const char* env_dir = std::getenv("SIPEDGE_BENCH_MESSAGES");
  const std::string dir = env_dir != nullptr ? env_dir : SIPEDGE_BENCH_MESSAGES_DIR;
  g_messages.reserve(3);  // registered benchmarks keep pointers into the vector
  for (const char* name : {"invite_sdp", "ok_200", "via20"}) {
    g_messages.push_back(loadMessage(dir, name));
  }

  if (parser_init() != 0) {
    die("libosip2 parser_init failed");
  }
  verifyParsers();
  for (const TestMessage& t : g_messages) {
    if (t.name != "via20") {
      verifyB2bua(t);
    }
  }

  const std::string build = buildInfo();
  if (build.find("NOT-OPTIMIZED") != std::string::npos ||
      build.find("SANITIZER") != std::string::npos) {
    std::fprintf(stderr, "WARNING: this benchmark build is %s; the numbers are meaningless\n",
                 build.c_str());
  }
  benchmark::AddCustomContext("sipedge_build", build);
  benchmark::AddCustomContext("sofia_sip_version", SOFIA_SIP_VERSION);
  benchmark::AddCustomContext("messages_dir", dir);

  for (const TestMessage& t : g_messages) {
    benchmark::RegisterBenchmark(("BM_sipedge_parse/" + t.name).c_str(), BM_sipedge_parse, &t);
    benchmark::RegisterBenchmark(("BM_sofia_parse/" + t.name).c_str(), BM_sofia_parse, &t);
    benchmark::RegisterBenchmark(("BM_osip_parse/" + t.name).c_str(), BM_osip_parse, &t);
  }
  for (const TestMessage& t : g_messages) {
    if (t.name != "via20") {
      benchmark::RegisterBenchmark(("BM_sipedge_b2bua/" + t.name).c_str(), BM_sipedge_b2bua, &t);
    }
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
