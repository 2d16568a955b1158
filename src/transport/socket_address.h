#pragma once

// Conversions between Address and the socket API's sockaddr (private to the transport).

#include <sys/socket.h>

#include <optional>

#include "sipedge/transport/endpoint.h"

namespace sipedge::transport {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

SocketAddress toSocketAddress(const Address& a);
std::optional<Address> fromSocketAddress(const sockaddr* sa, socklen_t length);

// The local address of a socket (getsockname).
std::optional<Address> localAddressOf(int fd);

// The source address the kernel would pick to reach `destination` (a connected UDP socket's
// name, no packet sent). Used to advertise a concrete address when a listener is bound to the
// unspecified address.
std::optional<Address> sourceAddressFor(const Address& destination);

}  // namespace sipedge::transport
