#pragma once

// The four RFC 3261 transaction state machines (17.1.1 INVITE client, 17.1.2 non-INVITE client,
// 17.2.1 INVITE server, 17.2.2 non-INVITE server), with RFC 6026's Accepted state for 2xx, as one
// pure transition function (STYLE S5): step(state, input) -> {state, actions}. Timers are named
// and carry relative durations; the layer that runs the machines (txn::Layer) owns the clock, the
// timers, the messages and the transport. No I/O, no clock, no allocation.

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <variant>

#include "sipedge/base/assert.h"

namespace sipedge::txn {

using Duration = std::chrono::milliseconds;

// RFC 3261 17.1.1.1 / Table 4. Every value is a configuration key (txn.t1, ...).
struct TimerConfig {
  Duration t1{500};
  Duration t2{4000};
  Duration t4{5000};
  Duration timer_c{180000};  // proxy INVITE timer (RFC 3261 16.6 step 11): > 3 minutes
  Duration timer_d{32000};   // unreliable transports: at least 32 s
  // How long a finished transaction over UDP stays to absorb retransmissions: timers J (non-INVITE
  // server), L and M (RFC 6026's Accepted INVITE server and client). Zero: 64*T1, as the RFCs
  // say. An operator may shorten it (Kamailio's tm waits 5 s) to hold fewer transactions.
  Duration wait{0};
  Duration timerB() const { return 64 * t1; }                                // also F, H
  Duration waitTimer() const { return wait.count() > 0 ? wait : timerB(); }  // J, L, M
};

enum class Machine : std::uint8_t { InviteClient, NonInviteClient, InviteServer, NonInviteServer };
enum class Phase : std::uint8_t {
  Calling,
  Trying,
  Proceeding,
  Completed,
  Confirmed,
  Accepted,
  Terminated
};
enum class TimerId : std::uint8_t { A, B, C, D, E, F, G, H, I, J, K, L, M };

std::string_view machineName(Machine m);
std::string_view phaseName(Phase p);
char timerName(TimerId t);

struct State {
  Machine machine = Machine::NonInviteClient;
  Phase phase = Phase::Trying;
  bool reliable = false;       // TCP/TLS/SCTP: no retransmissions, zero-length wait timers
  bool proxy_timer_c = false;  // INVITE client run by a proxy or B2BUA: timer C
  Duration interval{0};        // current retransmission interval of timer A, E or G
  int last_response = 0;       // server: status of the last response sent (0: none)
  bool operator==(const State&) const = default;
};

// ---- inputs ----
struct RequestRetransmission {};  // server: the transaction's request arrived again
struct AckReceived {};            // INVITE server: an ACK matching the transaction
struct ResponseReceived {         // client: a response matching the transaction
  int status = 0;
};
struct TuResponse {  // server: the transaction user sends a response
  int status = 0;
};
struct TimerFired {
  TimerId id = TimerId::A;
};
struct TransportError {};  // sending failed (RFC 3261 17.1.4, 17.2.4)

using Input = std::variant<RequestRetransmission, AckReceived, ResponseReceived, TuResponse,
                           TimerFired, TransportError>;

// ---- actions, for the layer to carry out in order ----
struct SendRequest {};   // client: (re)transmit the transaction's request
struct SendAck {};       // INVITE client: ACK the non-2xx final response (RFC 3261 17.1.1.3)
struct SendResponse {};  // server: (re)transmit the most recent response from the TU
struct StartTimer {
  TimerId id = TimerId::A;
  Duration after{0};
};
struct StopTimer {
  TimerId id = TimerId::A;
};
struct PassResponse {  // client: hand the response to the TU
  int status = 0;
};
struct PassAck {};          // INVITE server in Accepted: the ACK for a 2xx goes to the TU
struct Timeout {};          // client: timer B/F fired, the TU treats it as 408; server: no ACK (H)
struct TransportFailed {};  // the TU treats it as 503 (RFC 3261 8.1.3.1)
struct TimerCExpired {};    // proxy INVITE client: the TU cancels or answers 408 (16.8)
struct Terminate {};        // the transaction is over: remove it

using Action = std::variant<SendRequest, SendAck, SendResponse, StartTimer, StopTimer, PassResponse,
                            PassAck, Timeout, TransportFailed, TimerCExpired, Terminate>;

// A bounded list of actions (no step produces more than a handful).
class Actions {
 public:
  static constexpr std::size_t kCapacity = 8;
  void push(Action a) {
    SIPEDGE_RELEASE_ASSERT(size_ < kCapacity);  // provable: no transition emits more
    items_[size_++] = a;
  }
  const Action* begin() const { return items_.data(); }
  const Action* end() const { return items_.data() + size_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Action& operator[](std::size_t i) const { return items_[i]; }

 private:
  std::array<Action, kCapacity> items_{};
  std::size_t size_ = 0;
};

struct Step {
  State state;
  Actions actions;
  bool ignored = false;  // the input means nothing in this state (counted, never an error)
};

// Creates a transaction. Clients send their request and arm their timers; servers start in
// Proceeding (INVITE) or Trying (non-INVITE), the request being passed to the TU by the layer.
Step start(Machine machine, bool reliable, const TimerConfig& timers, bool proxy_timer_c = false);

// One transition (RFC section cited at each state).
Step step(const State& state, const Input& input, const TimerConfig& timers);

}  // namespace sipedge::txn
