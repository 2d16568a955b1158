#pragma once

// A real dnsmasq on loopback for tests (STYLE S31, S33): the records go into a config file in a
// fresh temporary directory; dnsmasq runs in the foreground as the current user, on a free port
// of 127.0.0.1, logging every query to a file in that directory; the destructor stops it by PID
// and removes the directory. Never a system service, never another address than 127.0.0.1.
//
//   Dnsmasq dns(DnsmasqConfig()
//                   .srv("_sip._tcp.example.test", "edge.example.test", 5060, 10, 50)
//                   .host("edge.example.test", {"127.0.0.1", "::1"}));
//   ASSERT_TRUE(dns.ok()) << dns.error();
//   ... point the resolver at dns.server() ...
//   EXPECT_EQ(dns.queries("SRV", "_sip._tcp.example.test"), 1);
//
// Names under the local domains (default: "test") are answered from the records only: a name
// without records is NXDOMAIN, a name with records of another type is NODATA. Anything else is
// REFUSED (there are no upstream servers).

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace sipedge::testing {

class DnsmasqConfig {
 public:
  // --naptr-record: the replacement is the SRV name to use; regexp is usually empty.
  DnsmasqConfig& naptr(const std::string& name, int order, int preference, const std::string& flags,
                       const std::string& service, const std::string& replacement,
                       const std::string& regexp = "") {
    return line("naptr-record=" + name + "," + std::to_string(order) + "," +
                std::to_string(preference) + "," + flags + "," + service + "," + regexp + "," +
                replacement);
  }
  // --srv-host. A target of "." says the service is not offered.
  DnsmasqConfig& srv(const std::string& name, const std::string& target, int port, int priority,
                     int weight) {
    return line("srv-host=" + name + "," + target + "," + std::to_string(port) + "," +
                std::to_string(priority) + "," + std::to_string(weight));
  }
  // --host-record: A and/or AAAA records, with their own TTL if given (else the local TTL).
  DnsmasqConfig& host(const std::string& name, const std::vector<std::string>& addresses,
                      std::optional<int> ttl = std::nullopt) {
    std::string l = "host-record=" + name;
    for (const std::string& a : addresses) {
      l += "," + a;
    }
    if (ttl) {
      l += "," + std::to_string(*ttl);
    }
    return line(l);
  }
  // TTL of the records without their own (NAPTR, SRV, host records without a TTL).
  DnsmasqConfig& localTtl(int seconds) {
    local_ttl_ = seconds;
    return *this;
  }
  DnsmasqConfig& localDomain(const std::string& domain) {
    local_domains_.push_back(domain);
    return *this;
  }
  // Any other dnsmasq option, as a config file line.
  DnsmasqConfig& line(std::string text) {
    lines_.push_back(std::move(text));
    return *this;
  }

  std::string render(const std::string& dir, std::uint16_t port) const {
    std::ostringstream out;
    out << "no-resolv\nno-hosts\nno-poll\nbind-interfaces\nlisten-address=127.0.0.1\n"
        << "port=" << port << "\n"
        << "pid-file=\n"
        << "log-queries\n"
        << "log-facility=" << dir << "/dnsmasq.log\n"
        << "local-ttl=" << local_ttl_ << "\n";
    if (const passwd* pw = getpwuid(geteuid())) {
      out << "user=" << pw->pw_name << "\n";  // stay the current user (dnsmasq drops to nobody)
    }
    if (const group* gr = getgrgid(getegid())) {
      out << "group=" << gr->gr_name << "\n";
    }
    for (const std::string& d : local_domains_) {
      out << "local=/" << d << "/\n";
    }
    for (const std::string& l : lines_) {
      out << l << "\n";
    }
    return out.str();
  }

 private:
  int local_ttl_ = 300;
  std::vector<std::string> local_domains_{"test"};
  std::vector<std::string> lines_;
};

class Dnsmasq {
 public:
  static constexpr const char* kBinary = "/usr/sbin/dnsmasq";

  explicit Dnsmasq(const DnsmasqConfig& config) {
    char tmpl[] = "/tmp/sipedge-dnsmasq-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    // A port that was free a moment ago may be taken by the time dnsmasq binds it: try again.
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      error_.clear();
      start(config);
    }
  }

  ~Dnsmasq() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  bool ok() const { return pid_ > 0 && error_.empty(); }
  const std::string& error() const { return error_; }
  std::uint16_t port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }

  // The whole query log so far.
  std::string log() const { return readFile(dir_ + "/dnsmasq.log"); }

  // How many queries of `type` ("A", "AAAA", "SRV", "NAPTR") for `name` dnsmasq has received.
  // dnsmasq logs a query when it arrives, before answering, so every query whose answer the
  // caller has seen is counted.
  int queries(std::string_view type, std::string_view name) const {
    const std::string needle = "query[" + lower(type) + "] " + lower(name) + " from ";
    return countLines([&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }
  // Queries of any type for `name`.
  int queries(std::string_view name) const {
    const std::string needle = "] " + lower(name) + " from ";
    return countLines([&](const std::string& l) {
      return l.find(" query[") != std::string::npos && l.find(needle) != std::string::npos;
    });
  }
  // Queries of any type for any name (the fixture's own readiness probes excluded).
  int totalQueries() const {
    return countLines([](const std::string& l) {
      return l.find(" query[") != std::string::npos && l.find(kReadyName) == std::string::npos;
    });
  }

  // SIGTERM, then waitpid; SIGKILL if it has not exited within 5 s. Idempotent.
  void stop() {
    if (pid_ <= 0) {
      return;
    }
    kill(pid_, SIGTERM);
    if (!waitFor(std::chrono::seconds(5))) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

 private:
  static constexpr const char* kReadyName = "fixture-ready.sipedge-dnsmasq.invalid";

  static std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
      return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return out;
  }

  static std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  template <class Pred>
  int countLines(Pred pred) const {
    std::istringstream in(lower(log()));
    int n = 0;
    for (std::string l; std::getline(in, l);) {
      n += pred(l) ? 1 : 0;
    }
    return n;
  }

  // A port free for both UDP and TCP on 127.0.0.1 (dnsmasq binds both).
  static std::uint16_t freePort() {
    for (int attempt = 0; attempt < 20; ++attempt) {
      int udp = socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof addr;
      if (udp < 0 || bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
          getsockname(udp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        if (udp >= 0) {
          close(udp);
        }
        continue;
      }
      int tcp = socket(AF_INET, SOCK_STREAM, 0);
      const bool tcp_free =
          tcp >= 0 && bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      if (tcp >= 0) {
        close(tcp);
      }
      close(udp);
      if (tcp_free) {
        return ntohs(addr.sin_port);
      }
    }
    return 0;
  }

  void start(const DnsmasqConfig& config) {
    port_ = freePort();
    if (port_ == 0) {
      error_ = "no free loopback port";
      return;
    }
    const std::string conf = dir_ + "/dnsmasq.conf";
    {
      std::ofstream out(conf, std::ios::trunc);
      out << config.render(dir_, port_);
      if (!out) {
        error_ = "cannot write " + conf;
        return;
      }
    }
    const std::string output = dir_ + "/dnsmasq.out";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::string arg_keep = "--keep-in-foreground";
    std::string arg_conf = "--conf-file=" + conf;
    char* argv[] = {const_cast<char*>(kBinary), arg_keep.data(), arg_conf.data(), nullptr};
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, kBinary, &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      error_ = std::string("cannot start ") + kBinary;
      return;
    }
    pid_ = pid;
    if (!waitUntilAnswering()) {
      if (error_.empty()) {
        error_ = "dnsmasq did not answer on " + server();
      }
      error_ += ": " + readFile(output);
      stop();
    }
  }

  // True once dnsmasq answers a query on its port; false if it exits first or after 10 s.
  bool waitUntilAnswering() {
    const std::vector<std::uint8_t> query = readyQuery();
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
      error_ = "socket failed";
      return false;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port_);
    bool answered = false;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!answered && std::chrono::steady_clock::now() < give_up) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error_ = "dnsmasq exited";
        break;
      }
      sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) == 1) {
        std::uint8_t buf[512];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        answered = n >= 2 && buf[0] == query[0] && buf[1] == query[1];
      }
    }
    close(fd);
    return answered;
  }

  static std::vector<std::uint8_t> readyQuery() {
    std::vector<std::uint8_t> q = {0x5e, 0xd6, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    std::string_view name = kReadyName;
    while (!name.empty()) {
      const auto dot = name.find('.');
      const std::string_view label = name.substr(0, dot);
      q.push_back(static_cast<std::uint8_t>(label.size()));
      q.insert(q.end(), label.begin(), label.end());
      name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    }
    q.insert(q.end(), {0, 0, 1, 0, 1});  // root label, type A, class IN
    return q;
  }

  bool waitFor(std::chrono::milliseconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < give_up) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || r < 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  std::string dir_;
  std::string error_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sipedge::testing
