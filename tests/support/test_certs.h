#pragma once

// Test certificates minted with the openssl CLI into a fresh directory under /tmp, which the
// destructor removes again (STYLE S33: hermetic, nothing lands in the source tree). Keys are EC
// P-256, so minting the whole set takes a fraction of a second.
//
//   const TestCerts& certs = TestCerts::shared();  // minted once per test process
//   ASSERT_TRUE(certs.ok()) << certs.error();
//   settings.certificate_file = certs.server_dns.cert;
//   settings.key_file = certs.server_dns.key;
//   settings.ca_file = certs.ca;
//
// Every leaf is issued by `ca` unless its comment says otherwise, is valid for 825 days from
// now, and allows both server and client authentication (a partner's edge uses one certificate
// for both directions).

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>

namespace sipedge::testing {

struct CertFiles {
  std::string cert;  // PEM certificate (and chain, where noted)
  std::string key;   // PEM private key, unencrypted
};

class TestCerts {
 public:
  // Unix times of the dated certificates.
  static constexpr std::int64_t kExpiredNotBefore = 1577836800;  // 2020-01-01T00:00:00Z
  static constexpr std::int64_t kExpiredNotAfter = 1609459200;   // 2021-01-01T00:00:00Z
  static constexpr std::int64_t kFutureNotBefore = 4070908800;   // 2099-01-01T00:00:00Z
  static constexpr std::int64_t kFutureNotAfter = 4102444800;    // 2100-01-01T00:00:00Z

  std::string ca;             // self-signed "CN=sipedge test CA,O=sipedge test"
  std::string ca_key;         // its key
  std::string other_ca;       // an unrelated self-signed CA, "CN=other test CA,O=elsewhere"
  CertFiles server_dns;       // CN=edge.partner.example,O=Partner;
                              // DNS:partner.example, DNS:Edge.Partner.Example
  CertFiles server_uri;       // URI:sip:partner.example, DNS:edge.partner.example
  CertFiles server_uri_user;  // URI:sip:alice@partner.example only; CN=partner.example
  CertFiles server_sips_uri;  // URI:sips:partner.example, DNS:sips.partner.example
  CertFiles server_cn;        // CN=partner.example, no subjectAltName extension
  CertFiles server_wildcard;  // DNS:*.partner.example; CN=*.partner.example
  CertFiles server_alt;       // DNS:alt.example (a second served domain, for SNI)
  CertFiles server_chain;     // DNS:chain.partner.example, issued by an intermediate CA
                              // under `ca`; the .pem holds the leaf, then the intermediate
  CertFiles server_expired;   // DNS:expired.partner.example; kExpiredNotBefore..NotAfter
  CertFiles server_future;    // DNS:future.partner.example; kFutureNotBefore..NotAfter
  CertFiles server_other_ca;  // DNS:partner.example, issued by `other_ca`
  CertFiles client;           // CN=client.partner.example, DNS:client.partner.example;
                              // client authentication only
  std::string stray_key;      // a P-256 key that matches no certificate
  std::string encrypted_key;  // server_dns's key, AES-256 encrypted (pass phrase "secret")

  TestCerts() {
    std::array<char, 32> dir_template{};
    const std::string_view pattern = "/tmp/sipedge-certs-XXXXXX";
    std::copy(pattern.begin(), pattern.end(), dir_template.begin());
    if (mkdtemp(dir_template.data()) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = dir_template.data();
    mint();
  }
  ~TestCerts() {
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }
  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;

  // One set per test process, minted on first use and removed at exit.
  static const TestCerts& shared() {
    static const TestCerts certs;
    return certs;
  }

  bool ok() const { return error_.empty(); }
  // The first command that failed, with its standard error.
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }
  // A file in the directory, e.g. path("server-dns.pem"); also names files that do not exist.
  std::string path(std::string_view file) const { return dir_ + "/" + std::string(file); }

  // Runs `openssl <args>` and returns its standard output ("" when it fails), for tests that
  // compare with what the CLI reports.
  std::string openssl(const std::string& args) const {
    const std::string cmd = "openssl " + args + " 2>/dev/null";
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
      return {};
    }
    std::string out;
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
      out.append(buf.data(), n);
    }
    const int status = pclose(pipe);
    return status == 0 ? out : std::string();
  }

 private:
  static constexpr std::string_view kNewKey = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc";
  static constexpr std::string_view kLeafExtensions =
      " -addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature";

  // Runs a shell command in dir_; records the first failure.
  bool run(const std::string& cmd) {
    if (!error_.empty()) {
      return false;
    }
    const std::string full = "cd '" + dir_ + "' && (" + cmd + ") >/dev/null 2>stderr.txt";
    const int status = std::system(full.c_str());
    if (status != 0) {
      std::ifstream err(path("stderr.txt"));
      const std::string text((std::istreambuf_iterator<char>(err)),
                             std::istreambuf_iterator<char>());
      error_ = "failed (status " + std::to_string(status) + "): " + cmd + "\n" + text;
      return false;
    }
    return true;
  }

  bool write(const std::string& file, const std::string& text) {
    std::ofstream out(path(file));
    out << text;
    out.close();
    if (!out) {
      error_ = "cannot write " + path(file);
      return false;
    }
    return true;
  }

  std::string req() const { return "openssl req -config openssl.cnf"; }

  bool selfSignedCa(const std::string& name, const std::string& subject) {
    return run(req() + " -x509 -new" + std::string(kNewKey) + " -keyout " + name + ".key -out " +
               name + ".pem -days 3650 -subj '" + subject +
               "' -set_serial 1 -addext basicConstraints=critical,CA:TRUE"
               " -addext keyUsage=critical,keyCertSign,cRLSign");
  }

  // A certificate issued by `issuer` (the base name of its .pem and .key) for a new key.
  bool issue(const std::string& name, const std::string& issuer, const std::string& subject,
             const std::string& san, const std::string& serial, const std::string& extra) {
    std::string cmd = req() + " -x509 -new" + std::string(kNewKey) + " -keyout " + name +
                      ".key -out " + name + ".pem -days 825 -subj '" + subject + "' -CA " + issuer +
                      ".pem -CAkey " + issuer + ".key -set_serial " + serial + extra;
    if (!san.empty()) {
      cmd += " -addext 'subjectAltName=" + san + "'";
    }
    return run(cmd);
  }

  bool leaf(CertFiles& files, const std::string& name, const std::string& subject,
            const std::string& san, const std::string& serial, const std::string& issuer = "ca") {
    files = CertFiles{path(name + ".pem"), path(name + ".key")};
    return issue(name, issuer, subject, san, serial,
                 std::string(kLeafExtensions) + " -addext extendedKeyUsage=serverAuth,clientAuth");
  }

  // A certificate with explicit dates, through `openssl ca` (req and x509 in OpenSSL 3.0 can only
  // count days from now).
  bool dated(CertFiles& files, const std::string& name, const std::string& cn,
             const std::string& extensions, const std::string& start, const std::string& end) {
    files = CertFiles{path(name + ".pem"), path(name + ".key")};
    return run(req() + " -new" + std::string(kNewKey) + " -keyout " + name + ".key -out " + name +
               ".csr -subj '/CN=" + cn + "'") &&
           run("openssl ca -batch -config ca.cnf -extensions " + extensions + " -startdate " +
               start + " -enddate " + end + " -in " + name + ".csr -out " + name + ".pem -notext");
  }

  void mint() {
    // Our own configuration, so that the system's openssl.cnf adds nothing.
    write("openssl.cnf",
          "[req]\n"
          "distinguished_name = dn\n"
          "x509_extensions = v3\n"
          "[dn]\n"
          "[v3]\n"
          "subjectKeyIdentifier = hash\n"
          "authorityKeyIdentifier = keyid:always\n");
    write("ca.cnf",
          "[ca]\n"
          "default_ca = test_ca\n"
          "[test_ca]\n"
          "database = index.txt\n"
          "new_certs_dir = issued\n"
          "certificate = ca.pem\n"
          "private_key = ca.key\n"
          "serial = serial.txt\n"
          "default_md = sha256\n"
          "policy = any\n"
          "unique_subject = no\n"
          "[any]\n"
          "commonName = supplied\n"
          "[expired_ext]\n"
          "basicConstraints = critical,CA:FALSE\n"
          "keyUsage = critical,digitalSignature\n"
          "extendedKeyUsage = serverAuth,clientAuth\n"
          "subjectAltName = DNS:expired.partner.example\n"
          "[future_ext]\n"
          "basicConstraints = critical,CA:FALSE\n"
          "keyUsage = critical,digitalSignature\n"
          "extendedKeyUsage = serverAuth,clientAuth\n"
          "subjectAltName = DNS:future.partner.example\n");
    write("index.txt", "");
    write("serial.txt", "5EED0100\n");
    run("mkdir issued");

    ca = path("ca.pem");
    ca_key = path("ca.key");
    other_ca = path("other-ca.pem");
    selfSignedCa("ca", "/O=sipedge test/CN=sipedge test CA");
    selfSignedCa("other-ca", "/O=elsewhere/CN=other test CA");

    leaf(server_dns, "server-dns", "/O=Partner/CN=edge.partner.example",
         "DNS:partner.example,DNS:Edge.Partner.Example", "0x5EED0001");
    leaf(server_uri, "server-uri", "/O=Partner/CN=edge.partner.example",
         "URI:sip:partner.example,DNS:edge.partner.example", "0x5EED0002");
    leaf(server_uri_user, "server-uri-user", "/CN=partner.example", "URI:sip:alice@partner.example",
         "0x5EED0003");
    leaf(server_sips_uri, "server-sips-uri", "/CN=sips.partner.example",
         "URI:sips:partner.example,DNS:sips.partner.example", "0x5EED0004");
    leaf(server_cn, "server-cn", "/CN=partner.example", "", "0x5EED0005");
    leaf(server_wildcard, "server-wildcard", "/CN=*.partner.example", "DNS:*.partner.example",
         "0x5EED0006");
    leaf(server_alt, "server-alt", "/CN=alt.example", "DNS:alt.example", "0x5EED0007");
    leaf(server_other_ca, "server-other-ca", "/O=Partner/CN=partner.example", "DNS:partner.example",
         "0x5EED0008", "other-ca");

    // A leaf under an intermediate; the served file carries the chain.
    issue("intermediate", "ca", "/O=sipedge test/CN=sipedge test intermediate", "", "0x5EED0010",
          " -addext basicConstraints=critical,CA:TRUE,pathlen:0"
          " -addext keyUsage=critical,keyCertSign,cRLSign");
    CertFiles chain_leaf;
    leaf(chain_leaf, "server-chain-leaf", "/CN=chain.partner.example", "DNS:chain.partner.example",
         "0x5EED0011", "intermediate");
    run("cat server-chain-leaf.pem intermediate.pem > server-chain.pem");
    server_chain = CertFiles{path("server-chain.pem"), chain_leaf.key};

    client = CertFiles{path("client.pem"), path("client.key")};
    issue("client", "ca", "/O=Partner/CN=client.partner.example", "DNS:client.partner.example",
          "0x5EED0020", std::string(kLeafExtensions) + " -addext extendedKeyUsage=clientAuth");

    dated(server_expired, "server-expired", "expired.partner.example", "expired_ext",
          "20200101000000Z", "20210101000000Z");
    dated(server_future, "server-future", "future.partner.example", "future_ext", "20990101000000Z",
          "21000101000000Z");

    stray_key = path("stray.key");
    run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out stray.key");
    encrypted_key = path("encrypted.key");
    run("openssl pkey -in server-dns.key -aes256 -passout pass:secret -out encrypted.key");
  }

  std::string dir_;
  std::string error_;
};

}  // namespace sipedge::testing
