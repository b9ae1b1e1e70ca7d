#include "common/etcd/etcd_gateway.h"

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/logging.h"

namespace mooncake::etcd {
namespace {

using nlohmann::json;
constexpr std::chrono::milliseconds kTimeout{3000};
constexpr std::chrono::milliseconds kConnectTimeout{1000};

Status etcdError(const std::string& where, const std::string& why) {
  return Status::error(ErrorCode::ERR_METADATA, "Error from etcd client: " + where + ": " + why);
}

// etcd's gateway renders int64 fields as JSON strings.
int64_t int64Field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return 0;
  if (it->is_string()) {
    // etcd's JSON gateway sends 64-bit numbers as strings; anything unparsable counts as 0.
    const std::string& text = it->get_ref<const std::string&>();
    char* end = nullptr;
    errno = 0;
    long long value = std::strtoll(text.c_str(), &end, 10);
    return errno == 0 && end != text.c_str() && *end == '\0' ? value : 0;
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  return 0;
}

}  // namespace

std::vector<std::string> splitEndpoints(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of(",;", start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

EtcdGateway::EtcdGateway(std::vector<std::string> endpoints) : endpoints_(std::move(endpoints)) {}

std::string EtcdGateway::describe() const {
  std::string text = "etcd ";
  for (size_t i = 0; i < endpoints_.size(); ++i) text += (i ? "," : "") + endpoints_[i];
  return text;
}

std::unique_ptr<net::HttpClient> EtcdGateway::takeClient() {
  std::lock_guard lock(pool_mutex_);
  if (idle_clients_.empty()) return std::make_unique<net::HttpClient>();
  auto client = std::move(idle_clients_.back());
  idle_clients_.pop_back();
  return client;
}

void EtcdGateway::returnClient(std::unique_ptr<net::HttpClient> client) {
  std::lock_guard lock(pool_mutex_);
  idle_clients_.push_back(std::move(client));
}

Result<std::string> EtcdGateway::call(const std::string& path, const std::string& body) {
  std::unique_ptr<net::HttpClient> client = takeClient();
  std::string failures;
  const size_t first = current_endpoint_.load();
  for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    size_t index = (first + attempt) % endpoints_.size();
    const std::string& endpoint = endpoints_[index];
    auto response =
        client->send("POST", "http://" + endpoint + path, body, kTimeout, kConnectTimeout);
    if (!response.ok()) {
      failures += (failures.empty() ? "" : "; ") + endpoint + ": " + response.status().message();
      continue;
    }
    returnClient(std::move(client));
    if (index != first && current_endpoint_.exchange(index) != index) {
      LOG(WARNING) << "etcd: failed over to endpoint " << endpoint;
    }
    if (response->status != 200) {
      return etcdError(endpoint, path + " answered http=" + std::to_string(response->status) + " " +
                                     response->body);
    }
    return std::move(response->body);
  }
  return etcdError(describe(),
                   "no endpoint reachable (" + failures + "); check that etcd runs there");
}

Result<int64_t> EtcdGateway::grantLease(int64_t ttl_sec) {
  MC_ASSIGN_OR_RETURN(std::string body, call("/v3/lease/grant", json{{"TTL", ttl_sec}}.dump()));
  json reply = json::parse(body, nullptr, false);
  int64_t id = reply.is_object() ? int64Field(reply, "ID") : 0;
  if (id == 0) return etcdError(describe(), "lease grant returned no ID: " + body);
  return id;
}

Result<int64_t> EtcdGateway::keepAlive(int64_t lease_id) {
  MC_ASSIGN_OR_RETURN(std::string body,
                      call("/v3/lease/keepalive", json{{"ID", std::to_string(lease_id)}}.dump()));
  json reply = json::parse(body, nullptr, false);
  const json& result = reply.is_object() && reply.contains("result") ? reply["result"] : reply;
  return result.is_object() ? int64Field(result, "TTL") : 0;
}

Status EtcdGateway::revokeLease(int64_t lease_id) {
  return call("/v3/lease/revoke", json{{"ID", std::to_string(lease_id)}}.dump()).status();
}

Result<std::optional<KeyValue>> EtcdGateway::get(const std::string& key) {
  MC_ASSIGN_OR_RETURN(std::string body,
                      call("/v3/kv/range", json{{"key", base64Encode(key)}}.dump()));
  json reply = json::parse(body, nullptr, false);
  if (!reply.is_object()) return etcdError(describe(), "range reply is not JSON");
  auto kvs = reply.find("kvs");
  if (kvs == reply.end() || !kvs->is_array() || kvs->empty()) {
    return std::optional<KeyValue>();
  }
  const json& kv = (*kvs)[0];
  KeyValue out;
  auto value = kv.find("value");
  std::string encoded = value != kv.end() && value->is_string() ? value->get<std::string>() : "";
  MC_ASSIGN_OR_RETURN(out.value, base64Decode(encoded));
  out.create_revision = int64Field(kv, "create_revision");
  out.mod_revision = int64Field(kv, "mod_revision");
  out.lease = int64Field(kv, "lease");
  return std::optional<KeyValue>(std::move(out));
}

Result<std::vector<std::string>> EtcdGateway::listKeys(const std::string& prefix) {
  // The range [prefix, prefix with its last byte + 1): every key that starts with it.
  std::string end = prefix;
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) end.pop_back();
  if (end.empty()) {
    end = std::string(1, '\0');  // etcd: from the key to the end of the keyspace
  } else {
    end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  }
  json request = {
      {"key", base64Encode(prefix)}, {"range_end", base64Encode(end)}, {"keys_only", true}};
  MC_ASSIGN_OR_RETURN(std::string body, call("/v3/kv/range", request.dump()));
  json reply = json::parse(body, nullptr, false);
  if (!reply.is_object()) return etcdError(describe(), "range reply is not JSON");
  std::vector<std::string> keys;
  auto kvs = reply.find("kvs");
  if (kvs == reply.end() || !kvs->is_array()) return keys;
  for (const json& kv : *kvs) {
    auto key = kv.find("key");
    if (key == kv.end() || !key->is_string()) continue;
    MC_ASSIGN_OR_RETURN(std::string decoded, base64Decode(key->get<std::string>()));
    keys.push_back(std::move(decoded));
  }
  return keys;
}

Status EtcdGateway::put(const std::string& key, const std::string& value, int64_t lease_id) {
  json request = {{"key", base64Encode(key)}, {"value", base64Encode(value)}};
  if (lease_id != 0) request["lease"] = std::to_string(lease_id);
  return call("/v3/kv/put", request.dump()).status();
}

Status EtcdGateway::remove(const std::string& key) {
  return call("/v3/kv/deleterange", json{{"key", base64Encode(key)}}.dump()).status();
}

Result<bool> EtcdGateway::putIf(const std::string& compare_key, const char* target,
                                const std::string& expected, const std::string& key,
                                const std::string& value, int64_t lease_id) {
  json put = {{"key", base64Encode(key)}, {"value", base64Encode(value)}};
  if (lease_id != 0) put["lease"] = std::to_string(lease_id);
  // target CREATE compares create_revision, MOD mod_revision.
  const std::string field = std::string(target) == "CREATE" ? "create_revision" : "mod_revision";
  json compare = {{"key", base64Encode(compare_key)},
                  {"target", target},
                  {"result", "EQUAL"},
                  {field, expected}};
  json request = {{"compare", json::array({compare})},
                  {"success", json::array({{{"requestPut", put}}})}};
  MC_ASSIGN_OR_RETURN(std::string body, call("/v3/kv/txn", request.dump()));
  json reply = json::parse(body, nullptr, false);
  if (!reply.is_object()) return etcdError(describe(), "txn reply is not JSON");
  auto succeeded = reply.find("succeeded");
  return succeeded != reply.end() && succeeded->is_boolean() && succeeded->get<bool>();
}

Result<bool> EtcdGateway::createIfAbsent(const std::string& key, const std::string& value,
                                         int64_t lease_id) {
  // create_revision == 0 means "the key does not exist".
  return putIf(key, "CREATE", "0", key, value, lease_id);
}

Result<bool> EtcdGateway::putIfUnchanged(const std::string& key, const std::string& value,
                                         const std::string& guard_key, int64_t guard_revision) {
  return putIf(guard_key, "MOD", std::to_string(guard_revision), key, value, 0);
}

}  // namespace mooncake::etcd
