#pragma once

// RFC 3261 18.2.1 and RFC 3581 4: a server transport records in the top Via where a request
// really came from, so that its responses (which copy the Via) tell the client what the server
// saw: `received` when the sent-by host is not the source IP, and the source port in `rport`
// when the client asked for it with an empty rport parameter.

#include "sipedge/base/result.h"
#include "sipedge/sip/message.h"
#include "sipedge/transport/endpoint.h"

namespace sipedge::transport {

// Rewrites the request's top Via when needed. Returns whether it changed anything.
[[nodiscard]] Result<bool, sip::ParseError> stampReceived(sip::Message& request,
                                                          const Address& source);

}  // namespace sipedge::transport
