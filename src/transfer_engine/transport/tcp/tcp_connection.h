// One initiator-side TCP connection ("lane") to a peer's data port. A sender thread connects,
// then writes queued slices (header, plus payload for WRITE) in batches with one sendmsg; a
// small push onto an idle connection is sent by the pushing thread itself, which saves the
// hand-off (a wake-up on each side of it) that dominates a 4 KiB transfer.
//
// Replies come back in request order and are read by one reader at a time: the receiver
// thread, or a thread waiting for a drivable slice it pushed (drive()), which then reads the
// socket itself and saves the receiver's wake-up and its hand-off to the waiter. The receiver
// thread reads only when asked to (slices nobody will drive, or a driver leaving replies
// behind), so it does not wake for replies a waiter is reading. READ payloads land straight in
// the slice's local memory.
//
// On any socket error or a stall longer than the status timeout the connection dies: every
// slice it still holds completes with ERR_SOCKET (the engine retries them on a new connection)
// and push() refuses further slices.
//
// Thread-safe. The destructor shuts the socket down, joins both threads and waits for drivers.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/auth/secret.h"
#include "common/net/socket.h"
#include "common/ring_queue.h"
#include "transfer_engine/transport/tcp/tcp_wire.h"
#include "transfer_engine/transport/transport.h"

namespace mooncake::te {

class TcpConnection {
 public:
  struct Settings {
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds stall_timeout{30000};
    auth::SecretRef secret;  // proves it on connect (tcp::kAuthLabel); null: no authentication
    bool padded = false;     // the peer reads payload pads (tcp_proto_version 3, tcp_wire.h)
  };

  TcpConnection(net::HostPort peer, Settings settings, SliceCompletion& sink);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // Queues slices; false (nothing queued) once the connection is dead. Never completes a
  // slice itself (the caller may hold locks its completion path takes).
  bool push(Slice* const* slices, size_t count);
  bool dead() const { return dead_.load(); }
  // The connect itself failed because nothing answered (refused, unreachable, timed out).
  bool peerDown() const { return peer_down_.load(); }
  // Kills the connection now: every slice it holds completes with `cause` (ERR_SOCKET: the
  // engine retries those it still wants), even while connecting.
  void abort(const Status& cause) { fail(cause); }
  // Connected, alive, and nothing queued, in flight or being read.
  bool idle();
  // Reads replies until done() or `until` (see Transport::drive). The caller must hold a pin.
  bool drive(std::chrono::steady_clock::time_point until, const std::function<bool()>& done);
  // A pinned connection is not drained; the owner pins under the lock it destroys lanes with.
  void pin() { drivers_.fetch_add(1); }
  void unpin() { drivers_.fetch_sub(1); }
  // True once both threads have exited and nobody drives (destroying it will not wait).
  bool drained() const { return threads_exited_.load() == 2 && drivers_.load() == 0; }

 private:
  enum class Reader { kNone, kThread, kCaller };
  enum class Await { kReady, kIdle, kTimeout, kDead };
  void sendLoop();
  void receiveLoop();
  static constexpr size_t kMaxSlicesPerSend = 32;
  // What one sendmsg writes: a header per slice, then the pad and payload of each WRITE.
  struct OutgoingFrames {
    tcp::RequestHeader headers[kMaxSlicesPerSend];
    struct iovec iov[3 * kMaxSlicesPerSend];
    int iov_count = 0;
  };
  // Requires mutex_: moves up to kMaxSlicesPerSend slices from to_send_ to in_flight_ and
  // describes their frames. Returns how many.
  size_t takeBatch(OutgoingFrames& out);
  // Waits until the socket is readable with a reply pending (kReady), nothing is left to read
  // (kIdle; the receiver thread then resigns as reader under the same lock), `until` passed
  // (kTimeout) or the connection died (kDead). `look`: poll without sleeping (yielding) for a
  // few tens of microseconds first.
  Await awaitReply(Reader role, std::chrono::steady_clock::time_point until, bool look);
  // Reads the oldest pending reply and completes its slice; false once the connection died.
  bool readOne();
  // After readOne: takes every whole reply that has already arrived behind it with one recvmsg
  // (a batch's replies otherwise cost a poll and a recv each). False once the connection died.
  bool takeArrived();
  static constexpr size_t kMaxRepliesPerRecv = 32;
  // Marks the connection dead and fails every slice still queued or in flight.
  // `report` logs the cause (off for a local shutdown, which is not news).
  void fail(const Status& cause, bool report = true);
  Status receiveReply(Slice* slice);

  const net::HostPort peer_;
  const Settings settings_;
  SliceCompletion& sink_;
  net::UniqueFd fd_;                 // written by the sender before `connected_`, then read-only
  char pad_sink_[tcp::kMaxPad + 1];  // READ reply pads land here; used by the one reader

  std::mutex mutex_;
  std::condition_variable sender_cv_;    // work for the sender, or death
  std::condition_variable receiver_cv_;  // reading for the receiver thread, or death
  RingQueue<Slice*> to_send_;            // GUARDED_BY(mutex_)
  RingQueue<Slice*> in_flight_;          // sent (or being sent), reply pending; GUARDED_BY(mutex_)
  bool connected_ = false;               // GUARDED_BY(mutex_)
  bool sending_ = false;                 // a thread is writing to the socket; GUARDED_BY(mutex_)
  Reader reader_ = Reader::kNone;        // who reads replies now; GUARDED_BY(mutex_)
  // Replies are pending that no waiter will read: the receiver thread's turn. GUARDED_BY(mutex_)
  bool receiver_wanted_ = false;
  std::string send_error_;  // why an inline send broke the connection; GUARDED_BY(mutex_)
  // When the oldest pending reply became due (a reply resets it): the stall clock.
  std::chrono::steady_clock::time_point waiting_since_;  // GUARDED_BY(mutex_)
  std::atomic<bool> dead_{false};
  std::atomic<bool> peer_down_{false};
  std::atomic<int> threads_exited_{0};
  std::atomic<int> drivers_{0};
  std::thread sender_;
  std::thread receiver_;
};

}  // namespace mooncake::te
