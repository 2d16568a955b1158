// PeerIdentity: the RFC 5922 7.1 / 7.2 rules as tables over plain values, and identityOf()
// against what the openssl CLI reports for the same certificates.

#include "sipedge/transport/peer_identity.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../support/test_certs.h"

namespace sipedge::transport {
namespace {

using sipedge::testing::CertFiles;
using sipedge::testing::TestCerts;
using Strings = std::vector<std::string>;

struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

X509Ptr loadCertificate(const std::string& file) {
  FILE* f = std::fopen(file.c_str(), "r");
  if (f == nullptr) {
    return nullptr;
  }
  X509Ptr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  return cert;
}

const TestCerts& certs() {
  return TestCerts::shared();
}

PeerIdentity verifiedIdentity(const CertFiles& files) {
  X509Ptr cert = loadCertificate(files.cert);
  EXPECT_NE(cert, nullptr) << files.cert;
  return identityOf(cert.get(), X509_V_OK);
}

// ---- sipDomains() and covers() over plain values --------------------------------------------

struct DomainsCase {
  const char* name;
  Strings uris;
  Strings dns_names;
  std::string common_name;
  bool has_subject_alt_name;
  Strings expected;
};

TEST(PeerIdentitySipDomains, FollowsRfc5922Section71) {
  const std::vector<DomainsCase> cases = {
      {"dNSName entries, lower-cased",
       {},
       {"partner.example", "Edge.Partner.Example"},
       "",
       true,
       {"partner.example", "edge.partner.example"}},
      {"a sip URI hides the dNSNames",
       {"sip:partner.example"},
       {"edge.partner.example"},
       "",
       true,
       {"partner.example"}},
      {"port and parameters are not part of the identity",
       {"SIP:Partner.Example:5061;transport=tls"},
       {},
       "",
       true,
       {"partner.example"}},
      {"several sip URIs",
       {"sip:a.example", "sip:b.example"},
       {},
       "",
       true,
       {"a.example", "b.example"}},
      {"a sip URI with a user part is no domain identity",
       {"sip:alice@partner.example"},
       {},
       "partner.example",
       true,
       {}},
      {"... and then the dNSNames count",
       {"sip:alice@partner.example"},
       {"users.example"},
       "",
       true,
       {"users.example"}},
      {"user and password", {"sip:alice:pw@partner.example"}, {}, "", true, {}},
      {"sips is not sip",
       {"sips:partner.example"},
       {"sips.partner.example"},
       "",
       true,
       {"sips.partner.example"}},
      {"other schemes are ignored",
       {"https://partner.example/", "tel:+15551234"},
       {"d.example"},
       "",
       true,
       {"d.example"}},
      {"an unparseable URI is ignored",
       {"sip:", "sip:bad host"},
       {"d.example"},
       "",
       true,
       {"d.example"}},
      {"CN only without any subjectAltName", {}, {}, "Partner.Example", false, {"partner.example"}},
      {"no CN when a subjectAltName exists (of other types)", {}, {}, "partner.example", true, {}},
      {"no CN when dNSNames exist", {}, {"d.example"}, "partner.example", true, {"d.example"}},
      {"a CN that is not a DNS name", {}, {}, "Partner Inc.", false, {}},
      {"a wildcard CN is not a DNS name", {}, {}, "*.partner.example", false, {}},
      {"a CN with an empty label", {}, {}, "partner..example", false, {}},
      {"a CN label starting with a hyphen", {}, {}, "-partner.example", false, {}},
      {"a wildcard dNSName is kept as written",
       {},
       {"*.Partner.Example"},
       "",
       true,
       {"*.partner.example"}},
      {"duplicates removed", {"sip:a.example", "sip:A.EXAMPLE;lr"}, {}, "", true, {"a.example"}},
      {"nothing at all", {}, {}, "", false, {}},
  };
  for (const DomainsCase& c : cases) {
    PeerIdentity id;
    id.presented = true;
    id.verified = true;
    id.uris = c.uris;
    id.dns_names = c.dns_names;
    id.common_name = c.common_name;
    id.has_subject_alt_name = c.has_subject_alt_name;
    EXPECT_EQ(id.sipDomains(), c.expected) << c.name;
  }
}

TEST(PeerIdentityCovers, ComparesWholeNamesCaseInsensitively) {
  PeerIdentity id;
  id.presented = true;
  id.verified = true;
  id.has_subject_alt_name = true;
  id.dns_names = {"partner.example", "*.wild.example"};
  struct Case {
    const char* domain;
    bool covered;
  };
  const Case cases[] = {
      {"partner.example", true},
      {"PARTNER.Example", true},
      {"example", false},              // no suffix match
      {"sip.partner.example", false},  // nor prefix
      {"partner.example.", false},     // nor a differently written name
      {"a.wild.example", false},       // RFC 5922 7.2: wildcards are not expanded
      {"wild.example", false},
      {"*.wild.example", true},  // ... but match themselves
      {"", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(id.covers(c.domain), c.covered) << c.domain;
  }
}

TEST(PeerIdentityCovers, FalseUnlessVerified) {
  PeerIdentity id;
  id.presented = true;
  id.verified = false;
  id.verify_error = "unable to get local issuer certificate";
  id.has_subject_alt_name = true;
  id.dns_names = {"partner.example"};
  EXPECT_EQ(id.sipDomains(), Strings{"partner.example"});  // what it claims...
  EXPECT_FALSE(id.covers("partner.example"));              // ...proves nothing

  PeerIdentity none;  // no certificate at all
  EXPECT_TRUE(none.sipDomains().empty());
  EXPECT_FALSE(none.covers("partner.example"));
}

// ---- the same rules on real certificates -----------------------------------------------------

TEST(PeerIdentityFromCertificate, SipDomainsOfEachCertificateShape) {
  ASSERT_TRUE(certs().ok()) << certs().error();
  struct Case {
    const char* name;
    const CertFiles& files;
    Strings domains;
  };
  const Case cases[] = {
      {"DNS SANs", certs().server_dns, {"partner.example", "edge.partner.example"}},
      {"sip URI and DNS SAN", certs().server_uri, {"partner.example"}},
      {"sip URI with a user part; CN ignored", certs().server_uri_user, {}},
      {"sips URI and DNS SAN", certs().server_sips_uri, {"sips.partner.example"}},
      {"CN only", certs().server_cn, {"partner.example"}},
      {"wildcard", certs().server_wildcard, {"*.partner.example"}},
      {"client", certs().client, {"client.partner.example"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(verifiedIdentity(c.files).sipDomains(), c.domains) << c.name;
  }
}

TEST(PeerIdentityFromCertificate, CoversPerCertificateShape) {
  ASSERT_TRUE(certs().ok()) << certs().error();
  const PeerIdentity dns = verifiedIdentity(certs().server_dns);
  EXPECT_TRUE(dns.covers("partner.example"));
  EXPECT_TRUE(dns.covers("edge.partner.example"));
  EXPECT_FALSE(dns.covers("other.example"));

  const PeerIdentity uri = verifiedIdentity(certs().server_uri);
  EXPECT_TRUE(uri.covers("Partner.Example"));
  EXPECT_FALSE(uri.covers("edge.partner.example"));  // the dNSName is not used beside a sip URI

  const PeerIdentity user = verifiedIdentity(certs().server_uri_user);
  EXPECT_FALSE(user.covers("partner.example"));

  const PeerIdentity cn = verifiedIdentity(certs().server_cn);
  EXPECT_FALSE(cn.has_subject_alt_name);
  EXPECT_TRUE(cn.covers("partner.example"));

  const PeerIdentity wildcard = verifiedIdentity(certs().server_wildcard);
  EXPECT_FALSE(wildcard.covers("sip.partner.example"));
  EXPECT_FALSE(wildcard.covers("partner.example"));

  X509Ptr cert = loadCertificate(certs().server_dns.cert);
  ASSERT_NE(cert, nullptr);
  const PeerIdentity unverified =
      identityOf(cert.get(), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  EXPECT_TRUE(unverified.presented);
  EXPECT_FALSE(unverified.verified);
  EXPECT_EQ(unverified.verify_error, "unable to get local issuer certificate");
  EXPECT_FALSE(unverified.covers("partner.example"));
}

// ---- identityOf() against the openssl CLI ----------------------------------------------------

// What `openssl x509` reports about a certificate, from one run of the CLI.
struct CliReport {
  std::map<std::string, std::string> fields;  // "serial" -> "5EED0001", ...
  bool has_san = false;
  Strings dns_names;
  Strings uris;
};

CliReport cliReport(const TestCerts& c, const std::string& file) {
  const std::string out =
      c.openssl("x509 -in " + file +
                " -noout -nameopt RFC2253 -dateopt iso_8601 -fingerprint -sha256 -serial -subject"
                " -issuer -startdate -enddate -ext subjectAltName");
  CliReport report;
  std::size_t pos = 0;
  bool in_san = false;
  while (pos < out.size()) {
    std::size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) {
      nl = out.size();
    }
    const std::string line = out.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.find("Subject Alternative Name") != std::string::npos) {
      report.has_san = true;
      in_san = true;
    } else if (in_san && line.rfind("    ", 0) == 0) {
      // "    DNS:a.example, URI:sip:b.example"
      std::size_t p = 4;
      while (p < line.size()) {
        std::size_t comma = line.find(", ", p);
        if (comma == std::string::npos) {
          comma = line.size();
        }
        const std::string item = line.substr(p, comma - p);
        if (item.rfind("DNS:", 0) == 0) {
          report.dns_names.push_back(item.substr(4));
        } else if (item.rfind("URI:", 0) == 0) {
          report.uris.push_back(item.substr(4));
        }
        p = comma + 2;
      }
    } else if (const std::size_t eq = line.find('='); eq != std::string::npos) {
      in_san = false;
      report.fields[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  return report;
}

// "2026-11-22 07:01:08Z" (-dateopt iso_8601) as Unix seconds.
std::int64_t cliTime(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm));
}

TEST(IdentityOf, FieldsMatchTheOpensslCli) {
  const TestCerts& c = certs();
  ASSERT_TRUE(c.ok()) << c.error();
  for (const std::string& file :
       {c.server_dns.cert, c.server_uri.cert, c.server_cn.cert, c.server_wildcard.cert,
        c.server_expired.cert, c.client.cert, c.server_other_ca.cert, c.ca}) {
    SCOPED_TRACE(file);
    X509Ptr cert = loadCertificate(file);
    ASSERT_NE(cert, nullptr);
    const PeerIdentity id = identityOf(cert.get(), X509_V_OK);
    CliReport cli = cliReport(c, file);
    ASSERT_EQ(cli.fields.size(), 6u);
    EXPECT_TRUE(id.presented);
    EXPECT_TRUE(id.verified);
    EXPECT_EQ(id.verify_error, "");
    EXPECT_EQ(id.fingerprint_sha256, cli.fields["sha256 Fingerprint"]);
    EXPECT_EQ(id.serial, cli.fields["serial"]);
    EXPECT_EQ(id.subject, cli.fields["subject"]);
    EXPECT_EQ(id.issuer, cli.fields["issuer"]);
    EXPECT_EQ(id.not_before, cliTime(cli.fields["notBefore"]));
    EXPECT_EQ(id.not_after, cliTime(cli.fields["notAfter"]));
    EXPECT_EQ(id.has_subject_alt_name, cli.has_san);
    EXPECT_EQ(id.dns_names, cli.dns_names);
    EXPECT_EQ(id.uris, cli.uris);
    EXPECT_FALSE(id.fingerprint_sha256.empty());
    EXPECT_FALSE(id.subject.empty());
  }
}

TEST(IdentityOf, KnownValues) {
  const TestCerts& c = certs();
  ASSERT_TRUE(c.ok()) << c.error();
  const PeerIdentity dns = verifiedIdentity(c.server_dns);
  EXPECT_EQ(dns.common_name, "edge.partner.example");
  EXPECT_EQ(dns.subject, "CN=edge.partner.example,O=Partner");
  EXPECT_EQ(dns.issuer, "CN=sipedge test CA,O=sipedge test");
  EXPECT_EQ(dns.serial, "5EED0001");
  EXPECT_EQ(dns.dns_names, (Strings{"partner.example", "Edge.Partner.Example"}));
  EXPECT_TRUE(dns.uris.empty());
  EXPECT_EQ(dns.fingerprint_sha256.size(), 32u * 3 - 1);
  EXPECT_EQ(dns.not_after - dns.not_before, 825 * 86400);

  const PeerIdentity uri = verifiedIdentity(c.server_uri);
  EXPECT_EQ(uri.uris, Strings{"sip:partner.example"});
  EXPECT_EQ(uri.dns_names, Strings{"edge.partner.example"});

  const PeerIdentity expired = verifiedIdentity(c.server_expired);
  EXPECT_EQ(expired.not_before, TestCerts::kExpiredNotBefore);
  EXPECT_EQ(expired.not_after, TestCerts::kExpiredNotAfter);
  EXPECT_EQ(expired.serial, "5EED0100");

  const PeerIdentity future = verifiedIdentity(c.server_future);
  EXPECT_EQ(future.not_before, TestCerts::kFutureNotBefore);  // GeneralizedTime after 2049
  EXPECT_EQ(future.not_after, TestCerts::kFutureNotAfter);

  const PeerIdentity cn = verifiedIdentity(c.server_cn);
  EXPECT_FALSE(cn.has_subject_alt_name);
  EXPECT_TRUE(cn.dns_names.empty());
  EXPECT_EQ(cn.common_name, "partner.example");
}

TEST(IdentityOf, NoCertificate) {
  const PeerIdentity id = identityOf(static_cast<const x509_st*>(nullptr), X509_V_OK);
  EXPECT_FALSE(id.presented);
  EXPECT_FALSE(id.verified);
  EXPECT_EQ(id, PeerIdentity{});
  EXPECT_EQ(identityOf(static_cast<const ssl_st*>(nullptr)), PeerIdentity{});
}

TEST(IdentityOf, VerifyErrorsAreOpensslsWords) {
  ASSERT_TRUE(certs().ok()) << certs().error();
  X509Ptr cert = loadCertificate(certs().server_expired.cert);
  ASSERT_NE(cert, nullptr);
  const PeerIdentity id = identityOf(cert.get(), X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_TRUE(id.presented);
  EXPECT_FALSE(id.verified);
  EXPECT_EQ(id.verify_error, "certificate has expired");
}

}  // namespace
}  // namespace sipedge::transport
