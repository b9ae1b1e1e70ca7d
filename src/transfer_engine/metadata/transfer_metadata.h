// What the engine publishes and fetches: this node's segment descriptor and rpc_meta record in
// the metadata store, or, with P2PHANDSHAKE, descriptors pulled from peers' rpc ports.
//
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "common/net/socket.h"
#include "transfer_engine/metadata/metadata_store.h"
#include "transfer_engine/metadata/segment_descriptor.h"
#include "transfer_engine/transport/transport.h"

namespace mooncake::te {

class TransferMetadata {
 public:
  // `store` is null in P2PHANDSHAKE mode.
  // `secret` authenticates P2P handshakes (null: none).
  TransferMetadata(std::unique_ptr<MetadataStore> store, const TransferEngineOptions& options,
                   auth::SecretRef secret);

  bool peerToPeer() const { return store_ == nullptr; }

  // Publishes (or, P2P, does nothing with) the local descriptor and contact point.
  Status publishSegment(const SegmentDescriptor& descriptor);
  Status publishRpcMeta(const std::string& server_name, const RpcMeta& meta);
  // Removes both records of this node; errors are logged, not returned (shutdown path).
  void unpublish(const std::string& segment_name);

  // Fetches a peer's descriptor and contact point. `own_descriptor_json` is what a P2P peer
  // receives in exchange. Errors carry "Failed to get description of <name>" and the cause.
  Result<RemoteSegment> fetchSegment(const std::string& segment_name,
                                     const std::string& own_descriptor_json);

  // Resolves where a segment's rpc port is (rpc_meta, or the name itself in P2P mode).
  Result<net::HostPort> rpcAddressOf(const std::string& segment_name);

  std::string describe() const;

 private:
  Result<RemoteSegment> fetchFromStore(const std::string& segment_name);
  Result<RemoteSegment> fetchFromPeer(const std::string& segment_name,
                                      const std::string& own_descriptor_json);

  const std::unique_ptr<MetadataStore> store_;
  const TransferEngineOptions options_;
  const std::string prefix_;
  const auth::SecretRef secret_;
};

}  // namespace mooncake::te
