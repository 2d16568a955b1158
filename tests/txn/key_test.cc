#include <gtest/gtest.h>

#include <string>

#include "sipedge/txn/key.h"

namespace sipedge::txn {
namespace {

std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    out += c == '\n' ? std::string("\r\n") : std::string(1, c);
  }
  return out;
}

sip::Message request(std::string_view method, std::string_view branch,
                     std::string_view sent_by = "127.0.0.1:5060", std::string_view to_tag = "",
                     std::string_view cseq_method = "") {
  std::string text = std::string(method) + " sip:bob@example.com SIP/2.0\n";
  text += "Via: SIP/2.0/UDP " + std::string(sent_by);
  if (!branch.empty()) {
    text += ";branch=" + std::string(branch);
  }
  text += "\nFrom: <sip:alice@example.net>;tag=f1\nTo: <sip:bob@example.com>";
  if (!to_tag.empty()) {
    text += ";tag=" + std::string(to_tag);
  }
  text += "\nCall-ID: c1@127.0.0.1\nCSeq: 7 " +
          std::string(cseq_method.empty() ? method : cseq_method) + "\nContent-Length: 0\n\n";
  auto m = sip::parseMessage(crlf(text));
  EXPECT_TRUE(m.has_value()) << m.error().describe();
  return std::move(*m);
}

sip::Message response(int status, std::string_view branch, std::string_view cseq_method) {
  auto m = sip::parseMessage(
      crlf("SIP/2.0 " + std::to_string(status) +
           " X\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=" + std::string(branch) +
           "\nFrom: <sip:alice@example.net>;tag=f1\nTo: <sip:bob@example.com>;tag=t9\n"
           "Call-ID: c1@127.0.0.1\nCSeq: 7 " +
           std::string(cseq_method) + "\nContent-Length: 0\n\n"));
  EXPECT_TRUE(m.has_value());
  return std::move(*m);
}

TEST(ServerKeyTest, AckMatchesItsInviteAndRetransmissionsMatch) {
  const auto invite = serverKey(request("INVITE", "z9hG4bK-1"));
  ASSERT_TRUE(invite);
  EXPECT_EQ(serverKey(request("INVITE", "z9hG4bK-1")), invite);  // a retransmission
  EXPECT_EQ(serverKey(request("ACK", "z9hG4bK-1", "127.0.0.1:5060", "t9", "ACK")), invite);
  EXPECT_NE(serverKey(request("INVITE", "z9hG4bK-2")), invite);
  EXPECT_NE(serverKey(request("INVITE", "z9hG4bK-1", "127.0.0.2:5060")), invite);  // sent-by
  EXPECT_EQ(serverKey(request("INVITE", "z9hG4bK-1", "127.0.0.1:5060")), invite);
}

TEST(ServerKeyTest, SentByHostIsCaseInsensitiveAndPortCounts) {
  EXPECT_EQ(serverKey(request("OPTIONS", "z9hG4bK-1", "Host.Example.COM:5060")),
            serverKey(request("OPTIONS", "z9hG4bK-1", "host.example.com:5060")));
  EXPECT_NE(serverKey(request("OPTIONS", "z9hG4bK-1", "host.example.com")),
            serverKey(request("OPTIONS", "z9hG4bK-1", "host.example.com:5060")));
}

TEST(ServerKeyTest, CancelHasItsOwnTransactionAndFindsTheInvite) {
  const sip::Message cancel = request("CANCEL", "z9hG4bK-1");
  EXPECT_NE(serverKey(cancel), serverKey(request("INVITE", "z9hG4bK-1")));
  EXPECT_EQ(cancelledInviteKey(cancel), serverKey(request("INVITE", "z9hG4bK-1")));
  EXPECT_FALSE(cancelledInviteKey(request("BYE", "z9hG4bK-1")).has_value());
}

TEST(ServerKeyTest, Rfc2543Fallback) {
  // No magic cookie: match on Request-URI, tags, Call-ID, CSeq number and the top Via.
  const auto invite = serverKey(request("INVITE", ""));
  ASSERT_TRUE(invite);
  EXPECT_EQ(serverKey(request("INVITE", "")), invite);
  // The ACK carries the To tag from the server's response; it still matches the INVITE.
  EXPECT_EQ(serverKey(request("ACK", "", "127.0.0.1:5060", "t9", "ACK")), invite);
  EXPECT_NE(serverKey(request("INVITE", "", "127.0.0.3:5060")), invite);
  // Non-INVITE requests include the To tag.
  EXPECT_NE(serverKey(request("BYE", "", "127.0.0.1:5060", "t1")),
            serverKey(request("BYE", "", "127.0.0.1:5060", "t2")));
  // A bare magic cookie is no RFC 3261 branch (RFC 4475 3.2.1): the fallback applies.
  EXPECT_FALSE(isRfc3261Branch("z9hG4bK"));
  EXPECT_TRUE(isRfc3261Branch("z9hG4bKx"));
  EXPECT_EQ(serverKey(request("INVITE", "z9hG4bK")), serverKey(request("INVITE", "z9hG4bK")));
}

TEST(ClientKeyTest, ResponsesMatchByBranchAndCSeqMethod) {
  const sip::Message invite = request("INVITE", "z9hG4bK-c1");
  const auto key = clientKeyOfRequest(invite);
  ASSERT_TRUE(key);
  EXPECT_EQ(clientKey(response(180, "z9hG4bK-c1", "INVITE")), key);
  EXPECT_EQ(clientKey(response(200, "z9hG4bK-c1", "INVITE")), key);
  // A CANCEL uses the INVITE's branch (RFC 3261 9.1): its responses belong to the CANCEL.
  EXPECT_NE(clientKey(response(200, "z9hG4bK-c1", "CANCEL")), key);
  EXPECT_EQ(clientKey(response(200, "z9hG4bK-c1", "CANCEL")),
            clientKeyOfRequest(request("CANCEL", "z9hG4bK-c1")));
  EXPECT_NE(clientKey(response(200, "z9hG4bK-c2", "INVITE")), key);
}

TEST(KeyTest, HashableForTheTransactionTable) {
  std::hash<Key> h;
  EXPECT_EQ(h(*serverKey(request("INVITE", "z9hG4bK-1"))),
            h(*serverKey(request("INVITE", "z9hG4bK-1"))));
}

}  // namespace
}  // namespace sipedge::txn
