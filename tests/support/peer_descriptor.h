// The descriptor a running engine peer (startEnginePeer) publishes, fetched from its rpc port
// the way an initiator does (with the process's secret). Header-only: the tests that use it link
// the Transfer Engine already.
#pragma once

#include "support/auth.h"
#include "support/engine_peer.h"
#include "transfer_engine/handshake/frame_codec.h"
#include "transfer_engine/handshake/handshake_client.h"
#include "transfer_engine/metadata/segment_descriptor.h"

namespace mooncake::testing {

inline Result<te::SegmentDescriptor> fetchPeerDescriptor(const EnginePeer& peer) {
  MC_ASSIGN_OR_RETURN(net::HostPort rpc, net::parseHostPort(peer.segment_name, 0));
  MC_ASSIGN_OR_RETURN(std::string reply,
                      te::handshakeCall(rpc, te::FrameType::kMetadata, "{}",
                                        std::chrono::seconds(2), 1 << 20, processSecret()));
  return te::decodeSegmentDescriptor(reply);
}

}  // namespace mooncake::testing
