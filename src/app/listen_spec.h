#pragma once

// Listener specifications on the command line: TRANSPORT:ADDRESS:PORT[/SIDE], e.g.
// "udp:127.0.0.1:5060", "tls:[::1]:5061/internal". Port 0 lets the kernel choose.

#include <string>
#include <string_view>

#include "sipedge/base/result.h"
#include "sipedge/transport/worker_transport.h"

namespace sipedge::app {

[[nodiscard]] Result<transport::ListenerSettings, std::string> parseListenSpec(
    std::string_view text);

}  // namespace sipedge::app
