// Scenario tables for the four transaction machines: inject an input, expect the actions and the
// phase it leads to (reSIProcate's style). Timer values are RFC 3261's defaults: T1 = 500 ms,
// T2 = 4 s, T4 = 5 s, 64*T1 = 32 s.

#include <gtest/gtest.h>

#include <sstream>

#include "sipedge/txn/fsm.h"

namespace sipedge::txn {
namespace {

std::string render(const Actions& actions) {
  std::ostringstream out;
  bool first = true;
  for (const Action& a : actions) {
    if (!first) {
      out << ", ";
    }
    first = false;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, SendRequest>) {
            out << "send-request";
          } else if constexpr (std::is_same_v<T, SendAck>) {
            out << "send-ack";
          } else if constexpr (std::is_same_v<T, SendResponse>) {
            out << "send-response";
          } else if constexpr (std::is_same_v<T, StartTimer>) {
            out << "start-" << timerName(v.id) << "(" << v.after.count() << ")";
          } else if constexpr (std::is_same_v<T, StopTimer>) {
            out << "stop-" << timerName(v.id);
          } else if constexpr (std::is_same_v<T, PassResponse>) {
            out << "pass-" << v.status;
          } else if constexpr (std::is_same_v<T, PassAck>) {
            out << "pass-ack";
          } else if constexpr (std::is_same_v<T, Timeout>) {
            out << "timeout";
          } else if constexpr (std::is_same_v<T, TransportFailed>) {
            out << "transport-failed";
          } else if constexpr (std::is_same_v<T, TimerCExpired>) {
            out << "timer-c-expired";
          } else if constexpr (std::is_same_v<T, Terminate>) {
            out << "terminate";
          }
        },
        a);
  }
  return out.str();
}

struct Line {
  Input input;
  std::string actions;  // "" when the input is absorbed
  Phase phase;
};

class Scenario {
 public:
  Scenario(Machine m, bool reliable, std::string start_actions, Phase start_phase,
           bool proxy_timer_c = false, TimerConfig timers = {})
      : timers_(timers) {
    const Step s = start(m, reliable, timers_, proxy_timer_c);
    EXPECT_EQ(render(s.actions), start_actions);
    EXPECT_EQ(s.state.phase, start_phase);
    state_ = s.state;
  }

  void run(const std::vector<Line>& lines) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const Step s = step(state_, lines[i].input, timers_);
      EXPECT_EQ(render(s.actions), lines[i].actions) << "line " << i;
      EXPECT_EQ(phaseName(s.state.phase), phaseName(lines[i].phase)) << "line " << i;
      EXPECT_EQ(s.ignored, lines[i].actions.empty()) << "line " << i;
      state_ = s.state;
    }
  }

 private:
  TimerConfig timers_;
  State state_;
};

TimerFired fire(TimerId id) {
  return TimerFired{id};
}
ResponseReceived response(int status) {
  return ResponseReceived{status};
}
TuResponse tu(int status) {
  return TuResponse{status};
}

// ---- INVITE client (17.1.1) ----

TEST(InviteClientTest, UdpRetransmitsThenTimesOut) {
  Scenario s(Machine::InviteClient, false, "send-request, start-A(500), start-B(32000)",
             Phase::Calling);
  s.run({
      {fire(TimerId::A), "send-request, start-A(1000)", Phase::Calling},
      {fire(TimerId::A), "send-request, start-A(2000)", Phase::Calling},
      {fire(TimerId::A), "send-request, start-A(4000)", Phase::Calling},
      {fire(TimerId::A), "send-request, start-A(8000)", Phase::Calling},  // no T2 cap for INVITE
      {fire(TimerId::A), "send-request, start-A(16000)", Phase::Calling},
      {fire(TimerId::A), "send-request, start-A(32000)", Phase::Calling},
      {fire(TimerId::A), "send-request, start-A(32000)", Phase::Calling},  // bounded by B = 64*T1
      {fire(TimerId::B), "timeout, terminate", Phase::Terminated},
      {response(200), "", Phase::Terminated},
  });
}

TEST(InviteClientTest, ProvisionalStopsRetransmissionsThen2xxIsAccepted) {
  Scenario s(Machine::InviteClient, false, "send-request, start-A(500), start-B(32000)",
             Phase::Calling);
  s.run({
      {response(100), "stop-A, stop-B, pass-100", Phase::Proceeding},
      {response(180), "pass-180", Phase::Proceeding},
      {fire(TimerId::A), "", Phase::Proceeding},  // a stale timer is ignored
      {response(200), "pass-200, start-M(32000)", Phase::Accepted},
      {response(200), "pass-200", Phase::Accepted},  // RFC 6026: retransmitted 2xx to the TU
      {response(486), "", Phase::Accepted},
      {fire(TimerId::M), "terminate", Phase::Terminated},
  });
}

TEST(InviteClientTest, NonSuccessFinalIsAckedAndRetransmissionsAbsorbed) {
  Scenario s(Machine::InviteClient, false, "send-request, start-A(500), start-B(32000)",
             Phase::Calling);
  s.run({
      {response(486), "stop-A, stop-B, send-ack, pass-486, start-D(32000)", Phase::Completed},
      {response(486), "send-ack", Phase::Completed},
      {response(180), "", Phase::Completed},
      {fire(TimerId::D), "terminate", Phase::Terminated},
  });
}

TEST(InviteClientTest, ReliableTransportHasNoTimerAAndNoWaitInCompleted) {
  Scenario s(Machine::InviteClient, true, "send-request, start-B(32000)", Phase::Calling);
  s.run({
      {fire(TimerId::A), "", Phase::Calling},
      {response(503), "stop-B, send-ack, pass-503, terminate", Phase::Terminated},
  });
}

TEST(InviteClientTest, ProxyTimerCResetsOnProvisionalAndExpires) {
  Scenario s(Machine::InviteClient, true, "send-request, start-B(32000), start-C(180000)",
             Phase::Calling, true);
  s.run({
      {response(100), "stop-B, pass-100", Phase::Proceeding},  // 100 does not reset C
      {response(183), "stop-C, start-C(180000), pass-183", Phase::Proceeding},
      {fire(TimerId::C), "timer-c-expired", Phase::Proceeding},
      {response(487), "stop-C, send-ack, pass-487, terminate", Phase::Terminated},
  });
}

TEST(InviteClientTest, TransportErrorIsReportedAndEnds) {
  Scenario s(Machine::InviteClient, false, "send-request, start-A(500), start-B(32000)",
             Phase::Calling);
  s.run({{TransportError{}, "transport-failed, terminate", Phase::Terminated}});
}

// ---- non-INVITE client (17.1.2) ----

TEST(NonInviteClientTest, RetransmissionsCapAtT2AndTimerF) {
  Scenario s(Machine::NonInviteClient, false, "send-request, start-E(500), start-F(32000)",
             Phase::Trying);
  s.run({
      {fire(TimerId::E), "send-request, start-E(1000)", Phase::Trying},
      {fire(TimerId::E), "send-request, start-E(2000)", Phase::Trying},
      {fire(TimerId::E), "send-request, start-E(4000)", Phase::Trying},
      {fire(TimerId::E), "send-request, start-E(4000)", Phase::Trying},
      {response(100), "pass-100", Phase::Proceeding},
      {fire(TimerId::E), "send-request, start-E(4000)", Phase::Proceeding},
      {fire(TimerId::F), "timeout, terminate", Phase::Terminated},
  });
}

TEST(NonInviteClientTest, FinalResponseWaitsTimerK) {
  Scenario s(Machine::NonInviteClient, false, "send-request, start-E(500), start-F(32000)",
             Phase::Trying);
  s.run({
      {response(200), "stop-E, stop-F, pass-200, start-K(5000)", Phase::Completed},
      {response(200), "", Phase::Completed},
      {fire(TimerId::K), "terminate", Phase::Terminated},
  });
}

TEST(NonInviteClientTest, ReliableFinalTerminatesAtOnce) {
  Scenario s(Machine::NonInviteClient, true, "send-request, start-F(32000)", Phase::Trying);
  s.run({
      {fire(TimerId::E), "", Phase::Trying},
      {response(404), "stop-F, pass-404, terminate", Phase::Terminated},
  });
}

// ---- INVITE server (17.2.1) ----

TEST(InviteServerTest, NonSuccessFinalRetransmitsUntilAck) {
  Scenario s(Machine::InviteServer, false, "", Phase::Proceeding);
  s.run({
      {RequestRetransmission{}, "", Phase::Proceeding},  // nothing sent yet
      {tu(100), "send-response", Phase::Proceeding},
      {RequestRetransmission{}, "send-response", Phase::Proceeding},
      {tu(486), "send-response, start-G(500), start-H(32000)", Phase::Completed},
      {fire(TimerId::G), "send-response, start-G(1000)", Phase::Completed},
      {fire(TimerId::G), "send-response, start-G(2000)", Phase::Completed},
      {fire(TimerId::G), "send-response, start-G(4000)", Phase::Completed},
      {fire(TimerId::G), "send-response, start-G(4000)", Phase::Completed},
      {RequestRetransmission{}, "send-response", Phase::Completed},
      {AckReceived{}, "stop-G, stop-H, start-I(5000)", Phase::Confirmed},
      {AckReceived{}, "", Phase::Confirmed},
      {fire(TimerId::I), "terminate", Phase::Terminated},
  });
}

TEST(InviteServerTest, NoAckTimesOutWithTimerH) {
  Scenario s(Machine::InviteServer, true, "", Phase::Proceeding);
  s.run({
      {tu(603), "send-response, start-H(32000)", Phase::Completed},
      {fire(TimerId::G), "", Phase::Completed},
      {fire(TimerId::H), "timeout, terminate", Phase::Terminated},
  });
}

TEST(InviteServerTest, SuccessGoesToAcceptedPerRfc6026) {
  Scenario s(Machine::InviteServer, false, "", Phase::Proceeding);
  s.run({
      {tu(180), "send-response", Phase::Proceeding},
      {tu(200), "send-response, start-L(32000)", Phase::Accepted},
      {RequestRetransmission{}, "", Phase::Accepted},  // absorbed
      {tu(200), "send-response", Phase::Accepted},     // the TU's 2xx retransmission
      {AckReceived{}, "pass-ack", Phase::Accepted},
      {tu(486), "", Phase::Accepted},
      {fire(TimerId::L), "terminate", Phase::Terminated},
  });
}

TEST(InviteServerTest, ReliableAckTerminatesAtOnce) {
  Scenario s(Machine::InviteServer, true, "", Phase::Proceeding);
  s.run({
      {tu(404), "send-response, start-H(32000)", Phase::Completed},
      {AckReceived{}, "stop-H, terminate", Phase::Terminated},
  });
}

// ---- non-INVITE server (17.2.2) ----

TEST(NonInviteServerTest, TryingProceedingCompleted) {
  Scenario s(Machine::NonInviteServer, false, "", Phase::Trying);
  s.run({
      {RequestRetransmission{}, "", Phase::Trying},  // absorbed in Trying
      {tu(100), "send-response", Phase::Proceeding},
      {RequestRetransmission{}, "send-response", Phase::Proceeding},
      {tu(200), "send-response, start-J(32000)", Phase::Completed},
      {tu(500), "", Phase::Completed},  // later TU responses are discarded
      {RequestRetransmission{}, "send-response", Phase::Completed},
      {fire(TimerId::J), "terminate", Phase::Terminated},
  });
}

// [txn] wait_timer: J, L and M wait what the operator set; B, F, H and the retransmission caps
// stay 64*T1.
TEST(WaitTimerTest, ShortensJLMOnly) {
  TimerConfig timers;
  timers.wait = Duration{5000};
  Scenario j(Machine::NonInviteServer, false, "", Phase::Trying, false, timers);
  j.run({{tu(200), "send-response, start-J(5000)", Phase::Completed}});
  Scenario l(Machine::InviteServer, false, "", Phase::Proceeding, false, timers);
  l.run({{tu(200), "send-response, start-L(5000)", Phase::Accepted}});
  Scenario h(Machine::InviteServer, false, "", Phase::Proceeding, false, timers);
  h.run({{tu(486), "send-response, start-G(500), start-H(32000)", Phase::Completed}});
  Scenario m(Machine::InviteClient, false, "send-request, start-A(500), start-B(32000)",
             Phase::Calling, false, timers);
  m.run({{response(200), "stop-A, stop-B, pass-200, start-M(5000)", Phase::Accepted}});
  Scenario f(Machine::NonInviteClient, false, "send-request, start-E(500), start-F(32000)",
             Phase::Trying, false, timers);
  f.run({{response(200), "stop-E, stop-F, pass-200, start-K(5000)", Phase::Completed}});
}

TEST(NonInviteServerTest, ReliableFinalTerminatesAtOnce) {
  Scenario s(Machine::NonInviteServer, true, "", Phase::Trying);
  s.run({{tu(202), "send-response, terminate", Phase::Terminated}});
}

TEST(NonInviteServerTest, TransportErrorWhileProceeding) {
  Scenario s(Machine::NonInviteServer, false, "", Phase::Trying);
  s.run({
      {tu(180), "send-response", Phase::Proceeding},
      {TransportError{}, "transport-failed, terminate", Phase::Terminated},
  });
}

TEST(TimerConfigTest, ConfiguredT1T2T4AreUsed) {
  TimerConfig t;
  t.t1 = Duration(100);
  t.t2 = Duration(300);
  const Step s0 = start(Machine::NonInviteClient, false, t);
  EXPECT_EQ(render(s0.actions), "send-request, start-E(100), start-F(6400)");
  const Step s1 = step(s0.state, TimerFired{TimerId::E}, t);
  const Step s2 = step(s1.state, TimerFired{TimerId::E}, t);
  EXPECT_EQ(render(s2.actions), "send-request, start-E(300)");
}

TEST(FsmTest, InputsForAnotherRoleAreIgnored) {
  TimerConfig t;
  const Step client = start(Machine::NonInviteClient, false, t);
  EXPECT_TRUE(step(client.state, TuResponse{200}, t).ignored);
  EXPECT_TRUE(step(client.state, AckReceived{}, t).ignored);
  const Step server = start(Machine::InviteServer, false, t);
  EXPECT_TRUE(step(server.state, ResponseReceived{200}, t).ignored);
  EXPECT_TRUE(step(server.state, TuResponse{99}, t).ignored);
  EXPECT_TRUE(step(server.state, TuResponse{700}, t).ignored);
}

}  // namespace
}  // namespace sipedge::txn

namespace sipedge::txn {
namespace {

// Found by txn_fsm_fuzz (fuzz/corpus/txn_fsm/regress-invalid-tu-status-changed-state): an
// ignored TU response with no valid status still recorded itself as the last response sent.
TEST(FsmTest, IgnoredTuResponseLeavesTheStateAlone) {
  TimerConfig t;
  for (Machine m : {Machine::InviteServer, Machine::NonInviteServer}) {
    const Step s0 = start(m, false, t);
    const Step s1 = step(s0.state, TuResponse{99}, t);
    EXPECT_TRUE(s1.ignored);
    EXPECT_EQ(s1.state, s0.state) << machineName(m);
    // ...so a retransmitted request still finds no response to resend.
    EXPECT_FALSE(step(s1.state, RequestRetransmission{}, t).actions.size() > 0 &&
                 m == Machine::InviteServer);
  }
}

}  // namespace
}  // namespace sipedge::txn
