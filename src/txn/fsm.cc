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

// Each machine is a set of handlers, one per input it understands; whatever has no handler of
// its own is ignored by the catch-all below. Each handler switches on the phase.
struct InviteClient {};
struct NonInviteClient {};
struct InviteServer {};
struct NonInviteServer {};

template <class Machine, class In>
Step on(Machine, Transition& t, const In&) {
  return t.ignored();
}

// ---- INVITE client: RFC 3261 17.1.1.2, RFC 6026 7.2 ----

Step inviteClientFinal(Transition& t, int status) {
  const State s = t.state();
  const TimerConfig& tc = t.timers();
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
    // RFC 6026: 2xx retransmissions go to the TU until timer M.
    t.act(PassResponse{status});
    return t.to(Phase::Accepted).startTimer(TimerId::M, tc.waitTimer()).done();
  }
  // 17.1.1.2: ACK the non-2xx final response, pass it up, wait timer D for retransmissions.
  t.act(SendAck{}).act(PassResponse{status});
  return t.waitThenTerminate(Phase::Completed, TimerId::D, tc.timer_d).done();
}

Step on(InviteClient, Transition& t, const ResponseReceived& r) {
  const State s = t.state();
  switch (s.phase) {
    case Phase::Calling:
    case Phase::Proceeding:
      if (isProvisional(r.status)) {
        if (s.phase == Phase::Calling) {
          // No more retransmissions once a provisional response arrived.
          if (!s.reliable) {
            t.stopTimer(TimerId::A);
          }
          t.stopTimer(TimerId::B).to(Phase::Proceeding);
        }
        // 16.7 step 2: a provisional response other than 100 resets timer C.
        if (s.proxy_timer_c && r.status > 100) {
          t.stopTimer(TimerId::C).startTimer(TimerId::C, t.timers().timer_c);
        }
        return t.act(PassResponse{r.status}).done();
      }
      return isFinal(r.status) ? inviteClientFinal(t, r.status) : t.ignored();
    case Phase::Completed:
      // Retransmitted final responses are ACKed again, not passed up.
      if (isFinal(r.status) && !isSuccess(r.status)) {
        return t.act(SendAck{}).done();
      }
      return t.ignored();
    case Phase::Accepted:
      // RFC 6026 7.2: 2xx retransmissions are passed to the TU (it ACKs them).
      return isSuccess(r.status) ? t.act(PassResponse{r.status}).done() : t.ignored();
    default: return t.ignored();
  }
}

Step on(InviteClient, Transition& t, const TimerFired& f) {
  const State s = t.state();
  switch (s.phase) {
    case Phase::Calling:
      if (f.id == TimerId::A && !s.reliable) {
        // 17.1.1.2: retransmit, doubling the interval (no T2 cap for INVITE). Timer B ends the
        // transaction at 64*T1, so capping there changes nothing and keeps the interval bounded
        // whatever order a layer fires timers in.
        t.state().interval = std::min(s.interval * 2, t.timers().timerB());
        return t.act(SendRequest{}).startTimer(TimerId::A, t.state().interval).done();
      }
      if (f.id == TimerId::B) {
        return t.act(Timeout{}).terminate().done();
      }
      [[fallthrough]];
    case Phase::Proceeding:
      if (f.id == TimerId::C && s.proxy_timer_c) {
        return t.act(TimerCExpired{}).done();
      }
      return t.ignored();
    case Phase::Completed: return f.id == TimerId::D ? t.terminate().done() : t.ignored();
    case Phase::Accepted: return f.id == TimerId::M ? t.terminate().done() : t.ignored();
    default: return t.ignored();
  }
}

Step on(InviteClient, Transition& t, const TransportError&) {
  // 17.1.4: reported to the TU as 503. In Accepted the TU owns the 2xx exchange.
  return t.state().phase == Phase::Accepted ? t.ignored()
                                            : t.act(TransportFailed{}).terminate().done();
}

// ---- non-INVITE client: RFC 3261 17.1.2.2 ----

Step on(NonInviteClient, Transition& t, const ResponseReceived& r) {
  const State s = t.state();
  if (s.phase != Phase::Trying && s.phase != Phase::Proceeding) {
    return t.ignored();  // Completed absorbs retransmitted responses until timer K
  }
  if (isProvisional(r.status)) {
    return t.to(Phase::Proceeding).act(PassResponse{r.status}).done();
  }
  if (!isFinal(r.status)) {
    return t.ignored();
  }
  if (!s.reliable) {
    t.stopTimer(TimerId::E);
  }
  t.stopTimer(TimerId::F).act(PassResponse{r.status});
  return t.waitThenTerminate(Phase::Completed, TimerId::K, t.timers().t4).done();
}

Step on(NonInviteClient, Transition& t, const TimerFired& f) {
  const State s = t.state();
  const TimerConfig& tc = t.timers();
  if (s.phase == Phase::Completed) {
    return f.id == TimerId::K ? t.terminate().done() : t.ignored();
  }
  if (f.id == TimerId::E && !s.reliable) {
    // Trying: double up to T2; Proceeding: every T2.
    t.state().interval = s.phase == Phase::Trying ? std::min(s.interval * 2, tc.t2) : tc.t2;
    return t.act(SendRequest{}).startTimer(TimerId::E, t.state().interval).done();
  }
  if (f.id == TimerId::F) {
    return t.act(Timeout{}).terminate().done();
  }
  return t.ignored();
}

Step on(NonInviteClient, Transition& t, const TransportError&) {
  return t.state().phase == Phase::Completed ? t.ignored()
                                             : t.act(TransportFailed{}).terminate().done();
}

// ---- INVITE server: RFC 3261 17.2.1, RFC 6026 7.1 ----

Step on(InviteServer, Transition& t, const RequestRetransmission&) {
  switch (t.state().phase) {
    case Phase::Proceeding:
      // Resend the most recent provisional response, if the TU sent one.
      return t.state().last_response != 0 ? t.act(SendResponse{}).done() : t.ignored();
    case Phase::Completed: return t.act(SendResponse{}).done();
    default: return t.ignored();  // Confirmed and Accepted absorb them
  }
}

Step on(InviteServer, Transition& t, const TuResponse& r) {
  const State s = t.state();
  if (!isProvisional(r.status) && !isFinal(r.status)) {
    return t.ignored();  // not a status code: nothing was sent
  }
  if (s.phase == Phase::Accepted) {
    // RFC 6026 7.1: the TU's 2xx retransmissions are sent; nothing else is.
    if (!isSuccess(r.status)) {
      return t.ignored();
    }
    t.state().last_response = r.status;
    return t.act(SendResponse{}).done();
  }
  if (s.phase != Phase::Proceeding) {
    return t.ignored();
  }
  t.state().last_response = r.status;
  t.act(SendResponse{});
  if (isProvisional(r.status)) {
    return t.done();
  }
  if (isSuccess(r.status)) {
    // RFC 6026: the TU retransmits 2xx; the transaction waits in Accepted.
    return t.to(Phase::Accepted).startTimer(TimerId::L, t.timers().waitTimer()).done();
  }
  t.to(Phase::Completed);
  if (!s.reliable) {
    t.state().interval = t.timers().t1;
    t.startTimer(TimerId::G, t.timers().t1);
  }
  return t.startTimer(TimerId::H, t.timers().timerB()).done();
}

Step on(InviteServer, Transition& t, const AckReceived&) {
  const State s = t.state();
  switch (s.phase) {
    case Phase::Completed:
      if (!s.reliable) {
        t.stopTimer(TimerId::G);
      }
      t.stopTimer(TimerId::H);
      return t.waitThenTerminate(Phase::Confirmed, TimerId::I, t.timers().t4).done();
    case Phase::Accepted: return t.act(PassAck{}).done();  // RFC 6026: the ACK goes to the TU
    default: return t.ignored();                           // Confirmed absorbs further ACKs
  }
}

Step on(InviteServer, Transition& t, const TimerFired& f) {
  const State s = t.state();
  switch (s.phase) {
    case Phase::Completed:
      if (f.id == TimerId::G && !s.reliable) {
        t.state().interval = std::min(s.interval * 2, t.timers().t2);
        return t.act(SendResponse{}).startTimer(TimerId::G, t.state().interval).done();
      }
      if (f.id == TimerId::H) {
        // No ACK ever came (17.2.1): the TU is told, the transaction ends.
        return t.act(Timeout{}).terminate().done();
      }
      return t.ignored();
    case Phase::Confirmed: return f.id == TimerId::I ? t.terminate().done() : t.ignored();
    case Phase::Accepted: return f.id == TimerId::L ? t.terminate().done() : t.ignored();
    default: return t.ignored();
  }
}

Step on(InviteServer, Transition& t, const TransportError&) {
  switch (t.state().phase) {
    case Phase::Proceeding:
    case Phase::Completed: return t.act(TransportFailed{}).terminate().done();
    case Phase::Accepted: return t.act(TransportFailed{}).done();  // timer L still ends it
    default: return t.ignored();
  }
}

// ---- non-INVITE server: RFC 3261 17.2.2 ----

Step on(NonInviteServer, Transition& t, const RequestRetransmission&) {
  // Trying absorbs; Proceeding and Completed resend the last response.
  return t.state().phase == Phase::Trying ? t.ignored() : t.act(SendResponse{}).done();
}

Step on(NonInviteServer, Transition& t, const TuResponse& r) {
  const State s = t.state();
  if (s.phase == Phase::Completed || (!isProvisional(r.status) && !isFinal(r.status))) {
    return t.ignored();  // later responses are discarded (17.2.2); non-statuses too
  }
  t.state().last_response = r.status;
  if (isProvisional(r.status)) {
    return t.to(Phase::Proceeding).act(SendResponse{}).done();
  }
  t.act(SendResponse{});
  return t.waitThenTerminate(Phase::Completed, TimerId::J, t.timers().waitTimer()).done();
}

Step on(NonInviteServer, Transition& t, const TimerFired& f) {
  return t.state().phase == Phase::Completed && f.id == TimerId::J ? t.terminate().done()
                                                                   : t.ignored();
}

Step on(NonInviteServer, Transition& t, const TransportError&) {
  if (t.state().phase == Phase::Completed) {
    return t.terminate().done();
  }
  return t.act(TransportFailed{}).terminate().done();
}

template <class Machine>
Step dispatch(Machine m, Transition t, const Input& in) {
  return std::visit([&](const auto& v) { return on(m, t, v); }, in);
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
    case Machine::InviteClient: return dispatch(InviteClient{}, t, input);
    case Machine::NonInviteClient: return dispatch(NonInviteClient{}, t, input);
    case Machine::InviteServer: return dispatch(InviteServer{}, t, input);
    case Machine::NonInviteServer: return dispatch(NonInviteServer{}, t, input);
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
