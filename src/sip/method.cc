#include "sipedge/sip/method.h"

#include <array>
#include <utility>

#include "scan.h"

namespace sipedge::sip {
namespace {
constexpr std::array<std::pair<Method, std::string_view>, 14> kMethods{{
    {Method::Invite, "INVITE"},
    {Method::Ack, "ACK"},
    {Method::Bye, "BYE"},
    {Method::Cancel, "CANCEL"},
    {Method::Options, "OPTIONS"},
    {Method::Register, "REGISTER"},
    {Method::Prack, "PRACK"},
    {Method::Subscribe, "SUBSCRIBE"},
    {Method::Notify, "NOTIFY"},
    {Method::Publish, "PUBLISH"},
    {Method::Info, "INFO"},
    {Method::Refer, "REFER"},
    {Method::Message, "MESSAGE"},
    {Method::Update, "UPDATE"},
}};
}  // namespace

Method methodFromToken(std::string_view token) {
  for (const auto& [m, name] : kMethods) {
    if (token == name) {
      return m;
    }
  }
  return Method::Unknown;
}

std::string_view methodName(Method m) {
  for (const auto& [mm, name] : kMethods) {
    if (mm == m) {
      return name;
    }
  }
  return {};
}

bool isToken(std::string_view s) {
  return !s.empty() && scan::skipToken(s, 0) == s.size();
}

}  // namespace sipedge::sip
