// location_fixture: writes bindings into a location database through the SQLite store (so that
// the CLI tests never duplicate the schema), for tests/integration/bindings_cli_test.sh.
//
//   location_fixture [--hold] DB BINDING...
//
// BINDING is AOR|CONTACT|Q|EXPIRES_IN|INSTANCE|REG_ID|RECEIVED|SIDE|USER_AGENT|PATH,PATH...
// (fields after CONTACT optional; Q as in the Contact, e.g. 0.5; EXPIRES_IN seconds from now,
// negative for a binding that has already expired; SIDE internal or external). --hold keeps the
// store open, rewriting the first AOR every 10 ms, after printing "ready", until SIGTERM/SIGINT.
// Exit: 0, 1 on errors, 2 on bad arguments.

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/location/location.h"

namespace {

using sipedge::location::Binding;
using sipedge::location::UnixSeconds;

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    const std::size_t at = s.find(sep);
    out.emplace_back(s.substr(0, at));
    if (at == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(at + 1);
  }
}

bool parseBinding(std::string_view spec, UnixSeconds now, Binding& b) {
  const std::vector<std::string> f = split(spec, '|');
  if (f.size() < 2 || f[0].empty() || f[1].empty()) {
    return false;
  }
  const auto field = [&](std::size_t i) { return i < f.size() ? f[i] : std::string(); };
  b.aor = f[0];
  b.contact = f[1];
  b.q = field(2).empty() ? 1000
                         : static_cast<std::uint16_t>(std::atof(field(2).c_str()) * 1000 + 0.5);
  b.expires = now + (field(3).empty() ? 3600 : std::atoll(field(3).c_str()));
  b.instance = field(4);
  b.reg_id = static_cast<std::uint32_t>(std::atol(field(5).c_str()));
  b.received = field(6);
  b.external = field(7) == "external";
  b.user_agent = field(8);
  if (!field(9).empty()) {
    b.path = split(field(9), ',');
  }
  b.call_id = "fixture-" + b.contact;
  b.cseq = 1;
  b.updated = now;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool hold = false;
  if (!args.empty() && args[0] == "--hold") {
    hold = true;
    args.erase(args.begin());
  }
  if (args.empty()) {
    std::fprintf(stderr, "usage: location_fixture [--hold] DB BINDING...\n");
    return 2;
  }
  const UnixSeconds now = std::time(nullptr);
  std::vector<Binding> bindings;
  for (std::size_t i = 1; i < args.size(); ++i) {
    Binding b;
    if (!parseBinding(args[i], now, b)) {
      std::fprintf(stderr, "location_fixture: bad binding '%s'\n", args[i].c_str());
      return 2;
    }
    bindings.push_back(std::move(b));
  }
  // The store drops bindings that have expired at the `now` it is given, so each one is written
  // at a `now` just before its expiry, the latest first (earlier writes then stay unexpired).
  std::sort(bindings.begin(), bindings.end(),
            [](const Binding& a, const Binding& b) { return a.expires > b.expires; });
  UnixSeconds open_at = now;
  for (const Binding& b : bindings) {
    open_at = std::min(open_at, b.expires - 1);
  }

  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  ::sigprocmask(SIG_BLOCK, &stop, nullptr);  // before the writer thread starts

  sipedge::location::SqliteSettings settings;
  settings.path = args[0];
  settings.flush_interval = sipedge::Duration{5};
  auto store = sipedge::location::openSqliteStore(settings, open_at);
  if (!store) {
    std::fprintf(stderr, "location_fixture: %s\n", store.error().message.c_str());
    return 1;
  }
  for (const Binding& b : bindings) {
    (*store)->update(b.aor, std::min(now, b.expires - 1), [&](std::vector<Binding>& list) {
      list.push_back(b);
      return true;
    });
  }
  if (!hold) {
    return 0;  // the destructor writes the queue
  }
  // Wait until everything is in the database, then keep writing until told to stop.
  const timespec tick{0, 10 * 1000 * 1000};
  while ((*store)->stats().persisted == 0 && !bindings.empty()) {
    ::nanosleep(&tick, nullptr);
  }
  std::printf("ready\n");
  std::fflush(stdout);
  while (::sigtimedwait(&stop, nullptr, &tick) < 0) {
    if (!bindings.empty()) {
      (*store)->update(bindings.front().aor, now, [](std::vector<Binding>&) { return true; });
    }
  }
  const auto stats = (*store)->stats();
  if (stats.persist_errors > 0) {
    std::fprintf(stderr, "location_fixture: %s\n", stats.last_error.c_str());
    return 1;
  }
  return 0;
}
