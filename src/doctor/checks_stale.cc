// Stale records: rpc_meta records (and their segment descriptors) of nodes that no longer
// answer their rpc port. Peers that look such a name up wait for a connect that fails; with the
// HTTP metadata server and Redis nothing ever expires them (etcd's lease does, after a while).
#include <future>

#include "common/auth/secret.h"
#include "common/net/socket.h"
#include "doctor/doctor.h"
#include "mooncake/transfer_engine/transfer_engine_options.h"
#include "transfer_engine/metadata/metadata_store.h"
#include "transfer_engine/metadata/segment_descriptor.h"

namespace mooncake::doctor {
namespace {

constexpr std::chrono::milliseconds kProbeTimeout{500};
constexpr size_t kProbesAtOnce = 32;
constexpr size_t kNamedInMessage = 5;

struct Record {
  std::string name;
  std::string address;  // host:port of its rpc port
  std::string why;      // empty: it answers
};

// Why `meta` names a node that is gone ("" when its rpc port accepts a connection).
std::string probe(const te::RpcMeta& meta) {
  int error = 0;
  auto connected = net::connectTcp({meta.ip_or_host_name, meta.rpc_port}, kProbeTimeout, &error);
  if (connected.ok()) return "";
  return net::peerIsDown(error) ? net::errnoText(error) : "";  // a local failure says nothing
}

std::string joinNames(const std::vector<Record>& records) {
  std::string out;
  for (size_t i = 0; i < records.size() && i < kNamedInMessage; ++i) {
    out += (i == 0 ? "" : ", ") + records[i].name + " (" + records[i].address + ": " +
           records[i].why + ")";
  }
  if (records.size() > kNamedInMessage) {
    out += " and " + std::to_string(records.size() - kNamedInMessage) + " more";
  }
  return out;
}

}  // namespace

std::vector<Finding> checkStaleRecords(const Inputs& inputs) {
  auto connection = te::parseMetadataConnection(inputs.metadata_server);
  if (!connection.ok() || connection->backend == te::MetadataBackend::kP2PHandshake) return {};
  auto options = TransferEngineOptions::fromEnvironment();
  if (!options.ok()) return {};  // the metadata check says why
  auto secret = auth::processSecret();
  auto store = te::createMetadataStore(*connection, *options, secret.ok() ? *secret : nullptr);
  if (!store.ok()) return {};  // likewise
  const std::string prefix = te::metadataKeyPrefix(options->metadata_cluster_id);
  const std::string rpc_prefix = te::rpcMetaKey(prefix, "");
  auto keys = (*store)->listKeys(rpc_prefix);
  if (!keys.ok()) {
    return {{"stale", Verdict::kWarn, "not checked: " + keys.status().message()}};
  }
  std::vector<Record> records;
  std::vector<te::RpcMeta> metas;
  for (const std::string& key : *keys) {
    auto value = (*store)->get(key);
    if (!value.ok() || !*value) continue;  // removed meanwhile
    auto meta = te::decodeRpcMeta(**value);
    if (!meta.ok()) continue;  // not ours to judge
    records.push_back({key.substr(rpc_prefix.size()),
                       net::HostPort{meta->ip_or_host_name, meta->rpc_port}.toString(), ""});
    metas.push_back(*meta);
  }
  // Probed concurrently: a cluster with dead hosts costs a timeout per batch, not per node.
  for (size_t first = 0; first < records.size(); first += kProbesAtOnce) {
    std::vector<std::future<std::string>> probes;
    for (size_t i = first; i < records.size() && i < first + kProbesAtOnce; ++i) {
      probes.push_back(std::async(std::launch::async, probe, metas[i]));
    }
    for (size_t i = 0; i < probes.size(); ++i) records[first + i].why = probes[i].get();
  }
  std::vector<Record> stale;
  for (const Record& record : records) {
    if (!record.why.empty()) stale.push_back(record);
  }
  if (stale.empty()) {
    return {{"stale", Verdict::kPass,
             std::to_string(records.size()) + " node record(s), each answering its rpc port"}};
  }
  if (!inputs.fix) {
    return {{"stale", Verdict::kWarn,
             std::to_string(stale.size()) + " of " + std::to_string(records.size()) +
                 " node records name nodes that do not answer: " + joinNames(stale) +
                 ". Peers that look these names up fail to connect. Remove them with "
                 "mooncake_doctor --fix (it removes only records whose rpc port refuses or "
                 "does not answer)"}};
  }
  std::vector<Finding> out;
  size_t removed = 0;
  for (const Record& record : stale) {
    Status gone = (*store)->remove(te::rpcMetaKey(prefix, record.name));
    if (gone.ok()) gone = (*store)->remove(te::segmentKey(prefix, record.name));
    if (gone.ok()) {
      ++removed;
    } else {
      out.push_back({"stale", Verdict::kFail,
                     "cannot remove the records of " + record.name + ": " + gone.message()});
    }
  }
  out.push_back({"stale", Verdict::kPass,
                 "removed the records of " + std::to_string(removed) +
                     " node(s) that did not answer: " + joinNames(stale)});
  return out;
}

}  // namespace mooncake::doctor
