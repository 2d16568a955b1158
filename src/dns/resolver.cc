#include "sipedge/dns/resolver.h"

namespace sipedge::dns {

std::string_view errorKindName(DnsErrorKind kind) {
  switch (kind) {
    case DnsErrorKind::NotFound: return "not found";
    case DnsErrorKind::NoRecords: return "no records";
    case DnsErrorKind::Timeout: return "timeout";
    case DnsErrorKind::ServerFailure: return "server failure";
    case DnsErrorKind::BadResponse: return "bad response";
    case DnsErrorKind::InvalidName: return "invalid name";
    case DnsErrorKind::Other: return "other";
  }
  return "?";
}

std::string DnsError::describe() const {
  return name + ": " + reason;
}

}  // namespace sipedge::dns
