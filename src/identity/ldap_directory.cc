#include "sipedge/identity/ldap_directory.h"

#include <event2/event.h>
#include <fcntl.h>
#include <ldap.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sipedge/base/log.h"
#include "sipedge/base/strings.h"
#include "sipedge/loop/worker.h"
#include "sipedge/sip/uri.h"

namespace sipedge::identity {
namespace {

// Several entries make an answer ambiguous; more than this many are not worth fetching.
constexpr int kSizeLimit = 16;

struct LdapDeleter {
  void operator()(LDAP* ld) const { ldap_unbind_ext(ld, nullptr, nullptr); }
};
using LdapPtr = std::unique_ptr<LDAP, LdapDeleter>;

struct MessageDeleter {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using MessagePtr = std::unique_ptr<LDAPMessage, MessageDeleter>;

struct EventDeleter {
  void operator()(event* e) const { event_free(e); }
};
using EventPtr = std::unique_ptr<event, EventDeleter>;

// libldap writes with write(), so a peer that closed its end raises SIGPIPE. Like
// WorkerTransport, ignore it once for the process: the write then fails with EPIPE.
void ignoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { signal(SIGPIPE, SIG_IGN); });
}

std::string ldapError(int rc) {
  return std::string(ldap_err2string(rc)) + " (" + std::to_string(rc) + ")";
}

// The server's or libldap's diagnostic message for the last operation on `ld`, if any.
std::string diagnostic(LDAP* ld) {
  char* text = nullptr;
  ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &text);
  std::string out = text != nullptr ? text : "";
  ldap_memfree(text);
  return out;
}

std::string withDiagnostic(std::string message, const std::string& diag) {
  return diag.empty() ? message : message + ": " + diag;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && toLower(s.substr(0, prefix.size())) == prefix;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string> values(LDAP* ld, LDAPMessage* entry, const std::string& attribute) {
  std::vector<std::string> out;
  if (attribute.empty()) {
    return out;
  }
  berval** vals = ldap_get_values_len(ld, entry, attribute.c_str());
  if (vals != nullptr) {
    for (berval** v = vals; *v != nullptr; ++v) {
      out.emplace_back((*v)->bv_val, (*v)->bv_len);
    }
    ldap_value_free_len(vals);
  }
  return out;
}

std::string entryDn(LDAP* ld, LDAPMessage* entry) {
  char* dn = ldap_get_dn(ld, entry);
  std::string out = dn != nullptr ? dn : "?";
  ldap_memfree(dn);
  return out;
}

Answer unavailable(std::string detail) {
  Answer a;
  a.status = Status::Unavailable;
  a.detail = std::move(detail);
  return a;
}

Answer notFound(std::string detail) {
  Answer a;
  a.status = Status::NotFound;
  a.detail = std::move(detail);
  return a;
}

// A filter template may name only {aor}, {user} and {domain}.
std::optional<std::string> checkFilterTemplate(std::string_view filter) {
  if (filter.size() < 2 || filter.front() != '(' || filter.back() != ')') {
    return "must be an LDAP filter in parentheses";
  }
  bool placeholder = false;
  for (std::size_t i = filter.find('{'); i != std::string_view::npos; i = filter.find('{', i + 1)) {
    const std::size_t end = filter.find('}', i);
    const std::string_view name =
        end == std::string_view::npos ? filter.substr(i) : filter.substr(i, end - i + 1);
    if (name != "{aor}" && name != "{user}" && name != "{domain}") {
      return "unknown placeholder '" + std::string(name) + "' (use {aor}, {user} or {domain})";
    }
    placeholder = true;
  }
  if (!placeholder) {
    return "names none of {aor}, {user}, {domain}: every lookup would find the same entries";
  }
  return std::nullopt;
}

}  // namespace

std::string escapeLdapFilterValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '*': out += "\\2a"; break;
      case '(': out += "\\28"; break;
      case ')': out += "\\29"; break;
      case '\\': out += "\\5c"; break;
      case '\0': out += "\\00"; break;
      default: out += c; break;
    }
  }
  return out;
}

std::string expandLdapFilter(std::string_view filter, const Aor& aor) {
  static constexpr std::string_view kAor = "{aor}";
  static constexpr std::string_view kUser = "{user}";
  static constexpr std::string_view kDomain = "{domain}";
  std::string out;
  for (std::size_t i = 0; i < filter.size();) {
    const std::string_view rest = filter.substr(i);
    if (rest.starts_with(kAor)) {
      out += escapeLdapFilterValue(aor.str());
      i += kAor.size();
    } else if (rest.starts_with(kUser)) {
      out += escapeLdapFilterValue(aor.user);
      i += kUser.size();
    } else if (rest.starts_with(kDomain)) {
      out += escapeLdapFilterValue(aor.host);
      i += kDomain.size();
    } else {
      out += filter[i];
      ++i;
    }
  }
  return out;
}

std::optional<Target> parseLdapTarget(std::string_view value) {
  value = trim(value);
  if (!startsWithNoCase(value, "sip:") && !startsWithNoCase(value, "sips:")) {
    return std::nullopt;
  }
  Target target;
  bool have_q = false;
  std::size_t start = 0;
  for (;;) {
    const std::size_t semi = value.find(';', start);
    const std::string_view part = value.substr(start, semi - start);
    if (start > 0 && startsWithNoCase(part, "q=")) {
      const std::string_view number = part.substr(2);
      double q = -1;
      const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), q);
      if (have_q || ec != std::errc() || end != number.data() + number.size() || q < 0 || q > 1) {
        return std::nullopt;
      }
      target.q = q;
      have_q = true;
    } else {
      if (start > 0) {
        target.uri += ';';
      }
      target.uri += part;
    }
    if (semi == std::string_view::npos) {
      break;
    }
    start = semi + 1;
  }
  if (target.uri.find(':') + 1 == target.uri.size()) {
    return std::nullopt;  // "sip:" and nothing after it
  }
  // It becomes the Request-URI of what sipedge sends: a URI, and nothing more (no CR, LF, space).
  if (!sip::parseUri(target.uri) || !headerSafe(target.uri)) {
    return std::nullopt;
  }
  return target;
}

namespace {

// One LDAP connection: the handle, and what the helper thread that opens it shares with the loop.
// The thread writes `ld` and `error`, then posts to the worker; the loop reads them after that.
// Members are destroyed bottom-up: `ld` first, while the callbacks it may call (onDel) still find
// the mutex.
class Connection {
 public:
  explicit Connection(const config::LdapDirectoryConfig& config) : config_(config) {
    callbacks_.lc_add = &Connection::onAdd;
    callbacks_.lc_del = &Connection::onDel;
    callbacks_.lc_arg = this;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // On the helper thread: initialize, connect (with TLS for ldaps://), StartTLS if configured.
  void open() {
    LDAP* raw = nullptr;
    int rc = ldap_initialize(&raw, config_.uri.c_str());
    if (rc != LDAP_SUCCESS) {
      error = "cannot use " + config_.uri + ": " + ldapError(rc);
      return;
    }
    ld.reset(raw);
    const int version = LDAP_VERSION3;
    ldap_set_option(raw, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(raw, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    // Bounds this thread's connect, TLS handshake and StartTLS exchange.
    const auto ms = config_.timeout.count();
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
    ldap_set_option(raw, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(raw, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(raw, LDAP_OPT_CONNECT_CB, &callbacks_);
    if (config_.starttls || config_.uri.starts_with("ldaps:")) {
      const int demand = LDAP_OPT_X_TLS_DEMAND;
      const int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
      ldap_set_option(raw, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
      ldap_set_option(raw, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12);
      if (!config_.ca.empty()) {
        ldap_set_option(raw, LDAP_OPT_X_TLS_CACERTFILE, config_.ca.c_str());
      }
      // A context of this handle's own, built from the options above (not the global one).
      const int client = 0;
      rc = ldap_set_option(raw, LDAP_OPT_X_TLS_NEWCTX, &client);
      if (rc != LDAP_OPT_SUCCESS) {
        error = "cannot set up TLS: " + withDiagnostic(ldapError(rc), diagnostic(raw));
        return;
      }
    }
    rc = ldap_connect(raw);
    if (rc != LDAP_SUCCESS) {
      error = withDiagnostic("cannot connect to " + config_.uri + ": " + ldapError(rc),
                             diagnostic(raw));
      return;
    }
    if (config_.starttls && !cancelled()) {
      rc = ldap_start_tls_s(raw, nullptr, nullptr);
      if (rc != LDAP_SUCCESS) {
        error = withDiagnostic("StartTLS with " + config_.uri + " failed: " + ldapError(rc),
                               diagnostic(raw));
        return;
      }
    }
    if (cancelled()) {
      error = "cancelled";
    }
  }

  // From the loop's thread while open() runs: makes it fail soon (a blocked handshake sees its
  // socket shut down).
  void cancel() {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    if (fd_ >= 0) {
      shutdown(fd_, SHUT_RDWR);
    }
  }

 private:
  bool cancelled() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cancelled_;
  }

  // libldap's connection callbacks: they tell cancel() which socket to shut down, and only while
  // libldap owns it open.
  static int onAdd(LDAP*, Sockbuf* sb, LDAPURLDesc*, sockaddr*, ldap_conncb* ctx) {
    auto* self = static_cast<Connection*>(ctx->lc_arg);
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (self->cancelled_) {
      return -1;
    }
    ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &self->fd_);
    return 0;
  }
  static void onDel(LDAP*, Sockbuf*, ldap_conncb* ctx) {
    auto* self = static_cast<Connection*>(ctx->lc_arg);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->fd_ = -1;
  }

  const config::LdapDirectoryConfig config_;
  std::mutex mutex_;
  bool cancelled_ = false;  // guarded by mutex_
  int fd_ = -1;             // guarded by mutex_
  ldap_conncb callbacks_{};

 public:
  std::string error;  // empty: open
  LdapPtr ld;
};

}  // namespace

class LdapDirectory::Core {
 public:
  Core(const config::LdapDirectoryConfig& config, std::string password, loop::Worker& worker)
      : config_(config),
        password_(std::move(password)),
        worker_(worker),
        retry_timer_(worker.createTimer([this] { startOpen(); })),
        bind_timer_(worker.createTimer([this] { onBindTimeout(); })),
        deadline_timer_(worker.createTimer([this] { onDeadline(); })),
        lost_timer_(worker.createTimer([this] { connectionLost(lost_detail_); })) {}

  ~Core() {
    if (opener_.joinable()) {
      opening_->cancel();
      opener_.join();
    }
    // Pending callbacks are dropped uncalled; the event goes before the handle that owns its fd.
    pending_.clear();
    event_.reset();
    conn_.reset();
  }

  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  void startOpen() {
    if (opener_.joinable()) {
      return;  // already opening
    }
    state_ = State::Opening;
    opening_ = std::make_shared<Connection>(config_);
    std::weak_ptr<bool> alive = alive_;
    opener_ = std::thread([this, alive, conn = opening_, &worker = worker_] {
      conn->open();
      // The last thing the thread does; the destructor joins before `this` goes away, and the
      // closure checks `alive` because it may run after that.
      worker.post([this, alive, conn] {
        if (!alive.expired()) {
          onOpened(conn);
        }
      });
    });
  }

  std::optional<Answer> lookup(Direction direction, const Aor& aor, Callback done) {
    ++lookups_;
    if (!up_) {
      ++unavailable_;
      return unavailable(last_error_);
    }
    const std::uint64_t id = next_id_++;
    Pending fresh;
    fresh.direction = direction;
    fresh.aor = aor;
    fresh.done = std::move(done);
    fresh.deadline = worker_.now() + config_.timeout;
    auto it = pending_.emplace(id, std::move(fresh)).first;
    if (state_ == State::Ready) {
      std::string error;
      if (!send(id, it->second, error)) {
        pending_.erase(it);
        ++unavailable_;
        return unavailable(std::move(error));
      }
    }
    armDeadline();
    return std::nullopt;
  }

  DirectoryStats stats() const {
    DirectoryStats s;
    s.lookups = lookups_;
    s.unavailable = unavailable_;
    s.pending = pending_.size();
    s.backend_up = up_ && state_ == State::Ready;
    return s;
  }

 private:
  enum class State : std::uint8_t { Down, Opening, Binding, Ready };

  struct Pending {
    Direction direction = Direction::ToInternal;
    Aor aor;
    Callback done;
    MonoTime deadline{};
    int msgid = -1;  // -1: waiting for the connection
    int entries = 0;
    Answer answer;  // from the first entry
  };
  using Deliveries = std::vector<std::pair<Callback, Answer>>;

  // Wraps a dropped connection for Worker::deferredDelete: it may be dropped from inside its own
  // event's callback (STYLE S11).
  struct Retired final : loop::Deletable {
    EventPtr event;
    std::shared_ptr<Connection> conn;
  };

  LDAP* ld() const { return conn_->ld.get(); }

  void onOpened(const std::shared_ptr<Connection>& conn) {
    opener_.join();  // it posted as its last step
    opening_.reset();
    if (!conn->error.empty()) {
      failConnection(conn->error);
      return;
    }
    conn_ = conn;
    int fd = -1;
    ldap_get_option(ld(), LDAP_OPT_DESC, &fd);
    if (fd < 0) {
      failConnection("connection has no descriptor");
      return;
    }
    // libldap handles EWOULDBLOCK: ldap_result() then returns 0 and the loop waits again.
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    event_.reset(event_new(worker_.base(), fd, EV_READ | EV_PERSIST, &Core::onReadable, this));
    event_add(event_.get(), nullptr);

    berval cred{};
    cred.bv_val = password_.data();
    cred.bv_len = password_.size();
    const int rc = ldap_sasl_bind(ld(), config_.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr,
                                  nullptr, &bind_msgid_);
    if (rc != LDAP_SUCCESS) {
      failConnection(withDiagnostic("bind failed: " + ldapError(rc), diagnostic(ld())));
      return;
    }
    state_ = State::Binding;
    bind_timer_->enable(config_.timeout);
  }

  void onBindTimeout() {
    failConnection("bind timed out after " + std::to_string(config_.timeout.count()) + " ms");
  }

  static void onReadable(evutil_socket_t, short, void* self) {
    static_cast<Core*>(self)->readResults();
  }

  void readResults() {
    Deliveries out;
    while (conn_ != nullptr) {
      LDAPMessage* raw = nullptr;
      timeval zero{0, 0};
      const int type = ldap_result(ld(), LDAP_RES_ANY, LDAP_MSG_ONE, &zero, &raw);
      MessagePtr msg(raw);
      if (type == 0) {
        break;
      }
      if (type < 0) {
        int rc = LDAP_SERVER_DOWN;
        ldap_get_option(ld(), LDAP_OPT_RESULT_CODE, &rc);
        lose(withDiagnostic("connection lost: " + ldapError(rc), diagnostic(ld())), true, out);
        break;
      }
      onMessage(type, msg.get(), out);
    }
    deliver(std::move(out));
  }

  void onMessage(int type, LDAPMessage* msg, Deliveries& out) {
    const int msgid = ldap_msgid(msg);
    if (state_ == State::Binding && msgid == bind_msgid_ && type == LDAP_RES_BIND) {
      onBound(msg, out);
      return;
    }
    if (type == LDAP_RES_EXTENDED && msgid == 0) {
      // An unsolicited notification: the server is closing the connection (RFC 4511 4.4.1).
      lose(withDiagnostic("server ended the connection", diagnostic(ld())), true, out);
      return;
    }
    auto id = by_msgid_.find(msgid);
    if (id == by_msgid_.end()) {
      return;  // a search that timed out and was abandoned
    }
    auto it = pending_.find(id->second);
    Pending& p = it->second;
    if (type == LDAP_RES_SEARCH_ENTRY) {
      if (++p.entries == 1) {
        p.answer = answerFromEntry(p.direction, msg);
      }
      return;
    }
    if (type != LDAP_RES_SEARCH_RESULT) {
      return;  // references: not followed
    }
    int rc = LDAP_OTHER;
    char* text = nullptr;
    ldap_parse_result(ld(), msg, &rc, nullptr, &text, nullptr, nullptr, 0);
    const std::string server_text = text != nullptr ? text : "";
    ldap_memfree(text);
    Answer answer;
    if (rc == LDAP_SIZELIMIT_EXCEEDED && p.entries > 1) {
      answer = notFound("ambiguous: at least " + std::to_string(p.entries) + " entries");
    } else if (rc != LDAP_SUCCESS) {
      answer = unavailable(withDiagnostic("search failed: " + ldapError(rc), server_text));
    } else if (p.entries == 0) {
      answer = notFound("");
    } else if (p.entries > 1) {
      answer = notFound("ambiguous: " + std::to_string(p.entries) + " entries");
    } else {
      answer = std::move(p.answer);
    }
    finish(it, std::move(answer), out);
  }

  void onBound(LDAPMessage* msg, Deliveries& out) {
    bind_timer_->disable();
    int rc = LDAP_OTHER;
    char* text = nullptr;
    ldap_parse_result(ld(), msg, &rc, nullptr, &text, nullptr, nullptr, 0);
    const std::string server_text = text != nullptr ? text : "";
    ldap_memfree(text);
    if (rc != LDAP_SUCCESS) {
      lose(withDiagnostic("bind failed: " + ldapError(rc), server_text), false, out);
      return;
    }
    state_ = State::Ready;
    up_ = true;
    last_error_.clear();
    // Every bind but the first follows an outage that lose() logged.
    if (reported_down_) {
      log::info("identity", "{}: LDAP directory {} is back: bound, lookups answered again",
                worker_.name(), config_.uri);
    } else {
      log::info("identity", "{}: LDAP directory {}: bound", worker_.name(), config_.uri);
    }
    reported_down_ = false;
    // Send what waited for the connection.
    for (auto it = pending_.begin(); it != pending_.end() && conn_ != nullptr;) {
      auto next = std::next(it);
      if (it->second.msgid < 0) {
        std::string error;
        if (!send(it->first, it->second, error)) {
          finish(it, unavailable(std::move(error)), out);
        }
      }
      it = next;
    }
  }

  Answer answerFromEntry(Direction direction, LDAPMessage* entry) {
    const std::string& attribute = direction == Direction::ToInternal ? config_.internal_attribute
                                                                      : config_.external_attribute;
    const std::vector<std::string> identity = values(ld(), entry, attribute);
    if (identity.empty()) {
      return notFound("entry " + entryDn(ld(), entry) + " has no " + attribute);
    }
    if (identity.size() > 1) {
      return notFound("entry " + entryDn(ld(), entry) + " has " + std::to_string(identity.size()) +
                      " values of " + attribute);
    }
    std::optional<Aor> aor = parseAor(identity[0]);
    if (!aor) {
      return notFound(attribute + " of " + entryDn(ld(), entry) + " is not user@host: '" +
                      identity[0] + "'");
    }
    Answer answer;
    answer.status = Status::Found;
    answer.identity = std::move(*aor);
    if (direction == Direction::ToExternal) {
      return answer;
    }
    for (const std::string& value : values(ld(), entry, config_.target_attribute)) {
      std::optional<Target> target = parseLdapTarget(value);
      if (!target) {
        return notFound(config_.target_attribute + " of " + entryDn(ld(), entry) +
                        " is not a SIP URI with an optional q from 0 to 1: '" + value + "'");
      }
      answer.targets.push_back(std::move(*target));
    }
    std::stable_sort(answer.targets.begin(), answer.targets.end(),
                     [](const Target& a, const Target& b) { return a.q > b.q; });
    if (answer.targets.empty()) {
      answer.targets.push_back(Target{"sip:" + answer.identity.str(), 1.0});
    }
    // Digest credentials (the registrar's): HA1 hex values; anything else is skipped, so a bad
    // value fails that user's authentication, not the mapping.
    for (std::string value : values(ld(), entry, config_.ha1_attribute)) {
      const bool hex = std::all_of(value.begin(), value.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0;
      });
      if (hex && (value.size() == 32 || value.size() == 64)) {
        std::transform(value.begin(), value.end(), value.begin(), [](char c) {
          return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        });
        answer.credentials.push_back(std::move(value));
      }
    }
    return answer;
  }

  // Starts the search for `p`. False with `error` when it cannot be sent; a lost connection is
  // then reported to the other lookups from a zero-delay timer, never from inside lookup().
  bool send(std::uint64_t id, Pending& p, std::string& error) {
    const bool to_internal = p.direction == Direction::ToInternal;
    const std::string filter =
        expandLdapFilter(to_internal ? config_.external_filter : config_.internal_filter, p.aor);
    std::vector<char*> attrs;
    if (to_internal) {
      attrs.push_back(const_cast<char*>(config_.internal_attribute.c_str()));
      if (!config_.target_attribute.empty()) {
        attrs.push_back(const_cast<char*>(config_.target_attribute.c_str()));
      }
      if (!config_.ha1_attribute.empty()) {
        attrs.push_back(const_cast<char*>(config_.ha1_attribute.c_str()));
      }
    } else {
      attrs.push_back(const_cast<char*>(config_.external_attribute.c_str()));
    }
    attrs.push_back(nullptr);
    int msgid = -1;
    const int rc = ldap_search_ext(ld(), config_.base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(),
                                   attrs.data(), 0, nullptr, nullptr, nullptr, kSizeLimit, &msgid);
    if (rc != LDAP_SUCCESS) {
      error = withDiagnostic("search failed: " + ldapError(rc), diagnostic(ld()));
      if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR) {
        up_ = false;
        last_error_ = "connection lost: " + ldapError(rc);
        lost_detail_ = last_error_;
        lost_timer_->enable(Duration(0));
      }
      return false;
    }
    p.msgid = msgid;
    by_msgid_.emplace(msgid, id);
    return true;
  }

  void finish(std::map<std::uint64_t, Pending>::iterator it, Answer answer, Deliveries& out) {
    if (answer.status == Status::Unavailable) {
      ++unavailable_;
    }
    if (it->second.msgid >= 0) {
      by_msgid_.erase(it->second.msgid);
    }
    out.emplace_back(std::move(it->second.done), std::move(answer));
    pending_.erase(it);
  }

  void armDeadline() {
    if (deadline_timer_->enabled() || pending_.empty()) {
      return;
    }
    MonoTime first = pending_.begin()->second.deadline;
    for (const auto& [id, p] : pending_) {
      first = std::min(first, p.deadline);
    }
    deadline_timer_->enable(std::chrono::duration_cast<Duration>(first - worker_.now()) +
                            Duration(1));
  }

  void onDeadline() {
    const MonoTime now = worker_.now();
    Deliveries out;
    for (auto it = pending_.begin(); it != pending_.end();) {
      auto next = std::next(it);
      if (it->second.deadline <= now) {
        const std::string waited = std::to_string(config_.timeout.count()) + " ms";
        if (it->second.msgid >= 0 && conn_ != nullptr) {
          ldap_abandon_ext(ld(), it->second.msgid, nullptr, nullptr);
          finish(it, unavailable("search timed out after " + waited), out);
        } else {
          finish(it, unavailable("no connection within " + waited), out);
        }
      }
      it = next;
    }
    armDeadline();
    deliver(std::move(out));
  }

  // Drops the connection, fails every pending lookup, and schedules the next open: at once after
  // losing a connection that worked, else after reconnect_interval.
  void lose(const std::string& detail, bool was_up, Deliveries& out) {
    const bool worked = was_up && state_ == State::Ready;
    // Once per outage: every reconnect attempt that fails again is a debug line only.
    if (!reported_down_) {
      log::warning("identity",
                   "{}: LDAP directory {} unavailable: {}; requests that need it get 503 until "
                   "it is back (reconnecting every {} ms)",
                   worker_.name(), config_.uri, detail, config_.reconnect_interval.count());
      reported_down_ = true;
    } else {
      log::debug("identity", "{}: LDAP directory {} still unavailable: {}", worker_.name(),
                 config_.uri, detail);
    }
    dropConnection(detail);
    while (!pending_.empty()) {
      finish(pending_.begin(), unavailable(detail), out);
    }
    retry_timer_->enable(worked ? Duration(0) : config_.reconnect_interval);
  }

  void failConnection(const std::string& detail) {
    Deliveries out;
    lose(detail, false, out);
    deliver(std::move(out));
  }

  void connectionLost(const std::string& detail) {
    Deliveries out;
    lose(detail, true, out);
    deliver(std::move(out));
  }

  void dropConnection(const std::string& detail) {
    state_ = State::Down;
    up_ = false;
    last_error_ = detail;
    bind_timer_->disable();
    lost_timer_->disable();
    by_msgid_.clear();
    if (event_ != nullptr) {
      event_del(event_.get());
    }
    if (conn_ != nullptr || event_ != nullptr) {
      auto retired = std::make_unique<Retired>();
      retired->event = std::move(event_);
      retired->conn = std::move(conn_);
      worker_.deferredDelete(std::move(retired));
    }
  }

  // Calls back in order. A callback may destroy the directory: then the rest are dropped.
  void deliver(Deliveries out) {
    const std::weak_ptr<bool> alive = alive_;
    for (auto& [done, answer] : out) {
      if (alive.expired()) {
        return;
      }
      done(std::move(answer));
    }
  }

  const config::LdapDirectoryConfig config_;
  std::string password_;
  loop::Worker& worker_;
  State state_ = State::Down;
  // False from a failure until the next bind succeeds: lookups then fail at once. True before
  // the first connection is up, so that early lookups wait for it (stats say up once bound).
  bool up_ = true;
  std::string last_error_;
  bool reported_down_ = false;  // the outage was logged; its end will be
  std::string lost_detail_;

  std::thread opener_;
  std::shared_ptr<Connection> opening_;  // while opener_ runs
  std::shared_ptr<Connection> conn_;     // the open connection
  EventPtr event_;                       // its descriptor, readable
  int bind_msgid_ = -1;

  std::map<std::uint64_t, Pending> pending_;  // by arrival, so callbacks keep their order
  std::unordered_map<int, std::uint64_t> by_msgid_;
  std::uint64_t next_id_ = 1;
  std::uint64_t lookups_ = 0;
  std::uint64_t unavailable_ = 0;

  TimerPtr retry_timer_;
  TimerPtr bind_timer_;
  TimerPtr deadline_timer_;
  TimerPtr lost_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

Result<std::unique_ptr<LdapDirectory>, std::string> LdapDirectory::create(
    const config::LdapDirectoryConfig& config, loop::Worker& worker) {
  const std::string prefix = "directory.ldap.";
  LDAPURLDesc* url = nullptr;
  if (config.uri.empty()) {
    return fail(prefix + "uri: required");
  }
  if (ldap_url_parse(config.uri.c_str(), &url) != LDAP_URL_SUCCESS) {
    return fail(prefix + "uri: '" + config.uri + "' is not an LDAP URL");
  }
  const std::string scheme = url->lud_scheme != nullptr ? toLower(url->lud_scheme) : "";
  const bool has_host = url->lud_host != nullptr && url->lud_host[0] != '\0';
  ldap_free_urldesc(url);
  if (scheme != "ldap" && scheme != "ldaps") {
    return fail(prefix + "uri: '" + config.uri + "': the scheme must be ldap or ldaps");
  }
  if (!has_host) {
    return fail(prefix + "uri: '" + config.uri + "' names no host");
  }
  if (config.starttls && scheme == "ldaps") {
    return fail(prefix + "starttls: only for ldap:// (ldaps:// is TLS from the start)");
  }
  if (!config.ca.empty() && !std::ifstream(config.ca).good()) {
    return fail(prefix + "ca: cannot read '" + config.ca + "'");
  }
  if (config.base.empty()) {
    return fail(prefix + "base: required");
  }
  LDAPDN dn = nullptr;
  if (ldap_str2dn(config.base.c_str(), &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
    return fail(prefix + "base: '" + config.base + "' is not a DN");
  }
  ldap_dnfree(dn);
  for (const auto& [name, filter] : {std::pair{"external_filter", &config.external_filter},
                                     std::pair{"internal_filter", &config.internal_filter}}) {
    if (std::optional<std::string> error = checkFilterTemplate(*filter)) {
      return fail(prefix + name + ": '" + *filter + "' " + *error);
    }
  }
  if (config.external_attribute.empty()) {
    return fail(prefix + "external_attribute: required");
  }
  if (config.internal_attribute.empty()) {
    return fail(prefix + "internal_attribute: required");
  }
  if (config.timeout <= Duration(0)) {
    return fail(prefix + "timeout: must be positive");
  }
  if (config.reconnect_interval <= Duration(0)) {
    return fail(prefix + "reconnect_interval: must be positive");
  }
  std::string password;
  if (config.bind_dn.empty()) {
    if (!config.password_file.empty()) {
      return fail(prefix + "password_file: given without bind_dn");
    }
  } else {
    if (ldap_str2dn(config.bind_dn.c_str(), &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
      return fail(prefix + "bind_dn: '" + config.bind_dn + "' is not a DN");
    }
    ldap_dnfree(dn);
    if (config.password_file.empty()) {
      return fail(prefix + "password_file: required with bind_dn");
    }
    std::ifstream in(config.password_file);
    if (!in || !std::getline(in, password)) {
      return fail(prefix + "password_file: cannot read '" + config.password_file + "'");
    }
    if (!password.empty() && password.back() == '\r') {
      password.pop_back();
    }
    if (password.empty()) {
      // An empty password makes a simple bind unauthenticated (RFC 4513 5.1.2): refuse.
      return fail(prefix + "password_file: '" + config.password_file +
                  "' starts with an empty line");
    }
  }
  ignoreSigpipe();
  auto core = std::make_unique<Core>(config, std::move(password), worker);
  core->startOpen();
  return std::unique_ptr<LdapDirectory>(new LdapDirectory(std::move(core)));
}

LdapDirectory::LdapDirectory(std::unique_ptr<Core> core) : core_(std::move(core)) {}

LdapDirectory::~LdapDirectory() = default;

std::optional<Answer> LdapDirectory::lookup(Direction direction, const Aor& aor, Callback done) {
  return core_->lookup(direction, aor, std::move(done));
}

DirectoryStats LdapDirectory::stats() const {
  return core_->stats();
}

}  // namespace sipedge::identity
