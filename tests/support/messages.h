#pragma once

// Small SIP messages shared by the unit tests. Addresses are loopback; domains are reserved
// example names (never sent anywhere).

#include <string>
#include <string_view>

namespace sipedge::testing {

// Replaces "\n" with "\r\n" so tests can be written readably.
inline std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

inline const std::string kInvite = crlf(
    "INVITE sip:bob@example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK74bf9;rport\n"
    "Via: SIP/2.0/TCP proxy.example.net;branch=z9hG4bKnashds8;received=127.0.0.2\n"
    "Max-Forwards: 70\n"
    "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n"
    "From: \"Alice\" <sip:alice@example.net>;tag=9fxced76sl\n"
    "To: Bob <sip:bob@example.com>\n"
    "Call-ID: 3848276298220188511@127.0.0.1\n"
    "CSeq: 2 INVITE\n"
    "Contact: <sip:alice@127.0.0.1:5060;transport=udp>;expires=300\n"
    "Record-Route: <sip:edge.example.net;lr>\n"
    "X-Custom:  kept   as is \n"
    "Content-Type: application/sdp\n"
    "Content-Length: 5\n"
    "\n"
    "v=0\n");

inline const std::string kOk = crlf(
    "SIP/2.0 200 OK\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK74bf9;rport=5060\n"
    "From: \"Alice\" <sip:alice@example.net>;tag=9fxced76sl\n"
    "To: Bob <sip:bob@example.com>;tag=8321234356\n"
    "Call-ID: 3848276298220188511@127.0.0.1\n"
    "CSeq: 2 INVITE\n"
    "Content-Length: 0\n"
    "\n");

}  // namespace sipedge::testing
