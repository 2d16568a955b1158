// sipedge_callgen: a cheap SIP call load generator for benchmarks (bench/run-worker-scaling.sh).
//
// One single-threaded process plays both ends of a call through the system under test:
//
//   UAC (--uac-ip, --uac-sockets UDP sockets) -> SUT (--target) -> SUT -> UAS (--uas, one socket)
//
// Each call: INVITE with an SDP offer, (100), 180, 200 with an SDP answer, ACK, a hold of
// --hold-ms, BYE, 200 -- the text of bench/sipp/call_uac.xml and call_uas.xml (sizes within a few
// bytes: tags, branches and Call-IDs differ), so the SUT parses what it parses with SIPp. Calls
// start at --rate per second, round-robin over the UAC's sockets: several source ports let
// SO_REUSEPORT spread the calls over the SUT's workers. The loop (epoll) runs on a tick (--tick-us,
// 1 ms): it sleeps until the next tick, then takes every datagram that has arrived (recvmmsg),
// starts the calls that are due, runs the retransmission timers and sends what is queued
// (sendmmsg). On a VM a wake-up costs more than a datagram, so a tick makes the generator cheap at
// any rate; the price is up to two ticks added to the INVITE->200 latency (the UAS's reading of the
// INVITE and the UAC's of the 200). --tick-us 0 wakes up on every arrival instead: exact latencies,
// about twice the CPU.
//
// What it is: a load generator that costs less than half of SIPp's CPU per call (UAC and UAS
// together about 40-55 us per call on a 2-core VM at 4,000-10,000 calls/s, most of it the
// kernel's loopback path), so that on a small machine the SUT is the bottleneck. What it is not: a
// SIP stack. Parsing is tolerant but minimal (start line, Via, From, To and its tag, Call-ID, CSeq,
// Contact; header names case-insensitive, compact forms accepted; no folding, bodies ignored). The
// UAC keeps RFC 3261 client timers (INVITE: A from 500 ms, at most 7 retransmissions, B 32 s; BYE:
// E from 500 ms capped at 4 s, F 32 s) and ACKs every copy of the 200 again; a non-2xx final is
// ACKed on the INVITE's branch. The UAS keeps no call state but a set of recently seen Call-IDs (to
// tell retransmissions apart) and the 200s not ACKed yet: every INVITE gets 180 and 200 (a
// retransmission the 200 only), the 200 is retransmitted from 500 ms (doubling, capped at 4 s)
// until the ACK, for at most 32 s; every BYE gets a 200. Other requests are ignored. To-tags are
// derived from the Call-ID.
//
// Output, after the run (at the end, or --timeout, or SIGINT/SIGTERM): key=value lines on stdout
// (printReport). Exit 0 after a run, 1 on a setup error, 2 on a usage error.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

// ---- options
// -------------------------------------------------------------------------------------

struct Options {
  sockaddr_in target{};
  in_addr uac_ip{};
  unsigned uac_sockets = 16;
  sockaddr_in uas{};
  double rate = 0;
  std::uint32_t calls = 0;
  unsigned hold_ms = 0;
  double timeout_s = 0;     // 0: calls / rate + 30
  unsigned tick_us = 1000;  // 0: wake up on every arrival
  std::string ruri_user = "user";
  std::string domain = "acme.test";
};

void usage(const char* argv0) {
  std::fprintf(
      stderr,
      "usage: %s --target IP:PORT --uas [IP:]PORT --rate CALLS_PER_S --calls N\n"
      "          [--uac-ip IP (127.0.0.2)] [--uac-sockets N (16)] [--hold-ms MS (0)]\n"
      "          [--timeout S (calls/rate + 30)] [--ruri-user USER (user)]\n"
      "          [--domain DOMAIN (acme.test)] [--tick-us US (1000)]\n"
      "  --uas PORT alone means 127.0.0.3:PORT.\n"
      "  --tick-us: wake up once per tick and take all that arrived (fewer wake-ups, up to\n"
      "  a tick of added latency); 0: wake up on every arrival.\n",
      argv0);
}

bool parseIp(std::string_view text, in_addr& out) {
  std::string s(text);
  return inet_pton(AF_INET, s.c_str(), &out) == 1;
}

bool parsePort(std::string_view text, std::uint16_t& out) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || v == 0 || v > 65535) {
    return false;
  }
  out = static_cast<std::uint16_t>(v);
  return true;
}

bool parseHostPort(std::string_view text, sockaddr_in& out, const char* default_ip) {
  out = {};
  out.sin_family = AF_INET;
  std::uint16_t port = 0;
  auto colon = text.rfind(':');
  std::string_view ip = colon == std::string_view::npos
                            ? std::string_view(default_ip ? default_ip : "")
                            : text.substr(0, colon);
  std::string_view port_text = colon == std::string_view::npos ? text : text.substr(colon + 1);
  if (ip.empty() || !parseIp(ip, out.sin_addr) || !parsePort(port_text, port)) {
    return false;
  }
  out.sin_port = htons(port);
  return true;
}

template <typename T>
bool parseNumber(const char* text, T& out) {
  std::string_view s(text);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

std::optional<Options> parseOptions(int argc, char** argv) {
  enum {
    kTarget = 1,
    kUacIp,
    kUacSockets,
    kUas,
    kRate,
    kCalls,
    kHold,
    kTimeout,
    kUser,
    kDomain,
    kTick
  };
  static const option long_options[] = {
      {"target", required_argument, nullptr, kTarget},
      {"uac-ip", required_argument, nullptr, kUacIp},
      {"uac-sockets", required_argument, nullptr, kUacSockets},
      {"uas", required_argument, nullptr, kUas},
      {"rate", required_argument, nullptr, kRate},
      {"calls", required_argument, nullptr, kCalls},
      {"hold-ms", required_argument, nullptr, kHold},
      {"timeout", required_argument, nullptr, kTimeout},
      {"ruri-user", required_argument, nullptr, kUser},
      {"domain", required_argument, nullptr, kDomain},
      {"tick-us", required_argument, nullptr, kTick},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  Options o;
  parseIp("127.0.0.2", o.uac_ip);
  bool have_target = false, have_uas = false, have_rate = false, have_calls = false;
  int c = 0;
  while ((c = getopt_long(argc, argv, "h", long_options, nullptr)) != -1) {
    bool ok = true;
    switch (c) {
      case kTarget: ok = have_target = parseHostPort(optarg, o.target, nullptr); break;
      case kUacIp: ok = parseIp(optarg, o.uac_ip); break;
      case kUacSockets:
        ok = parseNumber(optarg, o.uac_sockets) && o.uac_sockets >= 1 && o.uac_sockets <= 1024;
        break;
      case kUas: ok = have_uas = parseHostPort(optarg, o.uas, "127.0.0.3"); break;
      case kRate: ok = have_rate = parseNumber(optarg, o.rate) && o.rate > 0; break;
      case kCalls: ok = have_calls = parseNumber(optarg, o.calls) && o.calls > 0; break;
      case kHold: ok = parseNumber(optarg, o.hold_ms); break;
      case kTimeout: ok = parseNumber(optarg, o.timeout_s) && o.timeout_s > 0; break;
      case kUser:
        o.ruri_user = optarg;
        ok = !o.ruri_user.empty();
        break;
      case kTick: ok = parseNumber(optarg, o.tick_us) && o.tick_us <= 100000; break;
      case kDomain:
        o.domain = optarg;
        ok = !o.domain.empty();
        break;
      default: ok = false; break;
    }
    if (!ok) {
      if (c != '?' && c != 'h') {
        std::fprintf(stderr, "%s: bad value '%s'\n", argv[0], optarg ? optarg : "");
      }
      return std::nullopt;
    }
  }
  if (optind != argc || !have_target || !have_uas || !have_rate || !have_calls) {
    std::fprintf(stderr, "%s: --target, --uas, --rate and --calls are required\n", argv[0]);
    return std::nullopt;
  }
  if (o.timeout_s == 0) {
    o.timeout_s = o.calls / o.rate + 30;
  }
  return o;
}

// ---- time --------------------------------------------------------------------------------------

using Nanos = std::int64_t;
constexpr Nanos kMs = 1'000'000;
constexpr Nanos kSec = 1'000'000'000;

Nanos now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Nanos>(ts.tv_sec) * kSec + ts.tv_nsec;
}

// ---- minimal SIP parsing -----------------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z')
      x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = static_cast<char>(y - 'A' + 'a');
    if (x != y) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// A parameter's value (e.g. "branch", "tag") in a header value, searched after the URI's '>' when
// there is one (so that URI parameters do not count). Ends at ';', ',', '>', blank or the end.
std::string_view paramValue(std::string_view value, std::string_view name) {
  std::size_t from = value.find('>');
  from = from == std::string_view::npos ? 0 : from;
  for (std::size_t i = value.find(';', from); i != std::string_view::npos;
       i = value.find(';', i + 1)) {
    std::string_view rest = trim(value.substr(i + 1));
    std::size_t eq = rest.find('=');
    if (eq == std::string_view::npos || !iequals(trim(rest.substr(0, eq)), name)) {
      continue;
    }
    rest = trim(rest.substr(eq + 1));
    std::size_t end = rest.find_first_of(";,> \t");
    return rest.substr(0, end);
  }
  return {};
}

// The URI of a name-addr (<...>) or of an addr-spec (up to ';' or ',').
std::string_view uriOf(std::string_view value) {
  std::size_t lt = value.find('<');
  if (lt != std::string_view::npos) {
    std::size_t gt = value.find('>', lt);
    return gt == std::string_view::npos ? std::string_view{} : value.substr(lt + 1, gt - lt - 1);
  }
  return trim(value.substr(0, value.find_first_of(";,")));
}

enum class Hdr { Other, Via, From, To, CallId, CSeq, Contact, RecordRoute };

Hdr classify(std::string_view name) {
  if (name.size() == 1) {
    switch (name[0] | 0x20) {
      case 'v': return Hdr::Via;
      case 'f': return Hdr::From;
      case 't': return Hdr::To;
      case 'i': return Hdr::CallId;
      case 'm': return Hdr::Contact;
      default: return Hdr::Other;
    }
  }
  if (iequals(name, "Via"))
    return Hdr::Via;
  if (iequals(name, "From"))
    return Hdr::From;
  if (iequals(name, "To"))
    return Hdr::To;
  if (iequals(name, "Call-ID"))
    return Hdr::CallId;
  if (iequals(name, "CSeq"))
    return Hdr::CSeq;
  if (iequals(name, "Contact"))
    return Hdr::Contact;
  if (iequals(name, "Record-Route"))
    return Hdr::RecordRoute;
  return Hdr::Other;
}

// What callgen reads of a message. The views point into the datagram; the vectors are reused.
struct Msg {
  bool response = false;
  int status = 0;            // responses
  std::string_view method;   // requests
  std::string_view call_id;  // Call-ID value
  std::string_view cseq_method;
  std::string_view to;  // To value
  std::string_view to_tag;
  std::string_view contact_uri;
  std::string_view top_branch;  // of the first Via
  // Whole lines, as received, for the UAS's echo:
  std::string_view from_line, to_line, call_id_line, cseq_line;
  std::vector<std::string_view> via_lines, record_route_lines;
};

bool parse(std::string_view data, Msg& m) {
  m.response = false;
  m.status = 0;
  m.method = m.call_id = m.cseq_method = m.to = m.to_tag = m.contact_uri = m.top_branch = {};
  m.from_line = m.to_line = m.call_id_line = m.cseq_line = {};
  m.via_lines.clear();
  m.record_route_lines.clear();
  while (data.starts_with("\r\n") || data.starts_with("\n")) {  // keep-alives, stray CRLFs
    data.remove_prefix(data[0] == '\r' ? 2 : 1);
  }
  std::size_t eol = data.find('\n');
  if (eol == std::string_view::npos) {
    return false;
  }
  std::string_view first = trim(data.substr(0, eol));
  data.remove_prefix(eol + 1);
  if (first.starts_with("SIP/2.0 ")) {
    std::string_view code = first.substr(8, 3);
    auto [p, ec] = std::from_chars(code.data(), code.data() + code.size(), m.status);
    if (ec != std::errc{} || p != code.data() + 3 || m.status < 100 || m.status > 699) {
      return false;
    }
    m.response = true;
  } else {
    std::size_t sp = first.find(' ');
    if (sp == std::string_view::npos || sp == 0) {
      return false;
    }
    m.method = first.substr(0, sp);
  }
  while (!data.empty()) {
    eol = data.find('\n');
    std::string_view raw = data.substr(0, eol);  // npos: the rest
    data.remove_prefix(eol == std::string_view::npos ? data.size() : eol + 1);
    if (!raw.empty() && raw.back() == '\r')
      raw.remove_suffix(1);
    if (raw.empty()) {
      break;  // end of the headers
    }
    std::size_t colon = raw.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    std::string_view value = trim(raw.substr(colon + 1));
    switch (classify(trim(raw.substr(0, colon)))) {
      case Hdr::Via:
        if (m.via_lines.empty())
          m.top_branch = paramValue(value, "branch");
        m.via_lines.push_back(raw);
        break;
      case Hdr::From: m.from_line = raw; break;
      case Hdr::To:
        m.to_line = raw;
        m.to = value;
        m.to_tag = paramValue(value, "tag");
        break;
      case Hdr::CallId:
        m.call_id_line = raw;
        m.call_id = value;
        break;
      case Hdr::CSeq: {
        m.cseq_line = raw;
        std::size_t sp = value.find_first_of(" \t");
        m.cseq_method = sp == std::string_view::npos ? std::string_view{} : trim(value.substr(sp));
        break;
      }
      case Hdr::Contact:
        if (m.contact_uri.empty())
          m.contact_uri = uriOf(value);
        break;
      case Hdr::RecordRoute: m.record_route_lines.push_back(raw); break;
      case Hdr::Other: break;
    }
  }
  return !m.call_id.empty() && !m.cseq_method.empty();
}

// ---- sockets -----------------------------------------------------------------------------------

std::string addrText(const sockaddr_in& a) {
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
  return fmt::format("{}:{}", ip, ntohs(a.sin_port));
}

std::string ipText(const sockaddr_in& a) {
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
  return ip;
}

// A UDP socket bound to `at` (port 0: an ephemeral one), non-blocking, 4 MiB buffers. -1 on error.
int openUdp(sockaddr_in& at) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    return -1;
  }
  int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) {
    std::fprintf(stderr, "bind %s: %s\n", addrText(at).c_str(), std::strerror(errno));
    close(fd);
    return -1;
  }
  socklen_t len = sizeof at;
  getsockname(fd, reinterpret_cast<sockaddr*>(&at), &len);
  return fd;
}

// One UDP socket with a queue of datagrams to send, flushed with sendmmsg.
struct Socket {
  int fd = -1;
  sockaddr_in local{};
  std::string local_text;  // "IP:PORT" for Via and Contact
  struct Out {
    sockaddr_in to;
    std::string data;
  };
  std::vector<Out> queue;
};

constexpr unsigned kBatch = 64;  // datagrams per sendmmsg / recvmmsg
constexpr std::size_t kMaxDatagram = 8192;

struct Counters {
  std::uint64_t send_errors = 0, send_deferred = 0, sent = 0, received = 0, unparsable = 0;
};

// Sends what is queued, kBatch at a time; what the kernel does not take now (EAGAIN) stays queued.
void flush(Socket& s, Counters& counters) {
  std::size_t done = 0;
  while (done < s.queue.size()) {
    std::array<mmsghdr, kBatch> msgs{};
    std::array<iovec, kBatch> iov{};
    unsigned n = static_cast<unsigned>(std::min<std::size_t>(kBatch, s.queue.size() - done));
    for (unsigned i = 0; i < n; ++i) {
      auto& out = s.queue[done + i];
      iov[i] = {out.data.data(), out.data.size()};
      msgs[i].msg_hdr.msg_name = &out.to;
      msgs[i].msg_hdr.msg_namelen = sizeof out.to;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(s.fd, msgs.data(), n, 0);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        ++counters.send_deferred;
        break;
      }
      if (errno == EINTR) {
        continue;
      }
      ++counters.send_errors;  // this datagram is lost (e.g. ECONNREFUSED); go on with the rest
      ++done;
      continue;
    }
    counters.sent += static_cast<unsigned>(r);
    done += static_cast<unsigned>(r);
  }
  s.queue.erase(s.queue.begin(), s.queue.begin() + static_cast<std::ptrdiff_t>(done));
}

// ---- the UAC -----------------------------------------------------------------------------------

enum class CallState : std::uint8_t { NotStarted, Calling, Proceeding, Holding, Bye, Done };

struct Call {
  CallState state = CallState::NotStarted;
  std::uint8_t retransmissions = 0;  // of the current request
  std::uint32_t timer_gen = 0;       // a timer entry with another generation is stale
  Nanos interval = 0;                // the current retransmission interval
  Nanos invite_at = 0, bye_at = 0;
  std::uint16_t socket = 0;
  sockaddr_in peer{};   // where the 200 came from: ACK and BYE go there
  std::string call_id;  // the hash map's key views this string
  std::string request;  // the INVITE, then the BYE, kept for retransmission
  std::string ack;      // for every copy of the 200
  std::string to;       // the 200's To (with its tag), for the BYE
  std::string contact;  // the 200's Contact URI: Request-URI of ACK and BYE
};

struct Timer {
  Nanos due;
  std::uint32_t call;
  std::uint32_t gen;
  bool operator>(const Timer& o) const { return due > o.due; }
};

// The SDP bodies of bench/sipp/call_uac.xml and call_uas.xml.
std::string offerSdp(std::string_view ip) {
  return fmt::format(
      "v=0\r\no=caller 53655765 2353687637 IN IP4 {0}\r\ns=-\r\nc=IN IP4 {0}\r\nt=0 0\r\n"
      "m=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
      "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
      ip);
}

std::string answerSdp(std::string_view ip) {
  return fmt::format(
      "v=0\r\no=callee 53655765 2353687637 IN IP4 {0}\r\ns=-\r\nc=IN IP4 {0}\r\nt=0 0\r\n"
      "m=audio 49180 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
      "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
      ip);
}

class Generator {
 public:
  explicit Generator(const Options& o) : opt_(o), calls_(o.calls) {}
  bool setup();
  void run();
  void printReport() const;

 private:
  // UAC
  void startCall(std::uint32_t i, Nanos t);
  void onUacResponse(const Msg& m, const sockaddr_in& from, Nanos t);
  void onInviteResponse(std::uint32_t i, Call& call, const Msg& m, const sockaddr_in& from,
                        Nanos t);
  void onByeResponse(Call& call, const Msg& m, Nanos t);
  void sendBye(std::uint32_t i, Call& call, Nanos t);
  void onTimer(std::uint32_t i, Call& call, Nanos t);
  void arm(std::uint32_t i, Call& call, Nanos due);
  void finish(Call& call, bool ok, std::string_view why, Nanos t);
  // The Via branch of call i's INVITE ('i'), ACK ('a') or BYE ('b').
  std::string branch(std::uint32_t i, char txn) const {
    return fmt::format("z9hG4bK-{}-{}-{}", pid_, i + 1, txn);
  }
  bool isBranch(std::string_view b, std::uint32_t i, char txn) const {
    std::array<char, 64> buf{};
    auto r = fmt::format_to_n(buf.data(), buf.size(), "z9hG4bK-{}-{}-{}", pid_, i + 1, txn);
    return b == std::string_view(buf.data(), std::min(r.size, buf.size()));
  }
  std::string fromTag(std::uint32_t i) const { return fmt::format("{}CgTag00{}", pid_, i + 1); }
  // UAS
  void onUasRequest(const Msg& m, const sockaddr_in& from, Nanos t);
  void onUasTimers(Nanos t);
  bool seenBefore(std::uint64_t key);
  // loop
  void receive(Socket& s, bool uas, Nanos t);

  Options opt_;
  int pid_ = static_cast<int>(getpid());
  int epoll_ = -1;
  std::vector<Socket> uac_;
  Socket uas_;
  std::string uac_ip_text_, uas_text_, offer_, answer_;

  std::vector<Call> calls_;
  std::unordered_map<std::string_view, std::uint32_t> by_call_id_;  // calls in progress
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::unordered_set<std::uint64_t> seen_[2];  // UAS: recent INVITE/BYE keys, two generations
  struct Unacked {  // UAS: a 200 for an INVITE, retransmitted until the ACK (RFC 3261 13.3.1.4)
    std::string response;
    sockaddr_in to;
    Nanos sent_at, interval, due;
  };
  std::unordered_map<std::uint64_t, Unacked> unacked_;  // by the Call-ID's hash
  std::priority_queue<std::pair<Nanos, std::uint64_t>, std::vector<std::pair<Nanos, std::uint64_t>>,
                      std::greater<>>
      unacked_timers_;
  Nanos seen_rotated_ = 0;
  Nanos tick_ = static_cast<Nanos>(opt_.tick_us) * 1000, next_tick_ = 0;

  // results
  std::uint32_t started_ = 0, succeeded_ = 0, failed_ = 0;
  std::map<std::string, std::uint32_t> failures_;  // by status ("503", "timeout-invite", ...)
  std::uint64_t retrans_uac_ = 0, retrans_uas_ = 0, acks_repeated_ = 0, stray_ = 0;
  std::uint64_t uas_invites_ = 0, uas_byes_ = 0, uas_acks_ = 0, uas_other_ = 0;
  std::uint64_t uas_ack_timeouts_ = 0;
  std::uint64_t uas_invite_repeats_ = 0, uas_bye_repeats_ = 0;
  Counters io_;
  std::vector<std::uint32_t> latency_us_;  // INVITE -> 200
  Nanos t_start_ = 0, t_first_invite_ = 0, t_last_invite_ = 0, t_last_success_ = 0, t_end_ = 0;
  bool timed_out_ = false, interrupted_ = false;
};

volatile std::sig_atomic_t g_stop = 0;
extern "C" void onStopSignal(int) {
  g_stop = 1;
}

bool Generator::setup() {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) {
    std::perror("epoll_create1");
    return false;
  }
  auto add = [this](int fd, std::uint32_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = tag;
    return epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) == 0;
  };
  uac_.resize(opt_.uac_sockets);
  for (unsigned i = 0; i < opt_.uac_sockets; ++i) {
    uac_[i].local.sin_family = AF_INET;
    uac_[i].local.sin_addr = opt_.uac_ip;
    if ((uac_[i].fd = openUdp(uac_[i].local)) < 0 || !add(uac_[i].fd, i)) {
      return false;
    }
    uac_[i].local_text = addrText(uac_[i].local);
  }
  uas_.local = opt_.uas;
  if ((uas_.fd = openUdp(uas_.local)) < 0 || !add(uas_.fd, opt_.uac_sockets)) {
    return false;
  }
  uas_.local_text = addrText(uas_.local);
  uac_ip_text_ = ipText(uac_[0].local);
  uas_text_ = uas_.local_text;
  offer_ = offerSdp(uac_ip_text_);
  answer_ = answerSdp(ipText(uas_.local));
  latency_us_.reserve(opt_.calls);
  by_call_id_.reserve(std::min<std::uint32_t>(opt_.calls, 1u << 20));
  for (std::uint32_t i = 0; i < opt_.calls; ++i) {
    calls_[i].call_id = fmt::format("{}-{}@{}", i + 1, pid_, uac_ip_text_);
  }
  struct sigaction sa {};
  sa.sa_handler = onStopSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return true;
}

void Generator::startCall(std::uint32_t i, Nanos t) {
  Call& call = calls_[i];
  call.socket = static_cast<std::uint16_t>(i % uac_.size());
  Socket& s = uac_[call.socket];
  call.request = fmt::format(
      "INVITE sip:{user}@{domain} SIP/2.0\r\n"
      "Via: SIP/2.0/UDP {local};branch={branch};rport\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:caller@partner.test>;tag={tag}\r\n"
      "To: <sip:{user}@{domain}>\r\n"
      "Call-ID: {call_id}\r\n"
      "CSeq: 1 INVITE\r\n"
      "Contact: <sip:caller@{local};transport=UDP>\r\n"
      "Content-Type: application/sdp\r\n"
      "Content-Length: {len}\r\n"
      "\r\n{sdp}",
      fmt::arg("user", opt_.ruri_user), fmt::arg("domain", opt_.domain),
      fmt::arg("local", s.local_text), fmt::arg("branch", branch(i, 'i')),
      fmt::arg("tag", fromTag(i)), fmt::arg("call_id", call.call_id),
      fmt::arg("len", offer_.size()), fmt::arg("sdp", offer_));
  s.queue.push_back({opt_.target, call.request});
  call.state = CallState::Calling;
  call.invite_at = t;
  call.retransmissions = 0;
  call.interval = 500 * kMs;
  by_call_id_.emplace(call.call_id, i);
  arm(i, call, t + call.interval);
  if (started_ == 0) {
    t_first_invite_ = t;
  }
  t_last_invite_ = t;
  ++started_;
}

void Generator::arm(std::uint32_t i, Call& call, Nanos due) {
  ++call.timer_gen;
  timers_.push({due, i, call.timer_gen});
}

void Generator::finish(Call& call, bool ok, std::string_view why, Nanos t) {
  call.state = CallState::Done;
  ++call.timer_gen;  // cancels its timer
  by_call_id_.erase(call.call_id);
  call.request = std::string();
  call.ack = std::string();
  call.to = std::string();
  call.contact = std::string();
  if (ok) {
    ++succeeded_;
    t_last_success_ = t;
  } else {
    ++failed_;
    ++failures_[std::string(why)];
  }
}

void Generator::onUacResponse(const Msg& m, const sockaddr_in& from, Nanos t) {
  auto it = by_call_id_.find(m.call_id);
  if (it == by_call_id_.end()) {
    ++stray_;  // a late copy for a call that has ended, or not ours
    return;
  }
  std::uint32_t i = it->second;
  Call& call = calls_[i];
  if (m.cseq_method == "INVITE" && isBranch(m.top_branch, i, 'i')) {
    onInviteResponse(i, call, m, from, t);
  } else if (m.cseq_method == "BYE" && isBranch(m.top_branch, i, 'b')) {
    onByeResponse(call, m, t);
  } else {
    ++stray_;
  }
}

void Generator::onInviteResponse(std::uint32_t i, Call& call, const Msg& m, const sockaddr_in& from,
                                 Nanos t) {
  Socket& s = uac_[call.socket];
  bool pending = call.state == CallState::Calling || call.state == CallState::Proceeding;
  if (m.status < 200) {
    if (call.state == CallState::Calling) {
      // Stop retransmitting. Timer B still runs: the pending timer A entry, when it fires in
      // Proceeding, re-arms for it (one heap entry per call rather than two).
      call.state = CallState::Proceeding;
    }
    return;
  }
  if (m.status >= 300) {
    if (!pending) {
      return;
    }
    // RFC 3261 17.1.1.3: the ACK of a non-2xx final is on the INVITE's branch.
    s.queue.push_back({from, fmt::format("ACK sip:{}@{} SIP/2.0\r\n"
                                         "Via: SIP/2.0/UDP {};branch={};rport\r\n"
                                         "Max-Forwards: 70\r\n"
                                         "From: <sip:caller@partner.test>;tag={}\r\n"
                                         "To: {}\r\n"
                                         "Call-ID: {}\r\n"
                                         "CSeq: 1 ACK\r\n"
                                         "Content-Length: 0\r\n\r\n",
                                         opt_.ruri_user, opt_.domain, s.local_text, branch(i, 'i'),
                                         fromTag(i), m.to, call.call_id)});
    finish(call, false, fmt::format("{}", m.status), t);
    return;
  }
  // a 2xx
  if (!pending) {
    if (!call.ack.empty()) {  // a copy of the 200: the same ACK again
      s.queue.push_back({call.peer, call.ack});
      ++acks_repeated_;
    }
    return;
  }
  latency_us_.push_back(static_cast<std::uint32_t>((t - call.invite_at) / 1000));
  call.peer = from;
  call.to = std::string(m.to);
  call.contact = m.contact_uri.empty() ? fmt::format("sip:{}@{}", opt_.ruri_user, opt_.domain)
                                       : std::string(m.contact_uri);
  call.ack = fmt::format(
      "ACK {} SIP/2.0\r\n"
      "Via: SIP/2.0/UDP {};branch={};rport\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:caller@partner.test>;tag={}\r\n"
      "To: {}\r\n"
      "Call-ID: {}\r\n"
      "CSeq: 1 ACK\r\n"
      "Content-Length: 0\r\n\r\n",
      call.contact, s.local_text, branch(i, 'a'), fromTag(i), call.to, call.call_id);
  s.queue.push_back({call.peer, call.ack});
  call.request = std::string();
  call.state = CallState::Holding;
  if (opt_.hold_ms == 0) {
    sendBye(i, call, t);
  } else {
    arm(i, call, t + opt_.hold_ms * kMs);
  }
}

void Generator::sendBye(std::uint32_t i, Call& call, Nanos t) {
  Socket& s = uac_[call.socket];
  call.request = fmt::format(
      "BYE {} SIP/2.0\r\n"
      "Via: SIP/2.0/UDP {};branch={};rport\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:caller@partner.test>;tag={}\r\n"
      "To: {}\r\n"
      "Call-ID: {}\r\n"
      "CSeq: 2 BYE\r\n"
      "Content-Length: 0\r\n\r\n",
      call.contact, s.local_text, branch(i, 'b'), fromTag(i), call.to, call.call_id);
  s.queue.push_back({call.peer, call.request});
  call.state = CallState::Bye;
  call.bye_at = t;
  call.retransmissions = 0;
  call.interval = 500 * kMs;
  arm(i, call, t + call.interval);
}

void Generator::onByeResponse(Call& call, const Msg& m, Nanos t) {
  if (call.state != CallState::Bye) {
    return;
  }
  if (m.status < 200) {
    return;  // non-INVITE: timer E goes on (RFC 3261 17.1.2.2, at 4 s in Proceeding: close enough)
  }
  if (m.status < 300) {
    finish(call, true, {}, t);
  } else {
    finish(call, false, fmt::format("{}-bye", m.status), t);
  }
}

void Generator::onTimer(std::uint32_t i, Call& call, Nanos t) {
  Socket& s = uac_[call.socket];
  switch (call.state) {
    case CallState::Calling: {
      if (t - call.invite_at >= 32 * kSec || call.retransmissions >= 7) {
        if (t - call.invite_at >= 32 * kSec) {
          finish(call, false, "timeout-invite", t);
        } else {
          arm(i, call, call.invite_at + 32 * kSec);
        }
        return;
      }
      s.queue.push_back({opt_.target, call.request});
      ++call.retransmissions;
      ++retrans_uac_;
      call.interval *= 2;
      arm(i, call, std::min(t + call.interval, call.invite_at + 32 * kSec));
      return;
    }
    case CallState::Proceeding:
      if (t - call.invite_at >= 32 * kSec) {
        finish(call, false, "timeout-invite", t);
      } else {
        arm(i, call, call.invite_at + 32 * kSec);
      }
      return;
    case CallState::Holding: sendBye(i, call, t); return;
    case CallState::Bye: {
      if (t - call.bye_at >= 32 * kSec) {
        finish(call, false, "timeout-bye", t);
        return;
      }
      s.queue.push_back({call.peer, call.request});
      ++call.retransmissions;
      ++retrans_uac_;
      call.interval = std::min(call.interval * 2, 4 * kSec);
      arm(i, call, std::min(t + call.interval, call.bye_at + 32 * kSec));
      return;
    }
    case CallState::NotStarted:
    case CallState::Done: return;
  }
}

// ---- the UAS -----------------------------------------------------------------------------------

// Whether this INVITE/BYE (by Call-ID and method) was seen in the last 32 to 64 s.
bool Generator::seenBefore(std::uint64_t key) {
  if (seen_[0].contains(key) || seen_[1].contains(key)) {
    return true;
  }
  seen_[0].insert(key);
  return false;
}

void Generator::onUasRequest(const Msg& m, const sockaddr_in& from, Nanos t) {
  bool invite = m.method == "INVITE", bye = m.method == "BYE";
  std::uint64_t h = std::hash<std::string_view>{}(m.call_id);
  if (m.method == "ACK") {
    ++uas_acks_;
    unacked_.erase(h);
    return;
  }
  if ((!invite && !bye) || m.via_lines.empty() || m.to_line.empty() || m.from_line.empty()) {
    ++uas_other_;
    return;
  }
  bool repeat = seenBefore(invite ? h : h ^ 0x9e3779b97f4a7c15ULL);
  std::string head;  // Via..CSeq, echoed
  head.reserve(512);
  for (auto via : m.via_lines) {
    head.append(via).append("\r\n");
  }
  head.append(m.from_line).append("\r\n");
  head.append(m.to_line);
  if (invite && m.to_tag.empty()) {
    fmt::format_to(std::back_inserter(head), ";tag={:x}", h);
  }
  head.append("\r\n").append(m.call_id_line).append("\r\n").append(m.cseq_line).append("\r\n");
  if (bye) {
    ++uas_byes_;
    if (repeat) {
      ++uas_bye_repeats_;
      ++retrans_uas_;  // the 200 again
    }
    uas_.queue.push_back(
        {from, fmt::format("SIP/2.0 200 OK\r\n{}Content-Length: 0\r\n\r\n", head)});
    return;
  }
  ++uas_invites_;
  for (auto rr : m.record_route_lines) {
    head.append(rr).append("\r\n");
  }
  std::string contact = fmt::format("Contact: <sip:callee@{};transport=UDP>\r\n", uas_text_);
  if (repeat) {
    ++uas_invite_repeats_;
    ++retrans_uas_;
  } else {
    uas_.queue.push_back(
        {from, fmt::format("SIP/2.0 180 Ringing\r\n{}{}Content-Length: 0\r\n\r\n", head, contact)});
  }
  std::string ok = fmt::format(
      "SIP/2.0 200 OK\r\n{}{}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{}", head,
      contact, answer_.size(), answer_);
  uas_.queue.push_back({from, ok});
  if (!repeat) {
    unacked_[h] = {std::move(ok), from, t, 500 * kMs, t + 500 * kMs};
    unacked_timers_.emplace(t + 500 * kMs, h);
  }
}

// The 200s not ACKed yet: again from 500 ms, doubling up to 4 s, given up after 32 s (64*T1).
void Generator::onUasTimers(Nanos t) {
  while (!unacked_timers_.empty() && unacked_timers_.top().first <= t) {
    auto [due, key] = unacked_timers_.top();
    unacked_timers_.pop();
    auto it = unacked_.find(key);
    if (it == unacked_.end() || it->second.due != due) {
      continue;  // ACKed meanwhile
    }
    Unacked& u = it->second;
    if (t - u.sent_at >= 32 * kSec) {
      ++uas_ack_timeouts_;
      unacked_.erase(it);
      continue;
    }
    uas_.queue.push_back({u.to, u.response});
    ++retrans_uas_;
    u.interval = std::min(u.interval * 2, 4 * kSec);
    u.due = t + u.interval;
    unacked_timers_.emplace(u.due, key);
  }
}

// ---- the loop ----------------------------------------------------------------------------------

void Generator::receive(Socket& s, bool uas, Nanos t) {
  static std::vector<char> buffers(kBatch * kMaxDatagram);
  static Msg m;
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  std::array<sockaddr_in, kBatch> from{};
  for (int round = 0; round < 8; ++round) {  // then let the other sockets have a turn
    for (unsigned i = 0; i < kBatch; ++i) {
      iov[i] = {buffers.data() + i * kMaxDatagram, kMaxDatagram};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(s.fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      return;
    }
    io_.received += static_cast<unsigned>(n);
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      std::string_view data(buffers.data() + i * kMaxDatagram, msgs[i].msg_len);
      if (!parse(data, m)) {
        ++io_.unparsable;
        continue;
      }
      if (uas && !m.response) {
        onUasRequest(m, from[i], t);
      } else if (!uas && m.response) {
        onUacResponse(m, from[i], t);
      } else {
        ++stray_;
      }
    }
    if (n < static_cast<int>(kBatch)) {
      return;
    }
  }
}

void Generator::run() {
  t_start_ = now();
  Nanos deadline = t_start_ + static_cast<Nanos>(opt_.timeout_s * 1e9);
  seen_rotated_ = t_start_;
  next_tick_ = t_start_;
  std::array<epoll_event, 64> events{};
  for (;;) {
    Nanos t = now();
    if (g_stop) {
      interrupted_ = true;
      break;
    }
    if (t >= deadline) {
      timed_out_ = true;
      break;
    }
    if (started_ == opt_.calls && by_call_id_.empty()) {
      break;  // every call has ended
    }
    // start the calls that are due
    auto due = static_cast<std::uint64_t>(opt_.rate * static_cast<double>(t - t_start_) / 1e9) + 1;
    while (started_ < opt_.calls && started_ < due) {
      startCall(started_, t);
    }
    // timers
    while (!timers_.empty() && timers_.top().due <= t) {
      Timer tm = timers_.top();
      timers_.pop();
      Call& call = calls_[tm.call];
      if (tm.gen == call.timer_gen) {
        onTimer(tm.call, call, t);
      }
    }
    onUasTimers(t);
    if (t - seen_rotated_ >= 32 * kSec) {
      seen_[1].swap(seen_[0]);
      seen_[0].clear();
      seen_rotated_ = t;
    }
    bool backlog = false;
    for (auto& s : uac_) {
      flush(s, io_);
      backlog = backlog || !s.queue.empty();
    }
    flush(uas_, io_);
    backlog = backlog || !uas_.queue.empty();
    // Wait for datagrams. With a tick (--tick-us), sleep until the next one and then take what
    // has arrived: at most one wake-up per tick, whatever the message rate (a wake-up costs more
    // than a datagram on a busy machine), at the price of up to a tick of added latency. Without
    // one, wake up on each arrival, at least every 1 ms (the call-starting tick).
    int timeout_ms = backlog ? 0 : 1;
    if (tick_ > 0 && !backlog) {
      next_tick_ += tick_;
      if (next_tick_ <= t) {
        next_tick_ = t;  // late: no sleep, and the ticks go on from now
      } else {
        timespec ts{static_cast<time_t>(next_tick_ / kSec), static_cast<long>(next_tick_ % kSec)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
      }
      timeout_ms = 0;
    }
    int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout_ms);
    t = now();
    for (std::size_t k = 0; k < static_cast<std::size_t>(std::max(n, 0)); ++k) {
      std::uint32_t tag = events[k].data.u32;
      if (tag < uac_.size()) {
        receive(uac_[tag], false, t);
      } else {
        receive(uas_, true, t);
      }
    }
  }
  t_end_ = now();
  for (auto& s : uac_)
    flush(s, io_);
  flush(uas_, io_);
}

// One key=value per line:
//   calls, offered_rate       as asked
//   started, succeeded        calls started; calls whose BYE got a 2xx
//   failed, failed_statuses   a non-2xx final to the INVITE ("486") or BYE ("481-bye"), or timer
//                             B/F ("timeout-invite", "timeout-bye"); "-" when none
//   unfinished                calls - succeeded - failed (not started, or still running at the end)
//   retrans                   retrans_uac (INVITEs and BYEs again) + retrans_uas (200s again)
//   acks_repeated             ACKs sent again for copies of a 200
//   uas_*                     requests the UAS received (repeats: retransmitted by the SUT),
//                             uas_ack_timeouts: 200s never ACKed within 32 s
//   stray, unparsable         responses for no call in progress; datagrams not understood
//   datagrams_*, send_*       socket counters (send_deferred: sendmmsg hit a full buffer)
//   load_s                    first INVITE to last INVITE
//   run_s                     the whole run
//   achieved_cps              succeeded / (first INVITE to last success - the hold)
//   latency_*_us              INVITE -> first 200, over the calls that got one
//   cpu_s                     the generator's own user + system CPU time
//   end                       done, timeout or signal
void Generator::printReport() const {
  auto seconds = [](Nanos d) { return static_cast<double>(d) / 1e9; };
  std::vector<std::uint32_t> lat = latency_us_;
  std::sort(lat.begin(), lat.end());
  auto pct = [&lat](double p) -> long long {
    if (lat.empty())
      return -1;
    auto k = static_cast<std::size_t>(p * static_cast<double>(lat.size()) + 0.999999);
    return lat[std::clamp<std::size_t>(k, 1, lat.size()) - 1];
  };
  double load_s = started_ > 1 ? seconds(t_last_invite_ - t_first_invite_) : 0;
  double setup_s = succeeded_ > 0 ? seconds(t_last_success_ - t_first_invite_) -
                                        static_cast<double>(opt_.hold_ms) / 1000
                                  : 0;
  double achieved = setup_s > 0 ? succeeded_ / setup_s : 0;
  std::string statuses;
  for (const auto& [why, n] : failures_) {
    statuses += fmt::format("{}{}:{}", statuses.empty() ? "" : ",", why, n);
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::uint32_t unfinished = opt_.calls - succeeded_ - failed_;
  fmt::print("calls={}\n", opt_.calls);
  fmt::print("offered_rate={}\n", opt_.rate);
  fmt::print("started={}\n", started_);
  fmt::print("succeeded={}\n", succeeded_);
  fmt::print("failed={}\n", failed_);
  fmt::print("failed_statuses={}\n", statuses.empty() ? "-" : statuses);
  fmt::print("unfinished={}\n", unfinished);
  fmt::print("retrans={}\n", retrans_uac_ + retrans_uas_);
  fmt::print("retrans_uac={}\n", retrans_uac_);
  fmt::print("retrans_uas={}\n", retrans_uas_);
  fmt::print("acks_repeated={}\n", acks_repeated_);
  fmt::print("uas_invites={}\n", uas_invites_);
  fmt::print("uas_invite_repeats={}\n", uas_invite_repeats_);
  fmt::print("uas_byes={}\n", uas_byes_);
  fmt::print("uas_bye_repeats={}\n", uas_bye_repeats_);
  fmt::print("uas_acks={}\n", uas_acks_);
  fmt::print("uas_other={}\n", uas_other_);
  fmt::print("uas_ack_timeouts={}\n", uas_ack_timeouts_);
  fmt::print("stray={}\n", stray_);
  fmt::print("unparsable={}\n", io_.unparsable);
  fmt::print("datagrams_sent={}\n", io_.sent);
  fmt::print("datagrams_received={}\n", io_.received);
  fmt::print("send_errors={}\n", io_.send_errors);
  fmt::print("send_deferred={}\n", io_.send_deferred);
  fmt::print("load_s={:.3f}\n", load_s);
  fmt::print("run_s={:.3f}\n", seconds(t_end_ - t_start_));
  fmt::print("achieved_cps={:.1f}\n", achieved);
  fmt::print("latency_p50_us={}\n", pct(0.50));
  fmt::print("latency_p99_us={}\n", pct(0.99));
  fmt::print("latency_max_us={}\n", lat.empty() ? -1LL : static_cast<long long>(lat.back()));
  fmt::print("cpu_s={:.3f}\n", cpu);
  fmt::print("end={}\n", interrupted_ ? "signal" : timed_out_ ? "timeout" : "done");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parseOptions(argc, argv);
  if (!options) {
    usage(argv[0]);
    return 2;
  }
  Generator gen(*options);
  if (!gen.setup()) {
    return 1;
  }
  std::fprintf(stderr, "callgen: %u calls at %g/s to %s, UAS on %s\n", options->calls,
               options->rate, addrText(options->target).c_str(), addrText(options->uas).c_str());
  gen.run();
  gen.printReport();
  return 0;
}
