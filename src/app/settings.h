#pragma once

// From the configuration snapshot to the settings each runtime module takes (DESIGN.md: config
// sits below transport, txn and dns, so the mapping lives here, in one place).

#include <vector>

#include "sipedge/config/config.h"
#include "sipedge/dns/cares_resolver.h"
#include "sipedge/transport/tls.h"
#include "sipedge/transport/worker_transport.h"
#include "sipedge/txn/layer.h"

namespace sipedge::app {

transport::Limits transportLimits(const config::Config& c);
txn::LayerSettings layerSettings(const config::Config& c);
dns::ResolverSettings resolverSettings(const config::Config& c);
transport::TlsSettings tlsSettings(const config::TlsProfile& profile);
std::vector<transport::ListenerSettings> listenerSettings(const config::Config& c);

}  // namespace sipedge::app
