// geo::Database against MaxMind DB files written by tests/data/geo/make-test-db.pl (the MaxMind
// writer from libmaxmind-db-writer-perl), as the GeoIP policy tests use them.

#include "sipedge/geo/geo.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace sipedge::geo {
namespace {

namespace fs = std::filesystem;

class GeoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sipedge-geo-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a database with the writer script; fails the test when the writer fails.
  std::string write(const std::string& name, const std::string& networks) {
    const std::string out = (dir_ / name).string();
    const std::string cmd = std::string("perl ") + SIPEDGE_GEO_DATA_DIR + "/make-test-db.pl " +
                            out + " " + networks + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return out;
  }

  fs::path dir_;
};

TEST_F(GeoTest, LooksUpCountriesOfIpv4AndIpv6Addresses) {
  auto db = Database::open(write("c.mmdb", "127.0.0.0/25=US 127.0.0.128/25=DE ::1/128=FR"));
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ((*db)->country("127.0.0.1"), "US");
  EXPECT_EQ((*db)->country("127.0.0.127"), "US");
  EXPECT_EQ((*db)->country("127.0.0.128"), "DE");
  EXPECT_EQ((*db)->country("::1"), "FR");
  EXPECT_NE((*db)->description().find("sipedge-Test-Country"), std::string::npos);
}

TEST_F(GeoTest, UnknownAddressesAndNonAddressesHaveNoCountry) {
  auto db = Database::open(write("c.mmdb", "127.0.0.0/25=US"));
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ((*db)->country("10.1.2.3"), "");
  EXPECT_EQ((*db)->country("2001:db8::1"), "");
  EXPECT_EQ((*db)->country(""), "");
  EXPECT_EQ((*db)->country("not-an-ip"), "");
  EXPECT_EQ((*db)->country("127.0.0.1:5060"), "");
  EXPECT_EQ((*db)->country(std::string(200, '1')), "");
}

TEST_F(GeoTest, MissingFileIsAnErrorNamingThePath) {
  const std::string path = (dir_ / "absent.mmdb").string();
  auto db = Database::open(path);
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find(path), std::string::npos) << db.error().message;
  EXPECT_NE(db.error().message.find("No such file"), std::string::npos) << db.error().message;
}

TEST_F(GeoTest, AFileThatIsNotAMaxMindDbIsAnError) {
  const std::string path = (dir_ / "junk.mmdb").string();
  std::ofstream(path) << "this is not a MaxMind DB\n";
  auto db = Database::open(path);
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find("not a usable MaxMind DB"), std::string::npos)
      << db.error().message;
}

TEST_F(GeoTest, LookupsFromSeveralThreadsAgree) {
  auto db = Database::open(write("c.mmdb", "127.0.0.0/25=US 127.0.0.128/25=DE"));
  ASSERT_TRUE(db) << db.error().message;
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        const int last = i % 256;
        const std::string want = last < 128 ? "US" : "DE";
        if ((*db)->country("127.0.0." + std::to_string(last)) != want) {
          ++wrong[t];
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace sipedge::geo
