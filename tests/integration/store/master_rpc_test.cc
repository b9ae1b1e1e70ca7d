// A real mooncake_master process, driven over gRPC like a client would, plus a Transfer Engine
// pair that uses the master's embedded HTTP metadata server.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <fstream>

#include "common/net/http_client.h"
#include "common/net/socket.h"
#include "master.grpc.pb.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "store/client/master_client.h"
#include "store/proto/fast_rpc_frame.h"
#include "support/auth.h"
#include "support/engine_peer.h"
#include "support/process.h"
#include "support/servers.h"

namespace mooncake::store {
namespace {

class MasterRpcTest : public ::testing::Test {
 protected:
  // These tests speak gRPC and fast RPC frames themselves: the unauthenticated protocol
  // (store_auth_test.cc covers the master with a secret).
  testing::ScopedNoAuth no_auth_;

  void SetUp() override {
    rpc_port_ = testing::freeLoopbackPort();
    http_port_ = testing::freeLoopbackPort();
    metrics_port_ = testing::freeLoopbackPort();
    master_ = std::make_unique<testing::ChildProcess>(
        testing::builtBinary("tools/mooncake_master"),
        std::vector<std::string>{"--rpc_address=127.0.0.1", "--port=" + std::to_string(rpc_port_),
                                 "--metadata_dir=none", "--enable_http_metadata_server",
                                 "--http_metadata_server_host=127.0.0.1",
                                 "--http_metadata_server_port=" + std::to_string(http_port_),
                                 "--default_kv_lease_ttl=200", "--metrics_host=127.0.0.1",
                                 "--metrics_port=" + std::to_string(metrics_port_)});
    ASSERT_TRUE(testing::waitFor([this] { return testing::portAccepts(rpc_port_); },
                                 std::chrono::seconds(20)));
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(rpc_port_),
                                       grpc::InsecureChannelCredentials());
    stub_ = proto::Master::NewStub(channel);
  }

  proto::Segment segment(const std::string& name, uint64_t base, uint64_t size) {
    proto::Segment s;
    s.set_name(name);
    s.set_base(base);
    s.set_size(size);
    s.set_te_endpoint(name);
    return s;
  }

  uint16_t rpc_port_ = 0;
  uint16_t http_port_ = 0;
  uint16_t metrics_port_ = 0;
  std::unique_ptr<testing::ChildProcess> master_;
  std::unique_ptr<proto::Master::Stub> stub_;
};

TEST_F(MasterRpcTest, PutGetRemoveOverGrpcWithInBandErrorCodes) {
  grpc::ClientContext ping_context;
  proto::PingRequest ping;
  ping.set_client_id("client-1");
  proto::PingResponse pong;
  ASSERT_TRUE(stub_->Ping(&ping_context, ping, &pong).ok());
  EXPECT_EQ(pong.client_status(), 2);  // NEED_REMOUNT: never mounted

  grpc::ClientContext mount_context;
  proto::MountSegmentRequest mount;
  mount.set_client_id("client-1");
  *mount.mutable_segment() = segment("node1", 0x7f0000000000, 1 << 20);
  proto::MountSegmentResponse mounted;
  ASSERT_TRUE(stub_->MountSegment(&mount_context, mount, &mounted).ok());
  ASSERT_EQ(mounted.error().code(), 0) << mounted.error().message();

  grpc::ClientContext start_context;
  proto::PutStartRequest start;
  start.set_client_id("client-1");
  start.set_key("key-a");
  start.set_size(5000);
  start.mutable_config()->set_replica_num(1);
  proto::PutStartResponse started;
  ASSERT_TRUE(stub_->PutStart(&start_context, start, &started).ok());
  ASSERT_EQ(started.error().code(), 0) << started.error().message();
  ASSERT_EQ(started.replicas_size(), 1);
  EXPECT_EQ(started.replicas(0).te_endpoint(), "node1");
  EXPECT_GE(started.replicas(0).address(), 0x7f0000000000u);

  proto::KeyRequest key;
  key.set_client_id("client-1");
  key.set_key("key-a");
  proto::GetReplicaListResponse early;
  grpc::ClientContext early_context;
  ASSERT_TRUE(stub_->GetReplicaList(&early_context, key, &early).ok());
  EXPECT_EQ(early.error().code(), -703);  // REPLICA_IS_NOT_READY before PutEnd

  grpc::ClientContext end_context;
  proto::ErrorResponse ended;
  ASSERT_TRUE(stub_->PutEnd(&end_context, key, &ended).ok());
  EXPECT_EQ(ended.error().code(), 0);

  grpc::ClientContext get_context;
  proto::GetReplicaListResponse got;
  ASSERT_TRUE(stub_->GetReplicaList(&get_context, key, &got).ok());
  ASSERT_EQ(got.error().code(), 0);
  EXPECT_EQ(got.replicas(0).address(), started.replicas(0).address());
  EXPECT_EQ(got.replicas(0).size(), 5000u);
  EXPECT_EQ(got.lease_ttl_ms(), 200u);

  grpc::ClientContext leased_context;
  proto::ErrorResponse leased;
  ASSERT_TRUE(stub_->Remove(&leased_context, key, &leased).ok());
  EXPECT_EQ(leased.error().code(), -706);  // OBJECT_HAS_LEASE

  ASSERT_TRUE(testing::waitFor(
      [&] {
        grpc::ClientContext context;
        proto::ErrorResponse removed;
        return stub_->Remove(&context, key, &removed).ok() && removed.error().code() == 0;
      },
      std::chrono::seconds(5)));
  grpc::ClientContext missing_context;
  proto::GetReplicaListResponse missing;
  ASSERT_TRUE(stub_->GetReplicaList(&missing_context, key, &missing).ok());
  EXPECT_EQ(missing.error().code(), -704);  // OBJECT_NOT_FOUND
  EXPECT_FALSE(missing.error().message().empty());
}

TEST_F(MasterRpcTest, BatchCallsAnswerPerKey) {
  grpc::ClientContext mount_context;
  proto::MountSegmentRequest mount;
  mount.set_client_id("c");
  *mount.mutable_segment() = segment("node1", 0x100000, 64 * 1024);
  proto::MountSegmentResponse mounted;
  ASSERT_TRUE(stub_->MountSegment(&mount_context, mount, &mounted).ok());
  proto::BatchPutStartRequest batch;
  for (int i = 0; i < 3; ++i) {
    proto::PutStartRequest* item = batch.add_items();
    item->set_client_id("c");
    item->set_key("k" + std::to_string(i));
    item->set_size(i == 2 ? (1 << 20) : 1024);  // the last one cannot fit
  }
  grpc::ClientContext context;
  proto::BatchPutStartResponse started;
  ASSERT_TRUE(stub_->BatchPutStart(&context, batch, &started).ok());
  ASSERT_EQ(started.items_size(), 3);
  EXPECT_EQ(started.items(0).error().code(), 0);
  EXPECT_EQ(started.items(1).error().code(), 0);
  EXPECT_EQ(started.items(2).error().code(), -200);  // NO_AVAILABLE_HANDLE
}

TEST_F(MasterRpcTest, EmbeddedHttpMetadataServerCarriesATransfer) {
  std::string metadata = "http://127.0.0.1:" + std::to_string(http_port_) + "/metadata";
  auto peer =
      testing::startEnginePeer(metadata, "store-node-" + std::to_string(::getpid()), 1 << 20);
  ASSERT_TRUE(peer.error.empty()) << peer.error;
  TransferEngine engine;
  ASSERT_TRUE(
      engine.init(metadata, "store-reader-" + std::to_string(::getpid()), "127.0.0.1").ok());
  std::vector<char> local(4096);
  ASSERT_TRUE(engine.registerLocalMemory(local.data(), local.size()).ok());
  auto target = engine.openSegment(peer.segment_name);
  ASSERT_TRUE(target.ok()) << target.status().toString();
  auto batch = engine.allocateBatchID(1);
  ASSERT_TRUE(batch.ok());
  TransferRequest read{TransferRequest::READ, local.data(), *target,
                       peer.buffer_addr,      local.size(), 0};
  ASSERT_TRUE(engine.submitTransfer(*batch, {read}).ok());
  TransferStatus status;
  ASSERT_TRUE(testing::waitFor(
      [&] { return engine.getTransferStatus(*batch, 0, status).ok() && status.s != WAITING; },
      std::chrono::seconds(30)));
  EXPECT_EQ(status.s, COMPLETED);
  EXPECT_EQ(static_cast<unsigned char>(local[100]), testing::peerPatternByte(100));
}

TEST_F(MasterRpcTest, MetricsAndAdminEndpointsDescribeTheStore) {
  grpc::ClientContext mount_context;
  proto::MountSegmentRequest mount;
  mount.set_client_id("c");
  *mount.mutable_segment() = segment("node1", 0x100000, 1 << 20);
  proto::MountSegmentResponse mounted;
  ASSERT_TRUE(stub_->MountSegment(&mount_context, mount, &mounted).ok());
  proto::KeyRequest key;
  key.set_client_id("c");
  key.set_key("metric-key");
  proto::PutStartRequest start;
  start.set_client_id("c");
  start.set_key("metric-key");
  start.set_size(4096);
  proto::PutStartResponse started;
  grpc::ClientContext start_context;
  ASSERT_TRUE(stub_->PutStart(&start_context, start, &started).ok());
  proto::ErrorResponse ended;
  grpc::ClientContext end_context;
  ASSERT_TRUE(stub_->PutEnd(&end_context, key, &ended).ok());

  net::HttpClient http;
  std::string base = "http://127.0.0.1:" + std::to_string(metrics_port_);
  auto get = [&](const std::string& path) {
    auto response =
        http.send("GET", base + path, "", std::chrono::seconds(5), std::chrono::seconds(2));
    EXPECT_TRUE(response.ok()) << response.status().toString();
    return response.ok() ? *response : net::HttpResponse{};
  };
  EXPECT_EQ(get("/health").body, R"({"status":"OK","role":"leader"})");
  EXPECT_EQ(get("/role").body, "leader");
  std::string metrics = get("/metrics").body;
  EXPECT_NE(metrics.find("mooncake_master_objects 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("mooncake_master_put_end_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("mooncake_master_bytes_used 4096\n"), std::string::npos);
  EXPECT_NE(metrics.find("mooncake_master_leased_objects 0\n"), std::string::npos);
  EXPECT_NE(metrics.find("mooncake_master_segment_bytes_total{segment=\"node1\"} 1048576"),
            std::string::npos);
  // One PutStart was served: its histogram's +Inf bucket and count say 1.
  EXPECT_NE(metrics.find("mooncake_master_rpc_latency_seconds_bucket{method=\"PutStart\","
                         "le=\"+Inf\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("mooncake_master_rpc_latency_seconds_count{method=\"PutStart\"} 1\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("# TYPE mooncake_master_rpc_latency_seconds histogram"),
            std::string::npos);
  auto query = get("/query_key?key=metric-key");
  EXPECT_EQ(query.status, 200);
  EXPECT_NE(query.body.find(std::to_string(started.replicas(0).address())), std::string::npos);
  EXPECT_EQ(get("/query_key?key=nope").status, 404);
  EXPECT_EQ(get("/get_all_keys").body, "metric-key\n");
  EXPECT_NE(get("/get_all_segments").body.find("\"name\":\"node1\""), std::string::npos);
}

TEST_F(MasterRpcTest, AStalledMasterIsRpcTimeoutAndAnAbsentOneRpcFail) {
  MasterClient client("127.0.0.1:" + std::to_string(rpc_port_), std::chrono::milliseconds(300));
  ASSERT_TRUE(client.existKey("k").ok());
  master_->signal(SIGSTOP);  // accepts connections (the kernel does) but never answers
  auto started = std::chrono::steady_clock::now();
  auto stalled = client.existKey("k");
  auto took = std::chrono::steady_clock::now() - started;
  master_->signal(SIGCONT);
  EXPECT_TRUE(stalled.status().is(StoreErrorCode::RPC_TIMEOUT)) << stalled.status().toString();
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_TRUE(client.existKey("k").ok());
  MasterClient nobody("127.0.0.1:" + std::to_string(testing::freeLoopbackPort()),
                      std::chrono::milliseconds(300));
  auto absent = nobody.existKey("k");
  EXPECT_TRUE(absent.status().is(StoreErrorCode::RPC_FAIL) ||
              absent.status().is(StoreErrorCode::RPC_TIMEOUT))
      << absent.status().toString();
  EXPECT_NE(absent.status().message().find("is mooncake_master running there?"), std::string::npos);
}

TEST(MasterProcessTest, TakenPortFailsWithBindAddressAlreadyInUse) {
  uint16_t port = testing::freeLoopbackPort();
  testing::ChildProcess first(testing::builtBinary("tools/mooncake_master"),
                              {"--rpc_address=127.0.0.1", "--port=" + std::to_string(port),
                               "--metrics_port=0", "--metadata_dir=none"});
  ASSERT_TRUE(
      testing::waitFor([&] { return testing::portAccepts(port); }, std::chrono::seconds(20)));
  testing::TempDir dir;
  testing::ChildProcess second(testing::builtBinary("tools/mooncake_master"),
                               {"--rpc_address=127.0.0.1", "--port=" + std::to_string(port),
                                "--metrics_port=0", "--metadata_dir=none"},
                               {}, dir.path() + "/stderr");
  EXPECT_EQ(second.wait(std::chrono::seconds(20)), 1);
  std::ifstream log(dir.path() + "/stderr");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("bind address already in use"), std::string::npos) << text;
}

// The fast RPC listener: found through gRPC, answers the same messages, and rejects frames it
// cannot run with a status (or, for an impossible length, by closing the connection) while it
// goes on serving everybody else.
TEST_F(MasterRpcTest, FastRpcAnswersLikeGrpcAndRejectsMalformedFrames) {
  grpc::ClientContext context;
  proto::FastRpcPortResponse port;
  ASSERT_TRUE(stub_->GetFastRpcPort(&context, proto::Empty(), &port).ok());
  ASSERT_NE(port.port(), 0u);
  net::HostPort address{"127.0.0.1", static_cast<uint16_t>(port.port())};
  auto connection = net::connectTcp(address, std::chrono::seconds(5));
  ASSERT_TRUE(connection.ok()) << connection.status().toString();
  const int fd = connection->get();
  auto exchange = [&](fast_rpc::FrameHeader header, const std::string& payload,
                      std::string* answer_payload) {
    EXPECT_TRUE(net::sendAll(fd, &header, sizeof(header)).ok());
    if (!payload.empty()) {
      EXPECT_TRUE(net::sendAll(fd, payload.data(), payload.size()).ok());
    }
    fast_rpc::FrameHeader answer;
    EXPECT_TRUE(net::recvAll(fd, &answer, sizeof(answer)).ok());
    answer_payload->resize(answer.payload_length);
    EXPECT_TRUE(net::recvAll(fd, answer_payload->data(), answer_payload->size()).ok());
    EXPECT_EQ(answer.call_id, header.call_id);
    return answer.code;
  };
  std::string answer;
  EXPECT_EQ(exchange({0, 999, 7}, "", &answer), fast_rpc::kUnknownMethod);
  const auto get_replica_list = static_cast<uint32_t>(fast_rpc::MethodId::kGetReplicaList);
  EXPECT_EQ(exchange({3, get_replica_list, 8}, "\xff\xff\xff", &answer),
            fast_rpc::kMalformedRequest);
  proto::KeyRequest request;
  request.set_key("absent");
  std::string encoded = request.SerializeAsString();
  ASSERT_EQ(
      exchange({static_cast<uint32_t>(encoded.size()), get_replica_list, 9}, encoded, &answer),
      fast_rpc::kOk);
  proto::GetReplicaListResponse response;
  ASSERT_TRUE(response.ParseFromString(answer));
  EXPECT_EQ(response.error().code(), static_cast<int>(StoreErrorCode::OBJECT_NOT_FOUND));
  // A length no request can have: the master hangs up instead of allocating it.
  fast_rpc::FrameHeader huge{1u << 30, get_replica_list, 10};
  ASSERT_TRUE(net::sendAll(fd, &huge, sizeof(huge)).ok());
  char byte;
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0);
  // Everybody else is still served, over both protocols.
  MasterClient client("127.0.0.1:" + std::to_string(rpc_port_), std::chrono::seconds(5));
  EXPECT_TRUE(client.getReplicaList("absent").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  grpc::ClientContext ready_context;
  proto::ErrorResponse ready;
  EXPECT_TRUE(stub_->ServiceReady(&ready_context, proto::Empty(), &ready).ok());
}

// Clients fall back to gRPC when the master has no fast listener, and can be told to use gRPC.
TEST_F(MasterRpcTest, ClientsUseGrpcWithoutTheFastListener) {
  uint16_t port = testing::freeLoopbackPort();
  testing::ChildProcess grpc_only(
      testing::builtBinary("tools/mooncake_master"),
      {"--rpc_address=127.0.0.1", "--port=" + std::to_string(port), "--enable_fast_rpc=false",
       "--metrics_port=0", "--metadata_dir=none"});
  ASSERT_TRUE(
      testing::waitFor([&] { return testing::portAccepts(port); }, std::chrono::seconds(20)));
  MasterClient client("127.0.0.1:" + std::to_string(port), std::chrono::seconds(5));
  proto::Segment s = segment("seg-a", 1 << 20, 64 << 20);
  ASSERT_TRUE(
      client.mountSegment("client-1", {s.name(), s.base(), s.size(), s.te_endpoint()}).ok());
  ASSERT_EQ(client.putStart("client-1", "k", 100, ReplicateConfig{})->size(), 1u);
  ASSERT_TRUE(client.putEnd("client-1", "k").ok());
  EXPECT_EQ(client.getReplicaList("k")->replicas.size(), 1u);
  // And against the fixture's master (which has the listener) when MC_STORE_MASTER_FAST_RPC=0.
  ::setenv("MC_STORE_MASTER_FAST_RPC", "0", 1);
  MasterClient told("127.0.0.1:" + std::to_string(rpc_port_), std::chrono::seconds(5));
  ::unsetenv("MC_STORE_MASTER_FAST_RPC");
  EXPECT_TRUE(told.getReplicaList("absent").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
}

}  // namespace
}  // namespace mooncake::store
