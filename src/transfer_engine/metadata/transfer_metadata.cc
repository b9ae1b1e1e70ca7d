#include "transfer_engine/metadata/transfer_metadata.h"

#include "common/logging.h"
#include "transfer_engine/handshake/handshake_client.h"

namespace mooncake::te {

TransferMetadata::TransferMetadata(std::unique_ptr<MetadataStore> store,
                                   const TransferEngineOptions& options, auth::SecretRef secret)
    : store_(std::move(store)),
      options_(options),
      prefix_(metadataKeyPrefix(options.metadata_cluster_id)),
      secret_(std::move(secret)) {}

std::string TransferMetadata::describe() const {
  return store_ ? store_->describe() : "P2PHANDSHAKE";
}

Status TransferMetadata::publishSegment(const SegmentDescriptor& descriptor) {
  if (!store_) return Status::OK();
  return store_->put(segmentKey(prefix_, descriptor.name), encodeSegmentDescriptor(descriptor));
}

Status TransferMetadata::publishRpcMeta(const std::string& server_name, const RpcMeta& meta) {
  if (!store_) return Status::OK();
  return store_->put(rpcMetaKey(prefix_, server_name), encodeRpcMeta(meta));
}

void TransferMetadata::unpublish(const std::string& segment_name) {
  if (!store_) return;
  for (const std::string& key :
       {segmentKey(prefix_, segment_name), rpcMetaKey(prefix_, segment_name)}) {
    Status status = store_->remove(key);
    if (!status.ok())
      LOG(WARNING) << "metadata: could not remove " << key << ": " << status.message();
  }
}

Result<net::HostPort> TransferMetadata::rpcAddressOf(const std::string& segment_name) {
  if (!store_) {
    return net::parseHostPort(segment_name, static_cast<uint16_t>(options_.handshake_port));
  }
  MC_ASSIGN_OR_RETURN(auto raw, store_->get(rpcMetaKey(prefix_, segment_name)));
  if (!raw) {
    return Status::error(ErrorCode::ERR_METADATA,
                         "no rpc_meta record for '" + segment_name + "' in " + store_->describe() +
                             " (is that node running with the same metadata_server and "
                             "MC_METADATA_CLUSTER_ID?)");
  }
  MC_ASSIGN_OR_RETURN(RpcMeta meta, decodeRpcMeta(*raw));
  return net::HostPort{meta.ip_or_host_name, meta.rpc_port};
}

Result<RemoteSegment> TransferMetadata::fetchFromStore(const std::string& segment_name) {
  MC_ASSIGN_OR_RETURN(auto raw, store_->get(segmentKey(prefix_, segment_name)));
  if (!raw) {
    return Status::error(ErrorCode::ERR_METADATA,
                         "no segment record " + segmentKey(prefix_, segment_name) + " in " +
                             store_->describe() +
                             " (is that node running with the same metadata_server and "
                             "MC_METADATA_CLUSTER_ID?)");
  }
  RemoteSegment out;
  MC_ASSIGN_OR_RETURN(out.descriptor, decodeSegmentDescriptor(*raw));
  MC_ASSIGN_OR_RETURN(net::HostPort rpc, rpcAddressOf(segment_name));
  out.host = rpc.host;
  out.rpc_port = rpc.port;
  return out;
}

Result<RemoteSegment> TransferMetadata::fetchFromPeer(const std::string& segment_name,
                                                      const std::string& own_descriptor_json) {
  MC_ASSIGN_OR_RETURN(net::HostPort rpc, rpcAddressOf(segment_name));
  MC_ASSIGN_OR_RETURN(std::string reply,
                      handshakeCall(rpc, FrameType::kMetadata, own_descriptor_json,
                                    std::chrono::seconds(options_.handshake_connect_timeout_sec),
                                    options_.handshake_max_length, secret_));
  RemoteSegment out;
  MC_ASSIGN_OR_RETURN(out.descriptor, decodeSegmentDescriptor(reply));
  out.host = rpc.host;
  out.rpc_port = rpc.port;
  return out;
}

Result<RemoteSegment> TransferMetadata::fetchSegment(const std::string& segment_name,
                                                     const std::string& own_descriptor_json) {
  auto fetched =
      store_ ? fetchFromStore(segment_name) : fetchFromPeer(segment_name, own_descriptor_json);
  if (!fetched.ok()) {
    return fetched.status().withContext("Failed to get description of " + segment_name);
  }
  return fetched;
}

}  // namespace mooncake::te
