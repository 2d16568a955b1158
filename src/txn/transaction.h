#pragma once

// One transaction as the layer keeps it: the machine's state, its timers, and the compact parts
// of its messages needed to retransmit, acknowledge, cancel or answer (never a parsed message,
// docs/NOTES.md). Owned by Layer's table only (STYLE S11, S17).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "messages.h"
#include "sipedge/base/time.h"
#include "sipedge/transport/sender.h"
#include "sipedge/txn/fsm.h"
#include "sipedge/txn/key.h"

namespace sipedge::txn {

// Timer slots: the RFC timers A-M by TimerId, then the layer's own.
inline constexpr std::size_t kRfcTimers = 13;
inline constexpr std::size_t kTryingSlot = kRfcTimers;           // 100 Trying after 200 ms
inline constexpr std::size_t kCancelGuardSlot = kRfcTimers + 1;  // 64*T1 after CANCEL
inline constexpr std::size_t kTimerSlots = kRfcTimers + 2;

enum class CancelState : std::uint8_t {
  None,
  Pending,  // cancel() before any provisional response: sent on the first one (RFC 3261 9.1)
  Sent,
};

struct ClientSide {
  RequestParts parts;
  std::string request;    // as sent, for retransmissions
  std::string ack;        // the ACK of the non-2xx final response, built once
  bool internal = false;  // a CANCEL the layer sent: its responses stay in the layer
  bool final_delivered = false;
  CancelState cancel = CancelState::None;
};

struct ServerSide {
  AnswerParts parts;
  std::string response;   // the most recent response sent, for retransmissions
  std::string to_tag;     // the To tag of the responses sent ("" before one carried a tag)
  bool internal = false;  // a CANCEL: answered by the layer, never seen by the TU
  bool rfc2543 = false;   // matched by RFC 2543 rules: an ACK must carry to_tag
  bool cancelled = false;
};

struct Transaction {
  std::uint64_t id = 0;
  Key key;
  State state;
  transport::Destination destination;  // client: of the request; server: of the responses
  std::array<TimerPtr, kTimerSlots> timers;
  std::variant<ClientSide, ServerSide> role;

  bool isClient() const { return std::holds_alternative<ClientSide>(role); }
  ClientSide& client() { return std::get<ClientSide>(role); }
  ServerSide& server() { return std::get<ServerSide>(role); }
  bool internal() const {
    return isClient() ? std::get<ClientSide>(role).internal : std::get<ServerSide>(role).internal;
  }
};

}  // namespace sipedge::txn
