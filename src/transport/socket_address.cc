#include "socket_address.h"

#include <netinet/in.h>
#include <unistd.h>

#include <cstring>

namespace sipedge::transport {

SocketAddress toSocketAddress(const Address& a) {
  SocketAddress out;
  if (a.isV6()) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(a.port());
    std::memcpy(&sin6->sin6_addr, a.bytes().data(), 16);
    out.length = sizeof(sockaddr_in6);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(a.port());
    std::memcpy(&sin->sin_addr, a.bytes().data(), 4);
    out.length = sizeof(sockaddr_in);
  }
  return out;
}

std::optional<Address> fromSocketAddress(const sockaddr* sa, socklen_t length) {
  if (sa->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
    return Address::v4(ntohl(sin->sin_addr.s_addr), ntohs(sin->sin_port));
  }
  if (sa->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &sin6->sin6_addr, 16);
    // An IPv4-mapped IPv6 address is the IPv4 peer it stands for.
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(bytes.data(), kMapped, 12) == 0) {
      std::uint32_t v4 = (std::uint32_t{bytes[12]} << 24) | (std::uint32_t{bytes[13]} << 16) |
                         (std::uint32_t{bytes[14]} << 8) | std::uint32_t{bytes[15]};
      return Address::v4(v4, ntohs(sin6->sin6_port));
    }
    return Address::v6(bytes, ntohs(sin6->sin6_port));
  }
  return std::nullopt;
}

std::optional<Address> localAddressOf(int fd) {
  SocketAddress sa;
  sa.length = sizeof(sa.storage);
  if (getsockname(fd, sa.get(), &sa.length) != 0) {
    return std::nullopt;
  }
  return fromSocketAddress(sa.get(), sa.length);
}

std::optional<Address> sourceAddressFor(const Address& destination) {
  int fd = socket(destination.isV6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return std::nullopt;
  }
  Address target = destination;
  if (target.port() == 0) {
    target.setPort(5060);
  }
  SocketAddress sa = toSocketAddress(target);
  std::optional<Address> local;
  if (connect(fd, sa.get(), sa.length) == 0) {
    local = localAddressOf(fd);
  }
  close(fd);
  return local;
}

}  // namespace sipedge::transport
