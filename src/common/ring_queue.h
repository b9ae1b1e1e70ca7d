// A FIFO on a power-of-two ring that only allocates when it grows, so steady-state push/pop
// never touches the heap (std::deque allocates and frees blocks as it cycles).
// Externally synchronized.
#pragma once

#include <cstddef>
#include <vector>

namespace mooncake {

template <typename T>
class RingQueue {
 public:
  explicit RingQueue(size_t initial_capacity = 64) : items_(roundUp(initial_capacity)) {}

  bool empty() const { return head_ == tail_; }
  size_t size() const { return tail_ - head_; }

  void push(const T& value) {
    if (size() == items_.size()) grow();
    items_[tail_++ & (items_.size() - 1)] = value;
  }
  T& front() { return items_[head_ & (items_.size() - 1)]; }
  T& at(size_t i) { return items_[(head_ + i) & (items_.size() - 1)]; }  // i < size(), from front
  T pop() { return items_[head_++ & (items_.size() - 1)]; }

 private:
  static size_t roundUp(size_t n) {
    size_t capacity = 1;
    while (capacity < n) capacity <<= 1;
    return capacity;
  }
  void grow() {
    std::vector<T> bigger(items_.size() * 2);
    size_t count = size();
    for (size_t i = 0; i < count; ++i) bigger[i] = items_[(head_ + i) & (items_.size() - 1)];
    items_.swap(bigger);
    head_ = 0;
    tail_ = count;
  }

  std::vector<T> items_;
  size_t head_ = 0;  // monotonically increasing; index = head_ & (capacity - 1)
  size_t tail_ = 0;
};

}  // namespace mooncake
