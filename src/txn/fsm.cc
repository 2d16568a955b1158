// RFC 3261 17 transaction machines with RFC 6026's corrections, one function per state.

#include "sipedge/txn/fsm.h"

#include <algorithm>

namespace sipedge::txn {
namespace {

bool isProvisional(int status) {
  return status >= 100 && status <= 199;
}
bool isSuccess(int status) {
  return status >= 200 && status <= 299;
}
bool isFinal(int status) {
  return status >= 200 && status <= 699;
}

// Builds the next state and its actions.
class Transition {
 public:
  Transition(const State& from, const TimerConfig& timers) : timers_(timers) { step_.state = from; }

  Transition& to(Phase p) {
    step_.state.phase = p;
    return *this;
  }
  Transition& act(Action a) {
    step_.actions.push(a);
    return *this;
  }
  Transition& startTimer(TimerId id, Duration after) { return act(StartTimer{id, after}); }
  Transition& stopTimer(TimerId id) { return act(StopTimer{id}); }
  // Enters a wait state whose timer is zero on reliable transports: "immediately" terminated.
  Transition& waitThenTerminate(Phase p, TimerId id, Duration unreliable) {
    if (step_.state.reliable || unreliable.count() == 0) {
      return terminate();
    }
    return to(p).startTimer(id, unreliable);
  }
  Transition& terminate() { return to(Phase::Terminated).act(Terminate{}); }
  State& state() { return step_.state; }
  const TimerConfig& timers() const { return timers_; }
  Step done() { return step_; }
  Step ignored() {
    step_.ignored = true;
    return step_;
  }

 private:
  Step step_;
  const TimerConfig& timers_;
};

// ---- INVITE client: RFC 3261 17.1.1.2, RFC 6026 7.2 ----

Step inviteClient(Transition t, const Input& in) {
  const State& s = t.state();
  const TimerConfig& tc = t.timers();
  auto onFinal = [&](int status) -> Step {
    if (s.phase == Phase::Calling) {
      if (!s.reliable) {
        t.stopTimer(TimerId::A);
      }
      t.stopTimer(TimerId::B);
    }
    if (s.proxy_timer_c) {
      t.stopTimer(TimerId::C);
    }
    if (isSuccess(status)) {
      // RFC 6026: Accepted absorbs nothing; 2xx retransmissions go to the TU until timer M.
      t.act(PassResponse{status});
      return t.to(Phase::Accepted).startTimer(TimerId::M, tc.timerB()).done();
    }
    // 17.1.1.2: ACK the non-2xx final response, pass it up, wait timer D for retransmissions.
    t.act(SendAck{}).act(PassResponse{status});
    return t.waitThenTerminate(Phase::Completed, TimerId::D, tc.timer_d).done();
  };
  return std::visit(
      [&](const auto& v) -> Step {
        using T = std::decay_t<decltype(v)>;
        switch (s.phase) {
          case Phase::Calling:
          case Phase::Proceeding:
            if constexpr (std::is_same_v<T, ResponseReceived>) {
              if (isProvisional(v.status)) {
                if (s.phase == Phase::Calling) {
                  // No more retransmissions once a provisional response arrived.
                  if (!s.reliable) {
                    t.stopTimer(TimerId::A);
                  }
                  t.stopTimer(TimerId::B).to(Phase::Proceeding);
                }
                // 16.7 step 2: a provisional response other than 100 resets timer C.
                if (s.proxy_timer_c && v.status > 100) {
                  t.stopTimer(TimerId::C).startTimer(TimerId::C, tc.timer_c);
                }
                return t.act(PassResponse{v.status}).done();
              }
              if (isFinal(v.status)) {
                return onFinal(v.status);
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TimerFired>) {
              if (v.id == TimerId::A && s.phase == Phase::Calling && !s.reliable) {
                // 17.1.1.2: retransmit, doubling the interval (no T2 cap for INVITE). Timer B
                // ends the transaction at 64*T1, so capping there changes nothing and keeps the
                // interval bounded whatever order a layer fires timers in.
                t.state().interval = std::min(s.interval * 2, tc.timerB());
                return t.act(SendRequest{}).startTimer(TimerId::A, t.state().interval).done();
              }
              if (v.id == TimerId::B && s.phase == Phase::Calling) {
                return t.act(Timeout{}).terminate().done();
              }
              if (v.id == TimerId::C && s.proxy_timer_c) {
                return t.act(TimerCExpired{}).done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TransportError>) {
              return t.act(TransportFailed{}).terminate().done();
            } else {
              return t.ignored();
            }
          case Phase::Completed:
            // 17.1.1.2: retransmitted final responses are ACKed again, not passed up.
            if constexpr (std::is_same_v<T, ResponseReceived>) {
              if (isFinal(v.status) && !isSuccess(v.status)) {
                return t.act(SendAck{}).done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TimerFired>) {
              if (v.id == TimerId::D) {
                return t.terminate().done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TransportError>) {
              return t.act(TransportFailed{}).terminate().done();
            } else {
              return t.ignored();
            }
          case Phase::Accepted:
            // RFC 6026 7.2: 2xx retransmissions are passed to the TU (it ACKs them).
            if constexpr (std::is_same_v<T, ResponseReceived>) {
              if (isSuccess(v.status)) {
                return t.act(PassResponse{v.status}).done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TimerFired>) {
              if (v.id == TimerId::M) {
                return t.terminate().done();
              }
              return t.ignored();
            } else {
              return t.ignored();
            }
          default: return t.ignored();
        }
      },
      in);
}

// ---- non-INVITE client: RFC 3261 17.1.2.2 ----

Step nonInviteClient(Transition t, const Input& in) {
  const State& s = t.state();
  const TimerConfig& tc = t.timers();
  return std::visit(
      [&](const auto& v) -> Step {
        using T = std::decay_t<decltype(v)>;
        switch (s.phase) {
          case Phase::Trying:
          case Phase::Proceeding:
            if constexpr (std::is_same_v<T, ResponseReceived>) {
              if (isProvisional(v.status)) {
                return t.to(Phase::Proceeding).act(PassResponse{v.status}).done();
              }
              if (isFinal(v.status)) {
                if (!s.reliable) {
                  t.stopTimer(TimerId::E);
                }
                t.stopTimer(TimerId::F).act(PassResponse{v.status});
                return t.waitThenTerminate(Phase::Completed, TimerId::K, tc.t4).done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TimerFired>) {
              if (v.id == TimerId::E && !s.reliable) {
                // Trying: double up to T2; Proceeding: every T2.
                t.state().interval =
                    s.phase == Phase::Trying ? std::min(s.interval * 2, tc.t2) : tc.t2;
                return t.act(SendRequest{}).startTimer(TimerId::E, t.state().interval).done();
              }
              if (v.id == TimerId::F) {
                return t.act(Timeout{}).terminate().done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TransportError>) {
              return t.act(TransportFailed{}).terminate().done();
            } else {
              return t.ignored();
            }
          case Phase::Completed:
            // Retransmitted responses are absorbed until timer K.
            if constexpr (std::is_same_v<T, TimerFired>) {
              if (v.id == TimerId::K) {
                return t.terminate().done();
              }
            }
            return t.ignored();
          default: return t.ignored();
        }
      },
      in);
}

// ---- INVITE server: RFC 3261 17.2.1, RFC 6026 7.1 ----

Step inviteServer(Transition t, const Input& in) {
  const State& s = t.state();
  const TimerConfig& tc = t.timers();
  return std::visit(
      [&](const auto& v) -> Step {
        using T = std::decay_t<decltype(v)>;
        switch (s.phase) {
          case Phase::Proceeding:
            if constexpr (std::is_same_v<T, RequestRetransmission>) {
              // Resend the most recent provisional response, if the TU sent one.
              if (s.last_response != 0) {
                return t.act(SendResponse{}).done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TuResponse>) {
              if (!isProvisional(v.status) && !isFinal(v.status)) {
                return t.ignored();  // not a status code: nothing was sent
              }
              t.state().last_response = v.status;
              if (isProvisional(v.status)) {
                return t.act(SendResponse{}).done();
              }
              if (isSuccess(v.status)) {
                // RFC 6026: the TU retransmits 2xx; the transaction waits in Accepted.
                return t.act(SendResponse{})
                    .to(Phase::Accepted)
                    .startTimer(TimerId::L, tc.timerB())
                    .done();
              }
              if (isFinal(v.status)) {
                t.act(SendResponse{}).to(Phase::Completed);
                if (!s.reliable) {
                  t.state().interval = tc.t1;
                  t.startTimer(TimerId::G, tc.t1);
                }
                return t.startTimer(TimerId::H, tc.timerB()).done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TransportError>) {
              return t.act(TransportFailed{}).terminate().done();
            } else {
              return t.ignored();
            }
          case Phase::Completed:
            if constexpr (std::is_same_v<T, RequestRetransmission>) {
              return t.act(SendResponse{}).done();
            } else if constexpr (std::is_same_v<T, AckReceived>) {
              if (!s.reliable) {
                t.stopTimer(TimerId::G);
              }
              t.stopTimer(TimerId::H);
              return t.waitThenTerminate(Phase::Confirmed, TimerId::I, tc.t4).done();
            } else if constexpr (std::is_same_v<T, TimerFired>) {
              if (v.id == TimerId::G && !s.reliable) {
                t.state().interval = std::min(s.interval * 2, tc.t2);
                return t.act(SendResponse{}).startTimer(TimerId::G, t.state().interval).done();
              }
              if (v.id == TimerId::H) {
                // No ACK ever came (17.2.1): the TU is told, the transaction ends.
                return t.act(Timeout{}).terminate().done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TransportError>) {
              return t.act(TransportFailed{}).terminate().done();
            } else {
              return t.ignored();
            }
          case Phase::Confirmed:
            // Further ACKs are absorbed until timer I.
            if constexpr (std::is_same_v<T, TimerFired>) {
              if (v.id == TimerId::I) {
                return t.terminate().done();
              }
            }
            return t.ignored();
          case Phase::Accepted:
            // RFC 6026 7.1: request retransmissions absorbed, ACKs passed to the TU, 2xx
            // retransmissions from the TU sent.
            if constexpr (std::is_same_v<T, AckReceived>) {
              return t.act(PassAck{}).done();
            } else if constexpr (std::is_same_v<T, TuResponse>) {
              if (isSuccess(v.status)) {
                t.state().last_response = v.status;
                return t.act(SendResponse{}).done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TimerFired>) {
              if (v.id == TimerId::L) {
                return t.terminate().done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TransportError>) {
              return t.act(TransportFailed{}).done();
            } else {
              return t.ignored();
            }
          default: return t.ignored();
        }
      },
      in);
}

// ---- non-INVITE server: RFC 3261 17.2.2 ----

Step nonInviteServer(Transition t, const Input& in) {
  const State& s = t.state();
  const TimerConfig& tc = t.timers();
  return std::visit(
      [&](const auto& v) -> Step {
        using T = std::decay_t<decltype(v)>;
        switch (s.phase) {
          case Phase::Trying:
          case Phase::Proceeding:
            if constexpr (std::is_same_v<T, RequestRetransmission>) {
              // Trying absorbs; Proceeding resends the last provisional response.
              if (s.phase == Phase::Proceeding) {
                return t.act(SendResponse{}).done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TuResponse>) {
              if (!isProvisional(v.status) && !isFinal(v.status)) {
                return t.ignored();  // not a status code: nothing was sent
              }
              t.state().last_response = v.status;
              if (isProvisional(v.status)) {
                return t.to(Phase::Proceeding).act(SendResponse{}).done();
              }
              if (isFinal(v.status)) {
                t.act(SendResponse{});
                return t.waitThenTerminate(Phase::Completed, TimerId::J, tc.timerB()).done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TransportError>) {
              return t.act(TransportFailed{}).terminate().done();
            } else {
              return t.ignored();
            }
          case Phase::Completed:
            // Retransmitted requests get the final response again; later TU responses are
            // discarded (17.2.2).
            if constexpr (std::is_same_v<T, RequestRetransmission>) {
              return t.act(SendResponse{}).done();
            } else if constexpr (std::is_same_v<T, TimerFired>) {
              if (v.id == TimerId::J) {
                return t.terminate().done();
              }
              return t.ignored();
            } else if constexpr (std::is_same_v<T, TransportError>) {
              return t.terminate().done();
            } else {
              return t.ignored();
            }
          default: return t.ignored();
        }
      },
      in);
}

}  // namespace

Step start(Machine machine, bool reliable, const TimerConfig& timers, bool proxy_timer_c) {
  State s;
  s.machine = machine;
  s.reliable = reliable;
  s.proxy_timer_c = proxy_timer_c && machine == Machine::InviteClient;
  Transition t(s, timers);
  switch (machine) {
    case Machine::InviteClient:
      // 17.1.1.2: send the INVITE; timer A (unreliable), timer B, and timer C for proxies.
      t.to(Phase::Calling).act(SendRequest{});
      if (!reliable) {
        t.state().interval = timers.t1;
        t.startTimer(TimerId::A, timers.t1);
      }
      t.startTimer(TimerId::B, timers.timerB());
      if (s.proxy_timer_c) {
        t.startTimer(TimerId::C, timers.timer_c);
      }
      return t.done();
    case Machine::NonInviteClient:
      // 17.1.2.2: timer E (unreliable) and timer F.
      t.to(Phase::Trying).act(SendRequest{});
      if (!reliable) {
        t.state().interval = timers.t1;
        t.startTimer(TimerId::E, timers.t1);
      }
      return t.startTimer(TimerId::F, timers.timerB()).done();
    case Machine::InviteServer: return t.to(Phase::Proceeding).done();
    case Machine::NonInviteServer: return t.to(Phase::Trying).done();
  }
  return t.done();
}

Step step(const State& state, const Input& input, const TimerConfig& timers) {
  Transition t(state, timers);
  if (state.phase == Phase::Terminated) {
    return t.ignored();
  }
  switch (state.machine) {
    case Machine::InviteClient: return inviteClient(t, input);
    case Machine::NonInviteClient: return nonInviteClient(t, input);
    case Machine::InviteServer: return inviteServer(t, input);
    case Machine::NonInviteServer: return nonInviteServer(t, input);
  }
  return t.ignored();
}

std::string_view machineName(Machine m) {
  switch (m) {
    case Machine::InviteClient: return "invite-client";
    case Machine::NonInviteClient: return "non-invite-client";
    case Machine::InviteServer: return "invite-server";
    case Machine::NonInviteServer: return "non-invite-server";
  }
  return "?";
}

std::string_view phaseName(Phase p) {
  switch (p) {
    case Phase::Calling: return "Calling";
    case Phase::Trying: return "Trying";
    case Phase::Proceeding: return "Proceeding";
    case Phase::Completed: return "Completed";
    case Phase::Confirmed: return "Confirmed";
    case Phase::Accepted: return "Accepted";
    case Phase::Terminated: return "Terminated";
  }
  return "?";
}

char timerName(TimerId t) {
  return static_cast<char>('A' + static_cast<int>(t));
}

}  // namespace sipedge::txn
