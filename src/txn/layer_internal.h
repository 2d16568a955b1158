#pragma once

// What layer.cc and layer_client.cc share: the layer's nested bookkeeping types and a few helpers.
// Private to src/txn.

#include <optional>

#include "messages.h"
#include "sipedge/txn/layer.h"
#include "transaction.h"

namespace sipedge::txn {

inline bool beforeFinal(const State& s) {
  return s.phase == Phase::Calling || s.phase == Phase::Trying || s.phase == Phase::Proceeding;
}

inline transport::Sender::ErrorCallback ignoreError() {
  return [](const transport::SendError&) {};
}

// What a step asked of the layer beyond sends and timers, for the caller to report once the
// transaction is up to date.
struct Layer::Effects {
  bool ignored = false;
  bool pass_response = false;
  bool pass_ack = false;
  bool timeout = false;
  bool transport_failed = false;
  bool timer_c = false;
  bool terminated = false;
  bool send_failed = false;
  std::optional<transport::SendError> send_error;
};

// A user notification that waits until the user's call has returned.
struct Layer::Note {
  std::uint64_t id = 0;
  std::optional<ClientResponse> response;  // client; otherwise a server failure
  ServerFailure failure = ServerFailure::NoAck;
};

// Every way into the layer goes through one Entry. When the outermost one ends, transactions that
// ended are freed, unless it is a transaction timer's callback: that timer must not be destroyed
// inside its own callback, so the freeing waits for the deferred timer.
class Layer::Entry {
 public:
  Entry(Layer& layer, EntryKind kind) : layer_(layer), kind_(kind) {
    if (layer_.depth_++ == 0) {
      layer_.outermost_ = kind;
    }
    if (kind_ == EntryKind::Api) {
      ++layer_.api_depth_;
    }
  }
  ~Entry() {
    if (kind_ == EntryKind::Api) {
      --layer_.api_depth_;
    }
    if (--layer_.depth_ == 0) {
      layer_.afterDispatch();
    }
  }
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

 private:
  Layer& layer_;
  EntryKind kind_;
};

}  // namespace sipedge::txn
