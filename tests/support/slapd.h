#pragma once

// A real OpenLDAP slapd on loopback for tests (STYLE S31, S33): a slapd.conf-style configuration,
// an mdb database loaded with slapadd from an LDIF file, and a server certificate for 127.0.0.1
// issued by TestCerts' CA, all in a fresh temporary directory. slapd runs in the foreground
// (-d 0) as the current user, on two free ports of 127.0.0.1 (ldap:// and ldaps://; StartTLS on
// the first). stop()/start() restart it on the same ports, pause()/resume() send SIGSTOP/SIGCONT;
// the destructor stops it by PID and removes the directory. Never the system service, never
// ports 389/636, never another address than 127.0.0.1.
//
//   Slapd ldap(SIPEDGE_LDAP_DATA_DIR "/sipedge.schema", SIPEDGE_LDAP_DATA_DIR "/directory.ldif");
//   ASSERT_TRUE(ldap.ok()) << ldap.error();
//   config.uri = ldap.ldapUri();  // or ldap.ldapsUri(), with config.ca = ldap.ca()

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_certs.h"

extern char** environ;

namespace sipedge::testing {

class Slapd {
 public:
  static constexpr const char* kSlapd = "/usr/sbin/slapd";
  static constexpr const char* kSlapadd = "/usr/sbin/slapadd";
  static constexpr const char* kSuffix = "dc=example,dc=test";
  static constexpr const char* kRootDn = "cn=admin,dc=example,dc=test";
  static constexpr const char* kRootPassword = "admin-secret";

  // `schema`: an extra schema file (core.schema is always loaded); `ldif`: the entries.
  Slapd(const std::string& schema, const std::string& ldif) {
    char tmpl[] = "/tmp/sipedge-slapd-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    const TestCerts& certs = TestCerts::shared();
    if (!certs.ok()) {
      error_ = "test certificates: " + certs.error();
      return;
    }
    ca_ = certs.ca;
    // A server certificate for the address the tests connect to (libldap checks it).
    if (!run("openssl req -config '" + certs.path("openssl.cnf") +
             "' -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc"
             " -keyout server.key -out server.pem -days 30 -subj /CN=127.0.0.1"
             " -CA '" +
             certs.ca + "' -CAkey '" + certs.ca_key +
             "' -set_serial 0x5EED0400"
             " -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
             " -addext basicConstraints=critical,CA:FALSE"
             " -addext keyUsage=critical,digitalSignature"
             " -addext extendedKeyUsage=serverAuth")) {
      return;
    }
    std::filesystem::create_directory(dir_ + "/db");
    write("slapd.conf", config(schema));
    if (!run(std::string(kSlapadd) + " -f slapd.conf -l '" + ldif + "'")) {
      return;
    }
    // A port free a moment ago may be taken by the time slapd binds it: try again.
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      error_.clear();
      ldap_port_ = freePort();
      ldaps_port_ = freePort();
      if (ldap_port_ == 0 || ldaps_port_ == 0 || ldap_port_ == ldaps_port_) {
        error_ = "no free loopback ports";
        continue;
      }
      start();
    }
  }

  ~Slapd() {
    resume();
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  Slapd(const Slapd&) = delete;
  Slapd& operator=(const Slapd&) = delete;

  bool ok() const { return pid_ > 0 && error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }
  std::string ldapUri() const { return "ldap://127.0.0.1:" + std::to_string(ldap_port_); }
  std::string ldapsUri() const { return "ldaps://127.0.0.1:" + std::to_string(ldaps_port_); }
  // The CA that issued the server certificate.
  const std::string& ca() const { return ca_; }
  // slapd's own output (debug level 0: errors only).
  std::string log() const { return readFile(dir_ + "/slapd.out"); }

  // Writes `text` to a file in the directory and returns its path (for password files).
  std::string writeFile(const std::string& name, const std::string& text) {
    write(name, text);
    return dir_ + "/" + name;
  }

  // Starts slapd on the ports it had (or was given), and waits until it accepts connections.
  bool start() {
    if (pid_ > 0) {
      return true;
    }
    const std::string output = dir_ + "/slapd.out";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::string conf = dir_ + "/slapd.conf";
    std::string urls = ldapUri() + "/ " + ldapsUri() + "/";
    std::vector<std::string> args = {kSlapd, "-d", "0", "-f", conf, "-h", urls};
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, kSlapd, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      error_ = std::string("cannot start ") + kSlapd;
      return false;
    }
    pid_ = pid;
    if (!waitUntilAccepting()) {
      if (error_.empty()) {
        error_ = "slapd did not accept on " + ldapUri();
      }
      error_ += ": " + log();
      stop();
      return false;
    }
    return true;
  }

  // SIGTERM, then waitpid; SIGKILL if it has not exited within 10 s. Idempotent.
  void stop() {
    if (pid_ <= 0) {
      return;
    }
    kill(pid_, SIGTERM);
    if (!waitForExit(std::chrono::seconds(10))) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    paused_ = false;
  }

  // The process stops answering but keeps its sockets (the kernel still accepts connections).
  // pause() returns once slapd has stopped, resume() once it runs again.
  void pause() {
    if (pid_ > 0 && !paused_) {
      kill(pid_, SIGSTOP);
      // Returns once every thread has stopped: kill() only queues the signal.
      int status = 0;
      waitpid(pid_, &status, WUNTRACED);
      paused_ = true;
    }
  }
  void resume() {
    if (pid_ > 0 && paused_) {
      kill(pid_, SIGCONT);
      int status = 0;
      waitpid(pid_, &status, WCONTINUED);
      paused_ = false;
    }
  }

 private:
  std::string config(const std::string& schema) const {
    std::ostringstream out;
    out << "include /etc/ldap/schema/core.schema\n"
        << "include " << schema << "\n"
        << "pidfile " << dir_ << "/slapd.pid\n"
        << "argsfile " << dir_ << "/slapd.args\n"
        << "modulepath /usr/lib/ldap\n"
        << "moduleload back_mdb\n"
        << "TLSCACertificateFile " << ca_ << "\n"
        << "TLSCertificateFile " << dir_ << "/server.pem\n"
        << "TLSCertificateKeyFile " << dir_ << "/server.key\n"
        << "database mdb\n"
        << "maxsize 10485760\n"
        << "suffix \"" << kSuffix << "\"\n"
        << "rootdn \"" << kRootDn << "\"\n"
        << "rootpw " << kRootPassword << "\n"
        << "directory " << dir_ << "/db\n"
        << "index objectClass eq\n";
    return out.str();
  }

  static std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  void write(const std::string& name, const std::string& text) {
    std::ofstream out(dir_ + "/" + name, std::ios::trunc);
    out << text;
    if (!out) {
      error_ = "cannot write " + dir_ + "/" + name;
    }
  }

  // Runs a shell command in dir_; records the first failure with its output.
  bool run(const std::string& cmd) {
    if (!error_.empty()) {
      return false;
    }
    const std::string full = "cd '" + dir_ + "' && (" + cmd + ") >cmd.out 2>&1";
    const int status = std::system(full.c_str());
    if (status != 0) {
      error_ = "failed (status " + std::to_string(status) + "): " + cmd + "\n" +
               readFile(dir_ + "/cmd.out");
      return false;
    }
    return true;
  }

  static std::uint16_t freePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      return 0;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    std::uint16_t port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  // True once a TCP connection to the ldap:// port succeeds; false if slapd exits first or after
  // 10 s.
  bool waitUntilAccepting() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error_ = "slapd exited";
        return false;
      }
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      to.sin_port = htons(ldap_port_);
      const bool accepted = connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
      close(fd);
      if (accepted) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  bool waitForExit(std::chrono::milliseconds limit) {
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
  std::string ca_;
  std::uint16_t ldap_port_ = 0;
  std::uint16_t ldaps_port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

}  // namespace sipedge::testing
