#pragma once

// Transaction matching (RFC 3261 17.1.3, 17.2.3, 9.2): the key a message is looked up by in the
// transaction table. Pure functions of a parsed, validated message.

#include <functional>
#include <optional>
#include <string>

#include "sipedge/sip/message.h"

namespace sipedge::txn {

struct Key {
  std::string text;      // normalised: branch or RFC 2543 fields, sent-by, method
  std::size_t hash = 0;  // of text, computed once: the tables compare and rehash by it
  bool operator==(const Key& other) const { return hash == other.hash && text == other.text; }
};

// The server transaction a received request belongs to. An ACK maps to its INVITE's transaction
// (17.2.3); RFC 2543 requests (no magic cookie in the branch) match on Request-URI, From tag,
// Call-ID, CSeq number and top Via, and on the To tag except for INVITE and ACK (an ACK's To tag
// is the one the server put in its response, which the layer checks). nullopt without a Via or
// CSeq.
std::optional<Key> serverKey(const sip::Message& request);

// The INVITE server transaction that a received CANCEL refers to (RFC 3261 9.2).
std::optional<Key> cancelledInviteKey(const sip::Message& cancel);

// The client transaction a received response belongs to: top Via branch and CSeq method
// (17.1.3). nullopt without a branch or CSeq.
std::optional<Key> clientKey(const sip::Message& response);

// The same key, computed from the request a client transaction sends.
std::optional<Key> clientKeyOfRequest(const sip::Message& request);
// ... and from its top Via's branch and its method.
Key clientKeyOf(std::string_view branch, std::string_view method);

// Whether a branch carries RFC 3261's magic cookie (and something after it).
bool isRfc3261Branch(std::string_view branch);

}  // namespace sipedge::txn

template <>
struct std::hash<sipedge::txn::Key> {
  std::size_t operator()(const sipedge::txn::Key& k) const noexcept { return k.hash; }
};
