// CaresResolver: c-ares on a worker's libevent loop, Envoy-style (STYLE S13).
//
// Ownership, in one place:
// - ResolverState owns the channel, one libevent event per c-ares socket (kept in a map), the
//   c-ares timer, the lookup-deadline timer, the cache, the lookups in flight and the resolutions
//   in progress (each a Locator plus the caller's callback, keyed by an id).
// - The caller's PendingQuery holds a weak reference to the state and the id. Destroying it
//   erases the resolution: its callback can no longer be found, so it never fires.
// - c-ares owns one AresRequest per query until it calls back, always exactly once (with
//   ARES_EDESTRUCTION when the channel is destroyed). That callback is the only place that frees
//   it: the self-ownership c-ares forces on us is confined there (STYLE S12).
// - A finished resolution is delivered through Worker::post, holding only the weak reference and
//   the id. So no callback runs inside resolve(), inside c-ares, or inside a libevent callback of
//   ours: a callback may cancel other queries, or destroy the resolver.

#include "sipedge/dns/cares_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <event2/event.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "answer.h"
#include "dns_cache.h"
#include "dns_packet.h"
#include "locator.h"
#include "sipedge/base/assert.h"
#include "sipedge/loop/worker.h"

namespace sipedge::dns {
namespace {

constexpr int kClassIn = 1;

int wireType(RecordType type) {
  switch (type) {
    case RecordType::A: return 1;
    case RecordType::Aaaa: return 28;
    case RecordType::Srv: return 33;
    case RecordType::Naptr: return 35;
  }
  return 0;
}

struct ChannelDeleter {
  void operator()(ares_channeldata* channel) const { ares_destroy(channel); }
};
using ChannelPtr = std::unique_ptr<ares_channeldata, ChannelDeleter>;

// A libevent event for one c-ares socket. Deletable, so that one removed while its own callback
// runs (c-ares closes sockets inside ares_process_fd) is freed after the callback (STYLE S11).
struct SocketEvent final : loop::Deletable {
  explicit SocketEvent(event* e) : ev(e) {}
  ~SocketEvent() override { event_free(ev); }
  SocketEvent(const SocketEvent&) = delete;
  SocketEvent& operator=(const SocketEvent&) = delete;
  event* ev;
};

// "ip", "ip:port", "[ipv6]:port" or a bare IPv6 address, port 53 by default.
Result<ares_addr_port_node> parseServer(const std::string& text) {
  const auto bad = [&](std::string_view why) {
    return fail(Error{"dns server '" + text + "': " + std::string(why) +
                      " (expected ip, ip:port or [ipv6]:port)"});
  };
  std::string host = text;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) {
      return bad("no closing bracket");
    }
    host = text.substr(1, close - 1);
    const std::string rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return bad("text after the bracket");
      }
      port_text = rest.substr(1);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  ares_addr_port_node node{};
  node.udp_port = 53;
  node.tcp_port = 53;
  if (!port_text.empty() || text.back() == ':') {
    int port = 0;
    const char* end = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    if (port_text.empty() || ec != std::errc() || ptr != end) {
      return bad("bad port");
    }
    if (port < 1 || port > 65535) {
      return bad("port out of range");
    }
    node.udp_port = port;
    node.tcp_port = port;
  }
  if (inet_pton(AF_INET, host.c_str(), &node.addr.addr4) == 1) {
    node.family = AF_INET;
  } else if (inet_pton(AF_INET6, host.c_str(), &node.addr.addr6) == 1) {
    node.family = AF_INET6;
  } else {
    return bad("not an IP address");
  }
  return node;
}

// c-ares' strings, which may be unsigned char* and are never expected to be null.
std::string text(const unsigned char* s) {
  return s != nullptr ? std::string(reinterpret_cast<const char*>(s)) : std::string();
}
std::string text(const char* s) {
  return s != nullptr ? std::string(s) : std::string();
}

std::string aresError(int status) {
  return ares_strerror(status);
}

}  // namespace

namespace detail {

class ResolverState final : public std::enable_shared_from_this<ResolverState> {
 public:
  ResolverState(loop::Worker& worker, ResolverSettings settings, Random& random,
                const Clock& cache_clock)
      : worker_(worker),
        settings_(std::move(settings)),
        random_(random),
        cache_clock_(cache_clock),
        cache_(settings_.max_entries) {
    locator_options_.ipv6 = settings_.ipv6;
    locator_options_.prefer_ipv6 = settings_.prefer_ipv6;
    locator_options_.max_records = settings_.max_records;
  }

  ~ResolverState() {
    // ares_destroy calls back every pending query with ARES_EDESTRUCTION (which only frees its
    // request) and reports its sockets closed (which removes their events): do it while the
    // event map still exists. Timers, resolutions and their callbacks go with the members.
    destroying_ = true;
    channel_.reset();
    socket_events_.clear();
  }

  ResolverState(const ResolverState&) = delete;
  ResolverState& operator=(const ResolverState&) = delete;

  [[nodiscard]] Result<void> init();
  PendingQueryPtr start(Locator locator, ResolveCallback callback);
  void cancel(std::uint64_t id) { resolutions_.erase(id); }
  void clearCache() { cache_.clear(); }
  const LocatorOptions& locatorOptions() const { return locator_options_; }
  Random& random() { return random_; }
  ResolverStats stats() const {
    ResolverStats s = stats_;
    s.cache_entries = cache_.size();
    s.cache_evictions = cache_.evictions();
    s.lookups_in_flight = in_flight_.size();
    return s;
  }

 private:
  struct Resolving {
    Locator locator;
    ResolveCallback callback;
    bool driving = false;   // drive() is on the stack for it
    bool again = false;     // something arrived while driving: look for new lookups again
    bool finished = false;  // its delivery is posted
  };
  struct Waiter {
    std::uint64_t resolution;
    LookupKey key;  // as that resolution asked for it (names are case-insensitive)
  };
  struct InFlight {
    std::uint64_t id;
    std::vector<Waiter> waiters;
  };
  struct Deadline {
    MonoTime when;
    std::string key;
    std::uint64_t id;
  };
  // What c-ares carries for one query, from ares_query to its callback.
  struct AresRequest {
    ResolverState* state;
    LookupKey lookup;
    std::string key;  // canonicalKey(lookup)
    std::uint64_t id;
  };
  // An answer as parsed, with the negative-caching TTL of its SOA record, if any.
  struct Parsed {
    Answer answer;
    std::optional<std::uint32_t> soa_negative_ttl;
  };

  static void onSocketState(void* data, ares_socket_t fd, int readable, int writable);
  static void onSocketEvent(evutil_socket_t fd, short what, void* data);
  static void onAresAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

  void drive(std::uint64_t id);
  void startLookup(const LookupKey& key, std::uint64_t resolution);
  void completeLookup(const std::string& key, std::uint64_t id, const Answer& answer);
  Parsed toAnswer(RecordType type, int status, const unsigned char* abuf, int alen) const;
  Parsed parseRecords(RecordType type, const unsigned char* abuf, int alen) const;
  void remember(const LookupKey& lookup, Parsed& parsed);
  void postDelivery(std::uint64_t id);
  void updateAresTimer();
  void onDeadlineTimer();
  void armDeadlineTimer();

  loop::Worker& worker_;
  ResolverSettings settings_;
  Random& random_;
  const Clock& cache_clock_;
  LocatorOptions locator_options_;
  DnsCache cache_;
  ResolverStats stats_;
  bool destroying_ = false;
  Duration lookup_budget_{0};

  std::unordered_map<std::uint64_t, Resolving> resolutions_;
  std::uint64_t next_resolution_ = 1;
  std::unordered_map<std::string, InFlight> in_flight_;  // by canonicalKey
  std::deque<Deadline> deadlines_;                       // in start order, which is deadline order
  std::uint64_t next_lookup_ = 1;

  TimerPtr ares_timer_;
  TimerPtr deadline_timer_;
  std::unordered_map<ares_socket_t, std::unique_ptr<SocketEvent>> socket_events_;
  ChannelPtr channel_;  // last: destroyed first (explicitly, in the destructor)
};

namespace {

class Handle final : public PendingQuery {
 public:
  Handle(std::weak_ptr<ResolverState> state, std::uint64_t id)
      : state_(std::move(state)), id_(id) {}
  ~Handle() override { cancel(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  void cancel() override {
    if (std::shared_ptr<ResolverState> s = state_.lock()) {
      s->cancel(id_);
    }
    state_.reset();
  }

 private:
  std::weak_ptr<ResolverState> state_;
  std::uint64_t id_;
};

}  // namespace

Result<void> ResolverState::init() {
  if (settings_.timeout.count() <= 0 || settings_.timeout.count() > INT_MAX / 64) {
    return fail(
        Error{"dns timeout must be between 1 ms and " + std::to_string(INT_MAX / 64) + " ms"});
  }
  if (settings_.tries < 1 || settings_.tries > 16) {
    return fail(Error{"dns tries must be between 1 and 16"});
  }
  if (settings_.max_records < 1) {
    return fail(Error{"dns max_records must be at least 1"});
  }
  if (settings_.negative_ttl.count() < 0 || settings_.max_ttl.count() < 0) {
    return fail(Error{"dns cache TTLs must not be negative"});
  }
  std::vector<ares_addr_port_node> servers;
  for (const std::string& s : settings_.servers) {
    Result<ares_addr_port_node> node = parseServer(s);
    if (!node) {
      return fail(node.error());
    }
    servers.push_back(*node);
  }

  ares_options options{};
  options.timeout = static_cast<int>(settings_.timeout.count());
  options.tries = settings_.tries;
  options.sock_state_cb = &ResolverState::onSocketState;
  options.sock_state_cb_data = this;
  ares_channel channel = nullptr;
  const int rc = ares_init_options(&channel, &options,
                                   ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB);
  if (rc != ARES_SUCCESS) {
    return fail(Error{"c-ares init: " + aresError(rc)});
  }
  channel_.reset(channel);

  std::size_t server_count = servers.size();
  if (!servers.empty()) {
    for (std::size_t i = 0; i + 1 < servers.size(); ++i) {
      servers[i].next = &servers[i + 1];
    }
    const int set = ares_set_servers_ports(channel_.get(), servers.data());
    if (set != ARES_SUCCESS) {
      return fail(Error{"c-ares servers: " + aresError(set)});
    }
  } else {
    ares_addr_port_node* system = nullptr;
    if (ares_get_servers_ports(channel_.get(), &system) == ARES_SUCCESS) {
      for (ares_addr_port_node* n = system; n != nullptr; n = n->next) {
        ++server_count;
      }
      ares_free_data(system);
    }
  }
  lookup_budget_ = settings_.timeout * settings_.tries *
                   static_cast<int>(std::max<std::size_t>(1, server_count));

  ares_timer_ = worker_.createTimer([this] {
    ares_process_fd(channel_.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    updateAresTimer();
  });
  deadline_timer_ = worker_.createTimer([this] { onDeadlineTimer(); });
  return {};
}

PendingQueryPtr ResolverState::start(Locator locator, ResolveCallback callback) {
  ++stats_.resolutions;
  const std::uint64_t id = next_resolution_++;
  resolutions_.emplace(id, Resolving{std::move(locator), std::move(callback)});
  drive(id);
  return std::make_unique<Handle>(weak_from_this(), id);
}

// Hands a resolution the lookups it asks for, from the cache when possible, until it waits for
// the network or is done. Re-entrant: an answer that arrives while it runs (c-ares may call back
// from inside ares_query) only sets `again`.
void ResolverState::drive(std::uint64_t id) {
  auto it = resolutions_.find(id);
  if (it == resolutions_.end() || it->second.finished) {
    return;
  }
  Resolving& r = it->second;  // stable: nothing inserts or erases resolutions while we run
  if (r.driving) {
    r.again = true;
    return;
  }
  r.driving = true;
  do {
    r.again = false;
    for (const LookupKey& key : r.locator.takeLookups()) {
      if (r.locator.done()) {
        break;
      }
      if (std::optional<Answer> hit = cache_.find(key, cache_clock_.now())) {
        ++stats_.cache_hits;
        r.locator.feed(key, *hit);
        r.again = true;
      } else {
        ++stats_.cache_misses;
        startLookup(key, id);
      }
    }
  } while (r.again && !r.locator.done());
  r.driving = false;
  if (r.locator.done()) {
    r.finished = true;
    postDelivery(id);
  }
}

void ResolverState::startLookup(const LookupKey& key, std::uint64_t resolution) {
  std::string k = canonicalKey(key);
  if (auto it = in_flight_.find(k); it != in_flight_.end()) {
    it->second.waiters.push_back(Waiter{resolution, key});  // one query for all who ask
    return;
  }
  const std::uint64_t id = next_lookup_++;
  in_flight_.emplace(k, InFlight{id, {Waiter{resolution, key}}});
  deadlines_.push_back(Deadline{worker_.now() + lookup_budget_, k, id});
  armDeadlineTimer();
  ++stats_.queries_sent;
  // Owned by c-ares from here; freed in onAresAnswer, which may run before ares_query returns.
  auto* request = new AresRequest{this, key, std::move(k), id};
  ares_query(channel_.get(), key.name.c_str(), kClassIn, wireType(key.type),
             &ResolverState::onAresAnswer, request);
  updateAresTimer();
}

void ResolverState::onAresAnswer(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                                 int alen) {
  std::unique_ptr<AresRequest> request(static_cast<AresRequest*>(arg));
  if (status == ARES_EDESTRUCTION) {
    return;  // the channel is being destroyed: the state must not be touched
  }
  ResolverState& self = *request->state;
  Parsed parsed = self.toAnswer(request->lookup.type, status, abuf, alen);
  self.remember(request->lookup, parsed);
  self.completeLookup(request->key, request->id, parsed.answer);
}

void ResolverState::completeLookup(const std::string& key, std::uint64_t id, const Answer& answer) {
  auto it = in_flight_.find(key);
  if (it == in_flight_.end() || it->second.id != id) {
    return;  // answered already, by the deadline; a late definite answer was still cached
  }
  std::vector<Waiter> waiters = std::move(it->second.waiters);
  in_flight_.erase(it);
  if (!isDefinite(answer.status)) {
    ++stats_.query_failures;
  }
  for (const Waiter& w : waiters) {
    auto r = resolutions_.find(w.resolution);
    if (r == resolutions_.end() || r->second.finished) {
      continue;  // cancelled, or done without this answer
    }
    r->second.locator.feed(w.key, answer);
    drive(w.resolution);
  }
}

ResolverState::Parsed ResolverState::toAnswer(RecordType type, int status,
                                              const unsigned char* abuf, int alen) const {
  Parsed p;
  Answer& a = p.answer;
  switch (status) {
    case ARES_SUCCESS: return parseRecords(type, abuf, alen);
    case ARES_ENODATA: a.status = AnswerStatus::NoData; break;
    case ARES_ENOTFOUND: a.status = AnswerStatus::NxDomain; break;
    case ARES_ETIMEOUT: a.status = AnswerStatus::Timeout; break;
    case ARES_ESERVFAIL: a.status = AnswerStatus::ServerFailure, a.detail = "SERVFAIL"; break;
    case ARES_EREFUSED: a.status = AnswerStatus::ServerFailure, a.detail = "REFUSED"; break;
    case ARES_ENOTIMP: a.status = AnswerStatus::ServerFailure, a.detail = "NOTIMP"; break;
    case ARES_EFORMERR: a.status = AnswerStatus::ServerFailure, a.detail = "FORMERR"; break;
    case ARES_ECONNREFUSED:
      a.status = AnswerStatus::ServerFailure, a.detail = "connection refused";
      break;
    case ARES_EBADRESP: a.status = AnswerStatus::BadResponse, a.detail = aresError(status); break;
    case ARES_EBADNAME: a.status = AnswerStatus::InvalidName; break;
    default: a.status = AnswerStatus::Other, a.detail = aresError(status); break;
  }
  if ((a.status == AnswerStatus::NoData || a.status == AnswerStatus::NxDomain) && abuf != nullptr &&
      alen > 0) {
    // RFC 2308: the SOA in the authority section, when there is one, says how long to believe it.
    if (auto ttls = scanTtls({abuf, static_cast<std::size_t>(alen)},
                             static_cast<std::uint16_t>(wireType(type)))) {
      p.soa_negative_ttl = ttls->negative;
    }
  }
  return p;
}

ResolverState::Parsed ResolverState::parseRecords(RecordType type, const unsigned char* abuf,
                                                  int alen) const {
  Parsed p;
  Answer& a = p.answer;
  a.status = AnswerStatus::BadResponse;
  if (abuf == nullptr || alen <= 0) {
    a.detail = "empty answer";
    return p;
  }
  // c-ares 1.18 parses the records but drops their TTLs: read those from the message ourselves.
  Result<MessageTtls, std::string> ttls =
      scanTtls({abuf, static_cast<std::size_t>(alen)}, static_cast<std::uint16_t>(wireType(type)));
  if (!ttls) {
    a.detail = ttls.error();
    return p;
  }
  const std::size_t max = settings_.max_records;
  int rc = ARES_SUCCESS;
  switch (type) {
    case RecordType::Naptr: {
      ares_naptr_reply* list = nullptr;
      rc = ares_parse_naptr_reply(abuf, alen, &list);
      for (ares_naptr_reply* n = list; rc == ARES_SUCCESS && n && a.naptr.size() < max;
           n = n->next) {
        a.naptr.push_back(NaptrRecord{n->order, n->preference, text(n->flags), text(n->service),
                                      text(n->replacement)});
      }
      if (list != nullptr) {
        ares_free_data(list);
      }
      break;
    }
    case RecordType::Srv: {
      ares_srv_reply* list = nullptr;
      rc = ares_parse_srv_reply(abuf, alen, &list);
      for (ares_srv_reply* r = list; rc == ARES_SUCCESS && r && a.srv.size() < max; r = r->next) {
        a.srv.push_back(SrvRecord{r->priority, r->weight, r->port, text(r->host)});
      }
      if (list != nullptr) {
        ares_free_data(list);
      }
      break;
    }
    case RecordType::A: {
      std::vector<ares_addrttl> addrs(max);
      int n = static_cast<int>(addrs.size());
      rc = ares_parse_a_reply(abuf, alen, nullptr, addrs.data(), &n);
      for (int i = 0; rc == ARES_SUCCESS && i < n; ++i) {
        char text[INET_ADDRSTRLEN] = {};
        if (inet_ntop(AF_INET, &addrs[static_cast<std::size_t>(i)].ipaddr, text, sizeof text)) {
          a.addresses.emplace_back(text);
        }
      }
      break;
    }
    case RecordType::Aaaa: {
      std::vector<ares_addr6ttl> addrs(max);
      int n = static_cast<int>(addrs.size());
      rc = ares_parse_aaaa_reply(abuf, alen, nullptr, addrs.data(), &n);
      for (int i = 0; rc == ARES_SUCCESS && i < n; ++i) {
        char text[INET6_ADDRSTRLEN] = {};
        if (inet_ntop(AF_INET6, &addrs[static_cast<std::size_t>(i)].ip6addr, text, sizeof text)) {
          a.addresses.emplace_back(text);
        }
      }
      break;
    }
  }
  if (rc != ARES_SUCCESS && rc != ARES_ENODATA) {
    a.detail = aresError(rc);
    return p;
  }
  if (rc == ARES_ENODATA || (a.naptr.empty() && a.srv.empty() && a.addresses.empty())) {
    // e.g. only a CNAME that leads nowhere: the name has no records of this type.
    p = Parsed{};
    p.answer.status = AnswerStatus::NoData;
    p.soa_negative_ttl = ttls->negative;
    return p;
  }
  a.status = AnswerStatus::Ok;
  a.ttl = ttls->answer.value_or(0);
  return p;
}

// Caches a definite answer: positive for its smallest TTL (capped at max_ttl), negative for its
// SOA's negative TTL (capped at negative_ttl) or negative_ttl. Sets a negative answer's `ttl` to
// the time it is kept, which is what the trace shows.
void ResolverState::remember(const LookupKey& lookup, Parsed& parsed) {
  Answer& a = parsed.answer;
  std::chrono::seconds keep{0};
  if (a.status == AnswerStatus::Ok) {
    keep = std::min(std::chrono::seconds(a.ttl), settings_.max_ttl);
  } else if (a.status == AnswerStatus::NoData || a.status == AnswerStatus::NxDomain) {
    keep = settings_.negative_ttl;
    if (parsed.soa_negative_ttl) {
      keep = std::min(keep, std::chrono::seconds(*parsed.soa_negative_ttl));
    }
    a.ttl = static_cast<std::uint32_t>(keep.count());
  } else {
    return;
  }
  cache_.insert(lookup, a, keep, cache_clock_.now());
}

void ResolverState::postDelivery(std::uint64_t id) {
  worker_.post([weak = weak_from_this(), id] {
    std::shared_ptr<ResolverState> self = weak.lock();
    if (!self) {
      return;  // the resolver is gone
    }
    auto it = self->resolutions_.find(id);
    if (it == self->resolutions_.end()) {
      return;  // cancelled
    }
    ResolveCallback callback = std::move(it->second.callback);
    ResolveResult result = it->second.locator.takeResult();
    self->resolutions_.erase(it);
    if (!result) {
      ++self->stats_.resolution_failures;
    }
    self.reset();  // the callback may destroy the resolver
    if (callback) {
      callback(std::move(result));
    }
  });
}

void ResolverState::updateAresTimer() {
  if (destroying_) {
    return;
  }
  timeval tv{};
  const timeval* next = ares_timeout(channel_.get(), nullptr, &tv);
  if (next == nullptr) {
    ares_timer_->disable();
    return;
  }
  // Rounded up: a timer due in 0.3 ms must not fire early and spin.
  const auto ms = static_cast<std::int64_t>(next->tv_sec) * 1000 + (next->tv_usec + 999) / 1000;
  ares_timer_->enable(Duration(ms));
}

void ResolverState::armDeadlineTimer() {
  if (deadlines_.empty() || deadline_timer_->enabled()) {
    return;
  }
  const auto left = std::chrono::ceil<Duration>(deadlines_.front().when - worker_.now());
  deadline_timer_->enable(std::max(left, Duration(0)));
}

// A lookup that c-ares has not answered within timeout x tries x servers fails as a timeout.
// c-ares keeps the query until its own (doubling) timeouts end; its answer is then only cached.
void ResolverState::onDeadlineTimer() {
  const MonoTime now = worker_.now();
  while (!deadlines_.empty() && deadlines_.front().when <= now) {
    Deadline d = std::move(deadlines_.front());
    deadlines_.pop_front();
    Answer timeout;
    timeout.status = AnswerStatus::Timeout;
    completeLookup(d.key, d.id, timeout);
  }
  armDeadlineTimer();
}

void ResolverState::onSocketState(void* data, ares_socket_t fd, int readable, int writable) {
  auto& self = *static_cast<ResolverState*>(data);
  if (auto it = self.socket_events_.find(fd); it != self.socket_events_.end()) {
    std::unique_ptr<SocketEvent> old = std::move(it->second);
    self.socket_events_.erase(it);
    event_del(old->ev);
    if (!self.destroying_) {
      self.worker_.deferredDelete(std::move(old));  // its callback may be running
    }
  }
  if (readable == 0 && writable == 0) {
    return;
  }
  const short what = static_cast<short>(EV_PERSIST | (readable != 0 ? EV_READ : 0) |
                                        (writable != 0 ? EV_WRITE : 0));
  event* ev = event_new(self.worker_.base(), fd, what, &ResolverState::onSocketEvent, &self);
  SIPEDGE_RELEASE_ASSERT(ev != nullptr);  // out of memory (STYLE S19)
  event_add(ev, nullptr);
  self.socket_events_.emplace(fd, std::make_unique<SocketEvent>(ev));
}

void ResolverState::onSocketEvent(evutil_socket_t fd, short what, void* data) {
  auto& self = *static_cast<ResolverState*>(data);
  ares_process_fd(self.channel_.get(), (what & EV_READ) != 0 ? fd : ARES_SOCKET_BAD,
                  (what & EV_WRITE) != 0 ? fd : ARES_SOCKET_BAD);
  self.updateAresTimer();
}

}  // namespace detail

Result<std::unique_ptr<CaresResolver>> CaresResolver::create(loop::Worker& worker,
                                                             ResolverSettings settings,
                                                             Random& random) {
  return create(worker, std::move(settings), random, worker);
}

Result<std::unique_ptr<CaresResolver>> CaresResolver::create(loop::Worker& worker,
                                                             ResolverSettings settings,
                                                             Random& random,
                                                             const Clock& cache_clock) {
  static std::once_flag library;
  std::call_once(library, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  auto state =
      std::make_shared<detail::ResolverState>(worker, std::move(settings), random, cache_clock);
  if (Result<void> ok = state->init(); !ok) {
    return fail(ok.error());
  }
  return std::unique_ptr<CaresResolver>(new CaresResolver(std::move(state)));
}

CaresResolver::CaresResolver(std::shared_ptr<detail::ResolverState> state)
    : state_(std::move(state)) {}

CaresResolver::~CaresResolver() = default;

PendingQueryPtr CaresResolver::resolve(const Query& query, ResolveCallback callback) {
  return state_->start(Locator(query, state_->locatorOptions(), state_->random()),
                       std::move(callback));
}

PendingQueryPtr CaresResolver::resolveFederation(std::string domain, ResolveCallback callback) {
  return state_->start(Locator::federation(domain, state_->locatorOptions(), state_->random()),
                       std::move(callback));
}

ResolverStats CaresResolver::stats() const {
  return state_->stats();
}

void CaresResolver::clearCache() {
  state_->clearCache();
}

}  // namespace sipedge::dns
