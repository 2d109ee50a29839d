#pragma once
/// Holds items until the I/O callbacks of the current loop iteration are done (a uv_check
/// handle), then hands them to `send` in chunks of at most `max`; a full chunk goes at once.
/// While items are held the loop does not block in poll (uv_idle), so an item added from a
/// timer's callback does not wait for the next I/O. What several callers produce in one
/// iteration thus leaves together, and nothing waits for a later iteration. With a null loop
/// nothing is scheduled (tests call Flush). Held items are dropped with this object.
/// Thread: loop only.
#include <uv.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <memory>
#include <vector>

#include "lambda/uv/handle.h"

namespace lambda::uv {

template <typename T>
class EndOfTurn {
 public:
  using Send = std::function<void(std::vector<T>)>;
  EndOfTurn(uv_loop_t* loop, size_t max, Send send)
      : max_(std::max<size_t>(max, 1)),
        send_(std::move(send)),
        check_(loop != nullptr ? std::make_unique<Check>(loop) : nullptr),
        no_block_(loop != nullptr ? std::make_unique<NoBlock>(loop) : nullptr) {}

  void Add(T item) {
    held_.push_back(std::move(item));
    if (held_.size() >= max_) return Flush();
    if (check_ && !check_->active()) {
      check_->Start([this] { Flush(); });
      no_block_->Start();
    }
  }

  void Flush() {
    if (check_) {
      check_->Stop();
      no_block_->Stop();
    }
    while (!held_.empty()) {
      size_t n = std::min(held_.size(), max_);
      std::vector<T> chunk(std::make_move_iterator(held_.begin()),
                           std::make_move_iterator(held_.begin() + static_cast<long>(n)));
      held_.erase(held_.begin(), held_.begin() + static_cast<long>(n));
      send_(std::move(chunk));  // may Add again: that is held for the next check
    }
  }

  size_t size() const { return held_.size(); }
  size_t max() const { return max_; }

 private:
  size_t max_;
  Send send_;
  std::vector<T> held_;
  std::unique_ptr<Check> check_;
  std::unique_ptr<NoBlock> no_block_;
};

}  // namespace lambda::uv
