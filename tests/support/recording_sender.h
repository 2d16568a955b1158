#pragma once

// A transport::Sender that records every send (destination and bytes, parsed back for assertions)
// instead of sending. Switches make the next send fail at once, or succeed and fail later through
// its error callback when the test says so (never from inside send(), as the interface promises).

#include <gtest/gtest.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sipedge/base/time.h"
#include "sipedge/sip/message.h"
#include "sipedge/transport/sender.h"

namespace sipedge::testing {

class RecordingSender final : public transport::Sender {
 public:
  struct Sent {
    std::size_t index = 0;  // 0 for the first send() call that succeeded, and so on
    transport::Destination destination;
    std::string bytes;
    std::optional<sip::Message> parsed;  // nullopt when the bytes do not parse
    MonoTime at{};                       // the clock's reading (with a clock)

    const sip::Message& message() const {
      EXPECT_TRUE(parsed.has_value()) << "sent bytes do not parse:\n" << bytes;
      return *parsed;
    }
    // "ACK sip:bob@example.com SIP/2.0", "SIP/2.0 200 OK".
    std::string startLine() const { return bytes.substr(0, bytes.find("\r\n")); }
  };

  // With a clock, each send records the time it happened at.
  explicit RecordingSender(const Clock* clock = nullptr) : clock_(clock) {}

  // ---- switches ----
  void failNextSend(transport::SendError error) { fail_now_ = std::move(error); }
  void failNextSendLater(transport::SendError error) { fail_later_ = std::move(error); }
  // Reports the errors armed by failNextSendLater through the callbacks of their sends; returns
  // how many were reported.
  std::size_t reportAsyncErrors() {
    std::vector<std::pair<std::size_t, transport::SendError>> due;
    due.swap(async_errors_);
    for (auto& [index, error] : due) {
      reportError(index, error);
    }
    return due.size();
  }
  // Reports `error` through the callback of send number `index`, at most once per send.
  void reportError(std::size_t index, const transport::SendError& error) {
    ASSERT_LT(index, callbacks_.size());
    ErrorCallback callback = std::move(callbacks_[index]);
    callbacks_[index] = nullptr;
    if (callback) {
      callback(error);
    }
  }
  // The advertised address viaFor() returns; its transport is the destination's.
  transport::ViaAddress via_address{"192.0.2.10", 5060, transport::Transport::Udp};
  bool via_fails = false;

  // ---- what was sent ----
  std::size_t pending() const { return queue_.size(); }  // recorded and not yet taken
  Sent take() {
    if (queue_.empty()) {
      ADD_FAILURE() << "nothing was sent";
      return Sent{};
    }
    Sent s = std::move(queue_.front());
    queue_.pop_front();
    return s;
  }
  const std::deque<Sent>& queued() const { return queue_; }
  std::size_t sendCalls() const { return send_calls_; }
  std::size_t failedSends() const { return failed_sends_; }

  // ---- transport::Sender ----
  [[nodiscard]] Result<transport::ViaAddress, transport::SendError> viaFor(
      const transport::Destination& destination) override {
    if (via_fails) {
      return fail(transport::SendError{transport::SendError::Kind::NoListener, "fake"});
    }
    transport::ViaAddress v = via_address;
    v.transport = destination.endpoint.transport;
    return v;
  }

  [[nodiscard]] Result<void, transport::SendError> send(const transport::Destination& destination,
                                                        std::string bytes,
                                                        ErrorCallback on_error) override {
    ++send_calls_;
    if (fail_now_) {
      transport::SendError error = std::move(*fail_now_);
      fail_now_.reset();
      ++failed_sends_;
      return fail(std::move(error));
    }
    Sent s;
    s.index = callbacks_.size();
    s.destination = destination;
    s.bytes = std::move(bytes);
    if (auto m = sip::parseMessage(s.bytes); m) {
      s.parsed.emplace(std::move(*m));
    }
    s.at = clock_ != nullptr ? clock_->now() : MonoTime{};
    if (fail_later_) {
      async_errors_.emplace_back(s.index, std::move(*fail_later_));
      fail_later_.reset();
    }
    callbacks_.push_back(std::move(on_error));
    queue_.push_back(std::move(s));
    return {};
  }

 private:
  const Clock* clock_;
  std::optional<transport::SendError> fail_now_;
  std::optional<transport::SendError> fail_later_;
  std::vector<std::pair<std::size_t, transport::SendError>> async_errors_;
  std::vector<ErrorCallback> callbacks_;  // by send index
  std::deque<Sent> queue_;
  std::size_t send_calls_ = 0;
  std::size_t failed_sends_ = 0;
};

}  // namespace sipedge::testing
