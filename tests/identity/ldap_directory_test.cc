// LdapDirectory against a real slapd on loopback (tests/support/slapd.h), on a real loop::Worker
// running on its own thread; plus its pure helpers (filter escaping, target parsing) and create()'s
// config checks. These tests wait for real events with generous limits and never assert on
// durations, except that "at once" answers are returned from lookup() itself.

#include "sipedge/identity/ldap_directory.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include "../support/slapd.h"
#include "../support/test_certs.h"
#include "sipedge/loop/worker.h"

namespace sipedge::identity {
namespace {

using std::chrono::milliseconds;
using testing::Slapd;

// ---- pure helpers ---------------------------------------------------------------------------

TEST(EscapeLdapFilterValue, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(escapeLdapFilterValue("jerry@acme.com"), "jerry@acme.com");
  EXPECT_EQ(escapeLdapFilterValue("a*)(uid=*"), "a\\2a\\29\\28uid=\\2a");
  EXPECT_EQ(escapeLdapFilterValue("back\\slash"), "back\\5cslash");
  EXPECT_EQ(escapeLdapFilterValue(std::string_view("nul\0x", 5)), "nul\\00x");
  EXPECT_EQ(escapeLdapFilterValue(""), "");
}

TEST(ExpandLdapFilter, ReplacesEachPlaceholderWithTheEscapedValue) {
  const Aor aor{"a*)(uid=*", "acme.com"};
  EXPECT_EQ(expandLdapFilter("(sipExternalAddress={aor})", aor),
            "(sipExternalAddress=a\\2a\\29\\28uid=\\2a@acme.com)");
  EXPECT_EQ(expandLdapFilter("(&(uid={user})(dc={domain})(x={unknown}))", Aor{"js", "nyc.test"}),
            "(&(uid=js)(dc=nyc.test)(x={unknown}))");
}

TEST(ParseLdapTarget, ReadsTheQParameterAndKeepsTheOthers) {
  EXPECT_EQ(parseLdapTarget("sip:js@nyc.acme.com"), (Target{"sip:js@nyc.acme.com", 1.0}));
  EXPECT_EQ(parseLdapTarget("sip:js@nyc.acme.com;q=0.5"), (Target{"sip:js@nyc.acme.com", 0.5}));
  EXPECT_EQ(parseLdapTarget(" sips:js@nyc.acme.com;transport=tcp;Q=0;lr "),
            (Target{"sips:js@nyc.acme.com;transport=tcp;lr", 0.0}));
  EXPECT_EQ(parseLdapTarget("tel:+15551234"), std::nullopt);
  EXPECT_EQ(parseLdapTarget("sip:"), std::nullopt);
  EXPECT_EQ(parseLdapTarget("sip:js@nyc.acme.com;q=1.5"), std::nullopt);
  EXPECT_EQ(parseLdapTarget("sip:js@nyc.acme.com;q=high"), std::nullopt);
  EXPECT_EQ(parseLdapTarget("sip:js@nyc.acme.com;q=0.5;q=0.7"), std::nullopt);
  // Not a URI, or more than one: it would be the Request-URI sipedge writes.
  EXPECT_EQ(parseLdapTarget("sip:js@nyc.acme.com SIP/2.0\r\nX-Evil: 1"), std::nullopt);
  EXPECT_EQ(parseLdapTarget("sip:js@nyc acme.com"), std::nullopt);
  EXPECT_EQ(parseLdapTarget("sip:js@"), std::nullopt);
}

// ---- a worker on its own thread -------------------------------------------------------------

class WorkerThread {
 public:
  WorkerThread() : worker_("ldap-test"), thread_([this] { worker_.run(); }) {}
  ~WorkerThread() {
    worker_.exit();
    thread_.join();
  }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  loop::Worker& worker() { return worker_; }

  // Runs `fn` on the worker's thread and returns its result.
  template <class F>
  auto run(F fn) -> decltype(fn()) {
    using R = decltype(fn());
    std::promise<R> done;
    worker_.post([&] {
      if constexpr (std::is_void_v<R>) {
        fn();
        done.set_value();
      } else {
        done.set_value(fn());
      }
    });
    return done.get_future().get();
  }

 private:
  loop::Worker worker_;
  std::thread thread_;
};

struct Outcome {
  Answer answer;
  bool at_once = false;  // returned by lookup() rather than called back
  bool answered = false;
};

const testing::TestCerts& certs() {
  return testing::TestCerts::shared();
}

class LdapDirectoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_ =
        new Slapd(SIPEDGE_LDAP_DATA_DIR "/sipedge.schema", SIPEDGE_LDAP_DATA_DIR "/directory.ldif");
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }

  ~LdapDirectoryTest() override { destroy(); }

  // The edge's service account, on `server` (default: the suite's slapd).
  config::LdapDirectoryConfig configFor(Slapd& server) {
    config::LdapDirectoryConfig c;
    c.uri = server.ldapUri();
    c.bind_dn = "cn=edge,ou=services,dc=example,dc=test";
    // Only the first line is the password.
    c.password_file = server.writeFile("edge.password", "edge-secret\nnot part of it\n");
    c.base = "ou=people,dc=example,dc=test";
    c.target_attribute = "sipTarget";
    c.timeout = milliseconds(3000);
    c.reconnect_interval = milliseconds(100);
    return c;
  }
  config::LdapDirectoryConfig config() { return configFor(*shared_); }

  void SetUp() override { ASSERT_TRUE(shared_->ok()) << shared_->error(); }

  void create(const config::LdapDirectoryConfig& c) {
    destroy();
    auto made = loop_.run([&] { return LdapDirectory::create(c, loop_.worker()); });
    ASSERT_TRUE(made.has_value()) << made.error();
    dir_ = std::move(*made);
  }

  void destroy() {
    if (dir_ != nullptr) {
      loop_.run([&] { dir_.reset(); });
    }
  }

  Outcome lookup(Direction d, const Aor& aor, milliseconds limit = milliseconds(15000)) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    std::future<Outcome> future = promise->get_future();
    loop_.worker().post([this, d, aor, promise] {
      auto inside = std::make_shared<bool>(true);
      std::optional<Answer> now = dir_->lookup(d, aor, [promise, inside](Answer a) {
        EXPECT_FALSE(*inside) << "callback from inside lookup()";
        promise->set_value(Outcome{std::move(a), false, true});
      });
      *inside = false;
      if (now) {
        promise->set_value(Outcome{std::move(*now), true, true});
      }
    });
    if (future.wait_for(limit) != std::future_status::ready) {
      ADD_FAILURE() << "no answer for " << aor.str() << " within " << limit.count() << " ms";
      return Outcome{};
    }
    return future.get();
  }
  Outcome toInternal(const std::string& aor) {
    return lookup(Direction::ToInternal, *parseAor(aor));
  }

  DirectoryStats stats() {
    return loop_.run([&] { return dir_->stats(); });
  }

  // Polls stats() until `pred` holds or 10 s pass.
  template <class Pred>
  bool waitForStats(Pred pred) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up) {
      if (pred(stats())) {
        return true;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }

  static Answer found(const std::string& identity, std::vector<Target> targets) {
    Answer a;
    a.status = Status::Found;
    a.identity = *parseAor(identity);
    a.targets = std::move(targets);
    return a;
  }

  static Slapd* shared_;
  WorkerThread loop_;
  std::unique_ptr<LdapDirectory> dir_;
};

Slapd* LdapDirectoryTest::shared_ = nullptr;

// ---- answers --------------------------------------------------------------------------------

TEST_F(LdapDirectoryTest, FoundWithoutTargetsGoesToTheInternalIdentity) {
  create(config());
  const Outcome o = toInternal("jerry@acme.com");
  EXPECT_FALSE(o.at_once);  // the first lookup waited for the connection
  EXPECT_EQ(o.answer, found("js@nyc.acme.com", {Target{"sip:js@nyc.acme.com", 1.0}}));
  const DirectoryStats s = stats();
  EXPECT_EQ(s.lookups, 1u);
  EXPECT_EQ(s.unavailable, 0u);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_TRUE(s.backend_up);
}

TEST_F(LdapDirectoryTest, TargetsComeHighestQFirst) {
  create(config());
  EXPECT_EQ(toInternal("elaine@acme.com").answer,
            found("eb@nyc.acme.com", {Target{"sip:eb@mobile.nyc.acme.com", 0.9},
                                      Target{"sip:eb@desk.nyc.acme.com", 0.5},
                                      Target{"sip:eb@voicemail.nyc.acme.com;transport=tcp", 0.1}}));
}

TEST_F(LdapDirectoryTest, WithoutATargetAttributeConfiguredTargetsAreIgnored) {
  config::LdapDirectoryConfig c = config();
  c.target_attribute.clear();
  create(c);
  EXPECT_EQ(toInternal("elaine@acme.com").answer,
            found("eb@nyc.acme.com", {Target{"sip:eb@nyc.acme.com", 1.0}}));
}

TEST_F(LdapDirectoryTest, CredentialsComeWithTheMappingWhenConfigured) {
  config::LdapDirectoryConfig c = config();
  c.ha1_attribute = "sipHA1";
  create(c);
  const Answer a = toInternal("jerry@acme.com").answer;
  EXPECT_EQ(a.status, Status::Found);
  // Lower-cased; the value that is not hex of the right length is skipped.
  EXPECT_EQ(a.credentials,
            (std::vector<std::string>{
                "9cae71978e0430826717888e49234b49",
                "91c7bd7700bb90d813815eb619714431656404794b34a5f3fb8c15ef25ca1c87"}));
  EXPECT_TRUE(toInternal("elaine@acme.com").answer.credentials.empty());
}

TEST_F(LdapDirectoryTest, WithoutAnHa1AttributeNoCredentials) {
  create(config());
  EXPECT_TRUE(toInternal("jerry@acme.com").answer.credentials.empty());
}

TEST_F(LdapDirectoryTest, UnknownUserIsNotFound) {
  create(config());
  const Outcome o = toInternal("george@acme.com");
  EXPECT_EQ(o.answer.status, Status::NotFound);
  EXPECT_EQ(o.answer.detail, "");
  // Users compare exactly; the directory holds "jerry".
  EXPECT_EQ(toInternal("Jerry@acme.com").answer.status, Status::NotFound);
  EXPECT_EQ(stats().unavailable, 0u);
}

TEST_F(LdapDirectoryTest, ReverseMappingGivesTheExternalIdentity) {
  create(config());
  const Outcome o = lookup(Direction::ToExternal, Aor{"js", "nyc.acme.com"});
  Answer want;
  want.status = Status::Found;
  want.identity = Aor{"jerry", "acme.com"};
  EXPECT_EQ(o.answer, want);  // no targets for ToExternal
  EXPECT_EQ(lookup(Direction::ToExternal, Aor{"jerry", "acme.com"}).answer.status,
            Status::NotFound);
}

TEST_F(LdapDirectoryTest, FilterInjectionCannotChangeTheFilter) {
  create(config());
  // Unescaped, these would match jerry (substring), everyone (ambiguous), or break the filter.
  for (const char* user : {"jer*", "*", "a*)(uid=*", "jerry)(|(cn=*", "\\2a"}) {
    const Outcome o = lookup(Direction::ToInternal, Aor{user, "acme.com"});
    EXPECT_EQ(o.answer.status, Status::NotFound) << user << ": " << o.answer.detail;
    EXPECT_EQ(o.answer.detail, "") << user;
  }
  // A user whose name really holds the special characters is found exactly.
  EXPECT_EQ(lookup(Direction::ToInternal, Aor{"st*r(1)\\x", "acme.com"}).answer,
            found("star@nyc.acme.com", {Target{"sip:star@nyc.acme.com", 1.0}}));
  EXPECT_EQ(stats().unavailable, 0u);
}

TEST_F(LdapDirectoryTest, SeveralEntriesAreAmbiguous) {
  create(config());
  const Outcome o = toInternal("shared@acme.com");
  EXPECT_EQ(o.answer.status, Status::NotFound);
  EXPECT_EQ(o.answer.detail, "ambiguous: 2 entries");
}

TEST_F(LdapDirectoryTest, MissingOrBrokenAttributesAreNotFoundWithADetail) {
  create(config());
  const Outcome missing = toInternal("nointernal@acme.com");
  EXPECT_EQ(missing.answer.status, Status::NotFound);
  EXPECT_EQ(missing.answer.detail,
            "entry cn=nointernal,ou=people,dc=example,dc=test has no sipInternalAddress");
  const Outcome broken = toInternal("badinternal@acme.com");
  EXPECT_EQ(broken.answer.status, Status::NotFound);
  EXPECT_EQ(broken.answer.detail,
            "sipInternalAddress of cn=badinternal,ou=people,dc=example,dc=test is not "
            "user@host: 'not-an-address'");
}

TEST_F(LdapDirectoryTest, ConcurrentLookupsAreAnsweredEachOnce) {
  create(config());
  ASSERT_EQ(toInternal("jerry@acme.com").answer.status, Status::Found);
  std::vector<std::future<Outcome>> outcomes;
  for (int i = 0; i < 20; ++i) {
    outcomes.push_back(std::async(std::launch::async, [this, i] {
      return toInternal(i % 2 == 0 ? "jerry@acme.com" : "george@acme.com");
    }));
  }
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(outcomes[static_cast<std::size_t>(i)].get().answer.status,
              i % 2 == 0 ? Status::Found : Status::NotFound);
  }
  EXPECT_EQ(stats().lookups, 21u);
  EXPECT_EQ(stats().pending, 0u);
}

// ---- binds ----------------------------------------------------------------------------------

TEST_F(LdapDirectoryTest, AnonymousBind) {
  config::LdapDirectoryConfig c = config();
  c.bind_dn.clear();
  c.password_file.clear();
  create(c);
  EXPECT_EQ(toInternal("jerry@acme.com").answer.status, Status::Found);
}

TEST_F(LdapDirectoryTest, WrongPasswordIsUnavailableNamingTheBindError) {
  config::LdapDirectoryConfig c = config();
  c.password_file = shared_->writeFile("wrong.password", "not-the-password\n");
  c.reconnect_interval = milliseconds(60000);
  create(c);
  // Waits for the bind, or is answered at once if the bind has failed already.
  const Outcome first = toInternal("jerry@acme.com");
  EXPECT_EQ(first.answer.status, Status::Unavailable);
  EXPECT_EQ(first.answer.detail, "bind failed: Invalid credentials (49)");
  // Known down now: the next lookup is answered at once, with the same reason.
  const Outcome second = toInternal("jerry@acme.com");
  EXPECT_TRUE(second.at_once);
  EXPECT_EQ(second.answer.status, Status::Unavailable);
  EXPECT_EQ(second.answer.detail, "bind failed: Invalid credentials (49)");
  const DirectoryStats s = stats();
  EXPECT_FALSE(s.backend_up);
  EXPECT_EQ(s.unavailable, 2u);
  EXPECT_EQ(s.lookups, 2u);
}

// ---- TLS ------------------------------------------------------------------------------------

TEST_F(LdapDirectoryTest, LdapsLookup) {
  config::LdapDirectoryConfig c = config();
  c.uri = shared_->ldapsUri();
  c.ca = shared_->ca();
  create(c);
  EXPECT_EQ(toInternal("jerry@acme.com").answer,
            found("js@nyc.acme.com", {Target{"sip:js@nyc.acme.com", 1.0}}));
}

TEST_F(LdapDirectoryTest, StartTlsLookup) {
  config::LdapDirectoryConfig c = config();
  c.starttls = true;
  c.ca = shared_->ca();
  create(c);
  EXPECT_EQ(lookup(Direction::ToExternal, Aor{"eb", "nyc.acme.com"}).answer.identity,
            (Aor{"elaine", "acme.com"}));
  EXPECT_TRUE(stats().backend_up);
}

TEST_F(LdapDirectoryTest, AServerCertificateFromAnotherCaIsRefused) {
  for (const bool starttls : {false, true}) {
    config::LdapDirectoryConfig c = config();
    c.uri = starttls ? shared_->ldapUri() : shared_->ldapsUri();
    c.starttls = starttls;
    c.ca = certs().other_ca;
    c.reconnect_interval = milliseconds(60000);
    create(c);
    const Outcome o = toInternal("jerry@acme.com");
    EXPECT_EQ(o.answer.status, Status::Unavailable) << starttls;
    EXPECT_NE(o.answer.detail.find(starttls ? "StartTLS with ldap://127.0.0.1:" : "cannot connect"),
              std::string::npos)
        << o.answer.detail;
    EXPECT_FALSE(stats().backend_up);
  }
}

// ---- failures of the server -----------------------------------------------------------------

TEST_F(LdapDirectoryTest, ServerStoppedIsUnavailableAtOnceUntilItIsBack) {
  Slapd own(SIPEDGE_LDAP_DATA_DIR "/sipedge.schema", SIPEDGE_LDAP_DATA_DIR "/directory.ldif");
  ASSERT_TRUE(own.ok()) << own.error();
  create(configFor(own));
  ASSERT_EQ(toInternal("jerry@acme.com").answer.status, Status::Found);

  own.stop();
  // slapd closes its connections as it stops: the directory notices without a lookup.
  ASSERT_TRUE(waitForStats([](const DirectoryStats& s) { return !s.backend_up; }));
  const Outcome down = toInternal("jerry@acme.com");
  EXPECT_TRUE(down.at_once);
  EXPECT_EQ(down.answer.status, Status::Unavailable);
  EXPECT_FALSE(down.answer.detail.empty());
  // It keeps trying (every 100 ms here) and stays down meanwhile.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(toInternal("elaine@acme.com").at_once);

  ASSERT_TRUE(own.start()) << own.error();
  ASSERT_TRUE(waitForStats([](const DirectoryStats& s) { return s.backend_up; }));
  const Outcome back = toInternal("jerry@acme.com");
  EXPECT_FALSE(back.at_once);
  EXPECT_EQ(back.answer, found("js@nyc.acme.com", {Target{"sip:js@nyc.acme.com", 1.0}}));
  EXPECT_GE(stats().unavailable, 2u);
}

TEST_F(LdapDirectoryTest, AStoppedProcessTimesOutThenAnswersAgain) {
  Slapd own(SIPEDGE_LDAP_DATA_DIR "/sipedge.schema", SIPEDGE_LDAP_DATA_DIR "/directory.ldif");
  ASSERT_TRUE(own.ok()) << own.error();
  config::LdapDirectoryConfig c = configFor(own);
  c.timeout = milliseconds(1000);  // short, with room for a loaded machine
  create(c);
  ASSERT_EQ(toInternal("jerry@acme.com").answer.status, Status::Found);

  own.pause();
  const Outcome late = toInternal("elaine@acme.com");
  EXPECT_FALSE(late.at_once);
  EXPECT_EQ(late.answer.status, Status::Unavailable);
  EXPECT_EQ(late.answer.detail, "search timed out after 1000 ms");
  EXPECT_EQ(stats().pending, 0u);

  own.resume();
  const Outcome later = toInternal("jerry@acme.com");
  EXPECT_EQ(later.answer.status, Status::Found) << later.answer.detail;
  EXPECT_TRUE(stats().backend_up);
}

TEST_F(LdapDirectoryTest, DestroyingDropsPendingCallbacks) {
  Slapd own(SIPEDGE_LDAP_DATA_DIR "/sipedge.schema", SIPEDGE_LDAP_DATA_DIR "/directory.ldif");
  ASSERT_TRUE(own.ok()) << own.error();
  create(configFor(own));
  ASSERT_EQ(toInternal("jerry@acme.com").answer.status, Status::Found);
  own.pause();
  auto called = std::make_shared<std::atomic<int>>(0);
  loop_.run([&] {
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(dir_->lookup(Direction::ToInternal, Aor{"jerry", "acme.com"},
                             [called](const Answer&) { ++*called; }),
                std::nullopt);
    }
    EXPECT_EQ(dir_->stats().pending, 3u);
  });
  destroy();
  own.resume();
  loop_.run([] {});  // anything the loop had queued has run
  std::this_thread::sleep_for(milliseconds(100));
  loop_.run([] {});
  EXPECT_EQ(called->load(), 0);
}

TEST_F(LdapDirectoryTest, DestroyingDuringABlockedTlsHandshakeReturnsPromptly) {
  Slapd own(SIPEDGE_LDAP_DATA_DIR "/sipedge.schema", SIPEDGE_LDAP_DATA_DIR "/directory.ldif");
  ASSERT_TRUE(own.ok()) << own.error();
  own.pause();  // connects, but the handshake gets no answer
  config::LdapDirectoryConfig c = configFor(own);
  c.uri = own.ldapsUri();
  c.ca = own.ca();
  c.timeout = milliseconds(20000);
  create(c);
  auto called = std::make_shared<std::atomic<int>>(0);
  loop_.run([&] {
    EXPECT_EQ(dir_->lookup(Direction::ToInternal, Aor{"jerry", "acme.com"},
                           [called](const Answer&) { ++*called; }),
              std::nullopt);
  });
  std::this_thread::sleep_for(milliseconds(200));  // let the helper thread block in the handshake
  const auto before = std::chrono::steady_clock::now();
  destroy();
  // Far less than the 20 s network timeout: the socket was shut down under the handshake.
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
  loop_.run([] {});
  EXPECT_EQ(called->load(), 0);
}

TEST_F(LdapDirectoryTest, LookupsWaitingForTheFirstConnectionTimeOut) {
  Slapd own(SIPEDGE_LDAP_DATA_DIR "/sipedge.schema", SIPEDGE_LDAP_DATA_DIR "/directory.ldif");
  ASSERT_TRUE(own.ok()) << own.error();
  own.pause();
  config::LdapDirectoryConfig c = configFor(own);
  c.timeout = milliseconds(1000);  // short, with room for a loaded machine
  create(c);
  const Outcome o = toInternal("jerry@acme.com");
  EXPECT_FALSE(o.at_once);
  EXPECT_EQ(o.answer.status, Status::Unavailable);
  // Plain ldap:// connects at once (the kernel accepts); the bind is what gets no answer. Either
  // the lookup's own deadline or the bind's comes first.
  EXPECT_TRUE(o.answer.detail == "no connection within 1000 ms" ||
              o.answer.detail == "bind timed out after 1000 ms")
      << o.answer.detail;
  own.resume();
  ASSERT_TRUE(waitForStats([](const DirectoryStats& s) { return s.backend_up; }));
  const Outcome later = toInternal("jerry@acme.com");
  EXPECT_EQ(later.answer.status, Status::Found) << later.answer.detail;
}

// ---- create() -------------------------------------------------------------------------------

TEST_F(LdapDirectoryTest, CreateRejectsBadConfigWithClearErrors) {
  const auto error = [&](const config::LdapDirectoryConfig& c) -> std::string {
    auto made = loop_.run([&] { return LdapDirectory::create(c, loop_.worker()); });
    if (made.has_value()) {
      loop_.run([&] { made->reset(); });
      return "(created)";
    }
    return made.error();
  };
  const config::LdapDirectoryConfig good = config();
  config::LdapDirectoryConfig c = good;

  c.uri = "";
  EXPECT_EQ(error(c), "directory.ldap.uri: required");
  c.uri = "http://127.0.0.1/";
  EXPECT_EQ(error(c), "directory.ldap.uri: 'http://127.0.0.1/' is not an LDAP URL");
  c.uri = "ldapi:///var/run/slapd.sock";
  EXPECT_EQ(error(c),
            "directory.ldap.uri: 'ldapi:///var/run/slapd.sock': the scheme must be ldap "
            "or ldaps");
  c.uri = "ldap:///";
  EXPECT_EQ(error(c), "directory.ldap.uri: 'ldap:///' names no host");
  c = good;
  c.uri = shared_->ldapsUri();
  c.starttls = true;
  EXPECT_EQ(error(c), "directory.ldap.starttls: only for ldap:// (ldaps:// is TLS from the start)");
  c = good;
  c.ca = "/nonexistent/ca.pem";
  EXPECT_EQ(error(c), "directory.ldap.ca: cannot read '/nonexistent/ca.pem'");
  c = good;
  c.base = "";
  EXPECT_EQ(error(c), "directory.ldap.base: required");
  c.base = "not a dn";
  EXPECT_EQ(error(c), "directory.ldap.base: 'not a dn' is not a DN");
  c = good;
  c.external_filter = "(sipExternalAddress=jerry@acme.com)";
  EXPECT_EQ(error(c),
            "directory.ldap.external_filter: '(sipExternalAddress=jerry@acme.com)' names "
            "none of {aor}, {user}, {domain}: every lookup would find the same entries");
  c = good;
  c.internal_filter = "(sipInternalAddress={AOR})";
  EXPECT_EQ(error(c),
            "directory.ldap.internal_filter: '(sipInternalAddress={AOR})' unknown "
            "placeholder '{AOR}' (use {aor}, {user} or {domain})");
  c.internal_filter = "sipInternalAddress={aor}";
  EXPECT_EQ(error(c),
            "directory.ldap.internal_filter: 'sipInternalAddress={aor}' must be an LDAP "
            "filter in parentheses");
  c = good;
  c.internal_attribute = "";
  EXPECT_EQ(error(c), "directory.ldap.internal_attribute: required");
  c = good;
  c.timeout = milliseconds(0);
  EXPECT_EQ(error(c), "directory.ldap.timeout: must be positive");
  c = good;
  c.reconnect_interval = milliseconds(0);
  EXPECT_EQ(error(c), "directory.ldap.reconnect_interval: must be positive");
  c = good;
  c.password_file = "";
  EXPECT_EQ(error(c), "directory.ldap.password_file: required with bind_dn");
  c.password_file = "/nonexistent/password";
  EXPECT_EQ(error(c), "directory.ldap.password_file: cannot read '/nonexistent/password'");
  c.password_file = shared_->writeFile("empty.password", "\nsecret\n");
  EXPECT_EQ(error(c),
            "directory.ldap.password_file: '" + c.password_file + "' starts with an empty line");
  c = good;
  c.bind_dn = "";
  EXPECT_EQ(error(c), "directory.ldap.password_file: given without bind_dn");
  c.bind_dn = "no equals sign";
  EXPECT_EQ(error(c), "directory.ldap.bind_dn: 'no equals sign' is not a DN");
  EXPECT_EQ(error(good), "(created)");
}

}  // namespace
}  // namespace sipedge::identity
