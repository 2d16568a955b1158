#pragma once

#include <cstdint>
#include <string_view>

namespace sipedge::sip {

enum class Method : std::uint8_t {
  Unknown,  // an extension method: the token is kept as text
  Invite,
  Ack,
  Bye,
  Cancel,
  Options,
  Register,
  Prack,
  Subscribe,
  Notify,
  Publish,
  Info,
  Refer,
  Message,
  Update,
};

// Methods are case-sensitive (RFC 3261 7.1): "invite" is an extension method.
Method methodFromToken(std::string_view token);
std::string_view methodName(Method m);  // "" for Unknown

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
bool isToken(std::string_view s);

}  // namespace sipedge::sip
