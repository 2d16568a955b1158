#pragma once

// The messages the transaction layer writes itself, as pure functions of what a transaction keeps
// of its request: the ACK for a non-2xx final response (RFC 3261 17.1.1.3), CANCEL (9.1),
// responses the layer answers on its own (100 Trying, 200 to CANCEL, 481, 503; 8.2.6) and the
// 408/503 it reports to the TU in place of a response that never came (8.1.3.1).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipedge/sip/message.h"
#include "sipedge/transport/sender.h"
#include "sipedge/txn/layer.h"  // RequestParts

namespace sipedge::txn {

// What a server transaction keeps of its request to answer it.
struct AnswerParts {
  std::vector<std::string> vias;  // every Via header value, in order
  std::string from;
  std::string to;
  bool to_has_tag = false;
  std::string call_id;
  std::string cseq;       // the CSeq value as written
  std::string timestamp;  // RFC 3261 8.2.6.1: copied into 100 Trying; "" when absent
};

// Whether `m` has the headers every transaction needs: Via, From, To, Call-ID and CSeq.
bool hasTransactionHeaders(const sip::Message& m);

// Both require hasTransactionHeaders(request).
RequestParts requestParts(const sip::Message& request);
AnswerParts answerParts(const sip::Message& request);

// RFC 3261 17.1.1.3: Request-URI, Call-ID, From and CSeq number of the request, method ACK, the To
// of the response (with its tag), the top Via only, the request's Route headers, Max-Forwards 70.
std::string buildAck(const RequestParts& request, std::string_view response_to);

// RFC 3261 9.1: Request-URI, Call-ID, To, From and CSeq number of the request, method CANCEL, the
// top Via only, the request's Route headers, Max-Forwards 70.
std::string buildCancel(const RequestParts& request);

// A response to the request (RFC 3261 8.2.6.2): its Vias, From, Call-ID and CSeq, and its To with
// `to_tag` added when it has none and the tag is not empty. `extra_headers` are complete header
// lines ("Retry-After: 5\r\n").
std::string buildResponse(const AnswerParts& request, int status, std::string_view to_tag,
                          std::string_view extra_headers = {});

// A response the peer never sent, for the TU: the request's top Via, From, To, Call-ID and CSeq.
sip::Message synthesizeResponse(const RequestParts& request, int status);

// The top Via of a request switched to another transport (RFC 3261 18.1.1): the same protocol
// and parameters (branch, rport, ...) with the new transport and sent-by. nullopt when the result
// is not a valid Via.
std::optional<std::string> viaWithAddress(const sip::Via& via, const transport::ViaAddress& at);

}  // namespace sipedge::txn
