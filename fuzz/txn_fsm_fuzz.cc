// Fuzzes the transaction machines: the bytes choose a machine, the transport and a sequence of
// inputs (timers fire only while running, as the layer guarantees). Invariants are checked after
// every step, and once the input ends the machine must either terminate on its own timers or be
// waiting where RFC 3261 lets it wait: on its TU, or on the peer under timer C.

#include <cstddef>
#include <cstdint>
#include <map>

#include "fuzz_bytes.h"
#include "fuzz_check.h"
#include "sipedge/txn/fsm.h"

namespace {

using namespace sipedge::txn;

using sipedge::fuzz::Bytes;

bool isClient(Machine m) {
  return m == Machine::InviteClient || m == Machine::NonInviteClient;
}

// Where RFC 3261 lets a live transaction wait with no timer of its own running.
bool mayWaitWithoutTimer(const State& s) {
  switch (s.machine) {
    case Machine::InviteClient: return s.phase == Phase::Proceeding && !s.proxy_timer_c;
    case Machine::InviteServer: return s.phase == Phase::Proceeding;  // the TU answers
    case Machine::NonInviteServer: return s.phase == Phase::Trying || s.phase == Phase::Proceeding;
    case Machine::NonInviteClient: return false;
  }
  return false;
}

const int kStatuses[] = {100, 180, 183, 200, 202, 300, 401, 404, 486, 487, 500, 503, 603, 99, 700};

class Driver {
 public:
  explicit Driver(const TimerConfig& t) : timers_(t) {}

  void apply(const Step& s, const State& before) {
    const bool client = isClient(before.machine);
    FUZZ_CHECK(s.actions.size() <= Actions::kCapacity);
    if (s.ignored) {
      FUZZ_CHECK(s.actions.empty());
      FUZZ_CHECK(s.state == before);
    }
    for (std::size_t i = 0; i < s.actions.size(); ++i) {
      const Action& a = s.actions[i];
      if (const auto* st = std::get_if<StartTimer>(&a)) {
        FUZZ_CHECK(st->after.count() > 0);
        const bool retransmit =
            st->id == TimerId::A || st->id == TimerId::E || st->id == TimerId::G;
        FUZZ_CHECK(!(retransmit && s.state.reliable));
        if (st->id == TimerId::E || st->id == TimerId::G) {
          FUZZ_CHECK(st->after <= timers_.t2);
        }
        if (st->id == TimerId::A) {
          FUZZ_CHECK(st->after <= timers_.timerB());
        }
        running_[st->id] = now_ + st->after;
      } else if (const auto* sp = std::get_if<StopTimer>(&a)) {
        running_.erase(sp->id);
      } else if (std::holds_alternative<Terminate>(a)) {
        FUZZ_CHECK(i + 1 == s.actions.size());  // nothing after the end
        FUZZ_CHECK(s.state.phase == Phase::Terminated);
      } else if (std::holds_alternative<SendRequest>(a) || std::holds_alternative<SendAck>(a) ||
                 std::holds_alternative<PassResponse>(a)) {
        FUZZ_CHECK(client);
      } else if (std::holds_alternative<SendResponse>(a) || std::holds_alternative<PassAck>(a)) {
        FUZZ_CHECK(!client);
      }
    }
    const bool ended =
        !s.actions.empty() && std::holds_alternative<Terminate>(s.actions[s.actions.size() - 1]);
    FUZZ_CHECK((s.state.phase == Phase::Terminated) ==
               (ended || before.phase == Phase::Terminated));
    if (s.state.phase == Phase::Terminated) {
      running_.clear();
    }
    state_ = s.state;
  }

  // Fires a running timer (the layer removes it from the running set first): the one chosen by
  // `pick`, or with `in_order` the earliest, advancing the simulated clock to its deadline.
  bool fire(std::uint8_t pick, bool in_order = false) {
    if (running_.empty()) {
      return false;
    }
    auto it = running_.begin();
    if (in_order) {
      for (auto j = running_.begin(); j != running_.end(); ++j) {
        if (j->second < it->second) {
          it = j;
        }
      }
    } else {
      std::advance(it, pick % running_.size());
    }
    const TimerId id = it->first;
    now_ = std::max(now_, it->second);
    running_.erase(it);
    const State before = state_;
    apply(step(before, TimerFired{id}, timers_), before);
    return true;
  }

  void input(const Input& in) {
    const State before = state_;
    apply(step(before, in, timers_), before);
  }

  const State& state() const { return state_; }
  bool idle() const { return running_.empty(); }
  void setState(const State& s) { state_ = s; }

 private:
  const TimerConfig& timers_;
  State state_;
  std::map<TimerId, Duration> running_;  // deadlines on the simulated clock
  Duration now_{0};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  TimerConfig timers;
  timers.t1 = Duration(100 + in.next() * 10);
  timers.t2 = Duration(timers.t1.count() * (1 + in.next() % 16));
  timers.t4 = Duration(1000 + in.next() * 20);
  const auto machine = static_cast<Machine>(in.next() % 4);
  const std::uint8_t flags = in.next();
  const bool reliable = (flags & 1) != 0;
  const bool timer_c = (flags & 2) != 0;

  Driver d(timers);
  const Step first = start(machine, reliable, timers, timer_c);
  d.apply(first, first.state);
  int steps = 0;
  while (!in.empty() && steps++ < 512) {
    const std::uint8_t op = in.next();
    switch (op % 8) {
      case 0: d.fire(in.next()); break;
      case 1: d.input(RequestRetransmission{}); break;
      case 2: d.input(AckReceived{}); break;
      case 3: d.input(ResponseReceived{kStatuses[in.next() % std::size(kStatuses)]}); break;
      case 4: d.input(TuResponse{kStatuses[in.next() % std::size(kStatuses)]}); break;
      case 5: d.input(TransportError{}); break;
      default: d.fire(in.next()); break;
    }
  }
  // Input over: only timers drive the machine now. It must end, or wait where it may.
  for (int i = 0; i < 256 && d.state().phase != Phase::Terminated; ++i) {
    if (!d.fire(0, true)) {
      break;
    }
    if (d.state().phase == Phase::Proceeding && d.state().proxy_timer_c) {
      break;  // timer C expired: the TU decides (CANCEL or 408)
    }
  }
  const State& end = d.state();
  FUZZ_CHECK(end.phase == Phase::Terminated || !d.idle() || mayWaitWithoutTimer(end) ||
             (end.proxy_timer_c && end.phase == Phase::Proceeding));
  return 0;
}
