#include "store/tier/disk_service.h"

#include <glog/logging.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/auth/stream_auth.h"
#include "common/byte_codec.h"
#include "common/net/socket.h"

namespace mooncake::store::tier {
namespace {

constexpr uint32_t kOpStage = 1;
constexpr uint32_t kOpRelease = 2;
constexpr uint32_t kAnswerOk = 0;
constexpr uint32_t kAnswerMalformed = 1;
constexpr size_t kFrameHeader = 8;

std::string frame(uint32_t code, const std::string& payload) {
  std::string out(kFrameHeader, '\0');
  uint32_t length = static_cast<uint32_t>(payload.size());
  std::memcpy(out.data(), &length, 4);
  std::memcpy(out.data() + 4, &code, 4);
  out += payload;
  return out;
}

bool stillOpen(int fd) {
  char byte;
  ssize_t got = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::string encodeStageRequest(const std::vector<StageItem>& items) {
  std::string out;
  ByteWriter writer(out);
  writer.u64(items.size());
  for (const StageItem& item : items) {
    writer.bytes(item.key);
    writer.fixed64(item.version);
  }
  return out;
}

bool decodeStageRequest(std::string_view payload, std::vector<StageItem>& items) {
  ByteReader reader(payload);
  uint64_t count = 0;
  if (!reader.u64(count) || count > payload.size()) return false;
  items.resize(count);
  for (StageItem& item : items) {
    if (!reader.bytes(item.key) || !reader.fixed64(item.version)) return false;
  }
  return reader.done();
}

std::string encodeStageReply(const StageReply& reply) {
  std::string out;
  ByteWriter writer(out);
  writer.u64(reply.stage_id);
  writer.u64(reply.objects.size());
  for (const StagedObject& object : reply.objects) {
    writer.i64(object.status.value());
    writer.bytes(object.status.ok() ? std::string_view() : object.status.message());
    writer.u64(object.address);
    writer.u64(object.size);
  }
  return out;
}

bool decodeStageReply(std::string_view payload, StageReply& reply) {
  ByteReader reader(payload);
  uint64_t count = 0;
  if (!reader.u64(reply.stage_id) || !reader.u64(count) || count > payload.size()) return false;
  reply.objects.resize(count);
  for (StagedObject& object : reply.objects) {
    int64_t code = 0;
    std::string message;
    if (!reader.i64(code) || !reader.bytes(message) || !reader.u64(object.address) ||
        !reader.u64(object.size)) {
      return false;
    }
    object.status =
        code == 0 ? Status::OK() : Status::storeError(static_cast<StoreErrorCode>(code), message);
  }
  return reader.done();
}

Status DiskService::start(const std::string& host) {
  MC_ASSIGN_OR_RETURN(net::UniqueFd listen_fd, net::listenTcp(host, 0, 128));
  MC_ASSIGN_OR_RETURN(port_, net::boundPort(listen_fd.get()));
  net::FramedServerOptions options;
  options.name = "disk tier";
  options.threads = 4;  // handlers read the disk: several at once
  options.max_connections = 1024;
  options.frame_deadline = std::chrono::seconds(10);
  options.idle_timeout = std::chrono::minutes(5);
  options.auth = secret_;
  options.auth_label = std::string(kDiskTierAuthLabel);
  options.auth_listener = auth::Listener::kDiskTier;
  auto scan = [](std::string_view received) -> net::FrameScan {
    if (received.size() < kFrameHeader) return net::FrameScan::needMore(kFrameHeader);
    uint32_t length = 0;
    std::memcpy(&length, received.data(), 4);
    if (length > kMaxDiskServiceFrame) {
      return net::FrameScan::invalid("disk tier request of " + std::to_string(length) +
                                     " bytes is above the limit");
    }
    return net::FrameScan::complete(kFrameHeader + length);
  };
  server_ = std::make_unique<net::FramedServer>(
      options, scan, [this](std::string_view request) { return serve(request); });
  return server_->start(std::move(listen_fd));
}

void DiskService::stop() {
  if (server_) server_->stop();
}

net::FrameReply DiskService::serve(std::string_view request) {
  net::FrameReply reply;
  uint32_t op = 0;
  std::memcpy(&op, request.data() + 4, 4);
  std::string_view payload = request.substr(kFrameHeader);
  if (op == kOpStage) {
    std::vector<StageItem> items;
    if (decodeStageRequest(payload, items)) {
      reply.bytes = frame(kAnswerOk, encodeStageReply(stager_.stage(items)));
      return reply;
    }
  } else if (op == kOpRelease) {
    ByteReader reader(payload);
    uint64_t id = 0;
    if (reader.u64(id) && reader.done()) {
      stager_.release(id);
      reply.bytes = frame(kAnswerOk, "");
      return reply;
    }
  }
  LOG_EVERY_N(WARNING, 100) << "disk tier: malformed request (op " << op << ")";
  reply.bytes = frame(kAnswerMalformed, "");
  reply.close_after = true;
  return reply;
}

Result<net::UniqueFd> DiskServiceClient::connect(const std::string& endpoint) {
  {
    std::lock_guard lock(mutex_);
    for (auto it = idle_.find(endpoint); it != idle_.end() && it->first == endpoint;) {
      net::UniqueFd fd = std::move(it->second);
      it = idle_.erase(it);
      if (stillOpen(fd.get())) return fd;
    }
  }
  auto failure = [&](const std::string& why) {
    return Status::storeError(StoreErrorCode::RPC_FAIL, "disk tier " + endpoint + ": " + why);
  };
  auto address = net::parseHostPort(endpoint, 0);
  if (!address.ok()) return failure(address.status().message());
  auto fd = net::connectTcp(*address, timeout_);
  if (!fd.ok()) return failure(fd.status().message());
  net::setNoDelay(fd->get());
  net::setReceiveTimeout(fd->get(), timeout_);
  net::setSendTimeout(fd->get(), timeout_);
  if (secret_) {
    Status proved = auth::clientHandshake(fd->get(), secret_, kDiskTierAuthLabel,
                                          "disk tier " + endpoint, timeout_);
    if (!proved.ok()) return failure(proved.message());
  }
  return fd;
}

Result<std::string> DiskServiceClient::call(const std::string& endpoint, uint32_t op,
                                            const std::string& payload) {
  MC_ASSIGN_OR_RETURN(net::UniqueFd fd, connect(endpoint));
  auto failure = [&](const std::string& why) {
    return Status::storeError(StoreErrorCode::RPC_FAIL, "disk tier " + endpoint + ": " + why);
  };
  Status sent = net::sendAll(fd.get(), frame(op, payload).data(), kFrameHeader + payload.size());
  if (!sent.ok()) return failure(sent.message());
  char header[kFrameHeader];
  Status got = net::recvAll(fd.get(), header, sizeof(header));
  if (!got.ok()) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return Status::storeError(StoreErrorCode::RPC_TIMEOUT,
                                "disk tier " + endpoint + ": no answer within " +
                                    std::to_string(timeout_.count()) + " ms");
    }
    return failure(got.message());
  }
  uint32_t length = 0, status = 0;
  std::memcpy(&length, header, 4);
  std::memcpy(&status, header + 4, 4);
  if (length > kMaxDiskServiceFrame) return failure("answer too large (not a disk tier?)");
  std::string body(length, '\0');
  if (length > 0) {
    got = net::recvAll(fd.get(), body.data(), length);
    if (!got.ok()) return failure(got.message());
  }
  if (status != kAnswerOk) return failure("the holder could not decode the request");
  std::lock_guard lock(mutex_);
  idle_.emplace(endpoint, std::move(fd));
  return body;
}

Result<StageReply> DiskServiceClient::stage(const std::string& endpoint,
                                            const std::vector<StageItem>& items) {
  MC_ASSIGN_OR_RETURN(std::string body, call(endpoint, kOpStage, encodeStageRequest(items)));
  StageReply reply;
  if (!decodeStageReply(body, reply) || reply.objects.size() != items.size()) {
    return Status::storeError(StoreErrorCode::RPC_FAIL,
                              "disk tier " + endpoint + ": malformed answer");
  }
  return reply;
}

void DiskServiceClient::release(const std::string& endpoint, uint64_t stage_id) {
  if (stage_id == 0) return;
  std::string payload;
  ByteWriter(payload).u64(stage_id);
  auto done = call(endpoint, kOpRelease, payload);
  if (!done.ok()) {
    // The holder releases it after kStageLease anyway.
    LOG_EVERY_N(WARNING, 100) << done.status().toString();
  }
}

}  // namespace mooncake::store::tier
