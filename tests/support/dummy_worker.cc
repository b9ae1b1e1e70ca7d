// A dummy client process for the node daemon tests: attaches to a mooncake_client and runs one
// workload, reporting on stdout (one line per event, flushed) and through its exit code.
//
//   dummy_worker attach   ADDRESS                      "ready", then waits for stdin EOF
//   dummy_worker workload ADDRESS PREFIX COUNT SIZE    put (pool memory and copying API
//                                                      alternately), read back, verify, remove
//                                                      every third key; "done ..." or
//                                                      "MISMATCH key"
//   dummy_worker read     ADDRESS PREFIX COUNT SIZE    reads keys another process wrote;
//                                                      "read verified=N missing=M" or MISMATCH
//   dummy_worker put_loop ADDRESS PREFIX SIZE          puts forever, "put N" every 50
//   dummy_worker get_loop ADDRESS KEY SIZE             gets forever: "ok" at the first success,
//                                                      "error CODE" at the first failure after
//                                                      it, "recovered" when a get works again
//
// Values are a function of the key, so any process can verify any key.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "store/client/daemon/dummy_client.h"
#include "support/key_values.h"

using mooncake::store::DummyClient;
using mooncake::store::DummyClientOptions;

namespace {

std::string valueFor(const std::string& key, size_t size) {
  return mooncake::testing::valueForKey(key, size);
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

std::unique_ptr<DummyClient> attach(const std::string& address, uint64_t pool) {
  DummyClientOptions options;
  options.server_address = address;
  options.mem_pool_size = pool;
  options.local_buffer_size = 8 << 20;
  auto dummy = DummyClient::create(options);
  if (!dummy.ok()) {
    say("SETUP_FAILED " + dummy.status().toString());
    std::exit(3);
  }
  return std::move(dummy).value();
}

int workload(DummyClient& dummy, const std::string& prefix, int count, size_t size) {
  char* pool = reinterpret_cast<char*>(dummy.allocFromMemPool(size));
  char* back = reinterpret_cast<char*>(dummy.allocFromMemPool(size));
  if (pool == nullptr || back == nullptr) return say("POOL_FULL"), 3;
  int verified = 0;
  for (int i = 0; i < count; ++i) {
    std::string key = prefix + "/" + std::to_string(i);
    std::string value = valueFor(key, size);
    mooncake::Status put;
    if (i % 2 == 0) {
      std::memcpy(pool, value.data(), size);
      put = dummy.putFrom(key, pool, size);
    } else {
      put = dummy.putParts(key, {value});
    }
    if (!put.ok()) return say("PUT_FAILED " + key + " " + put.toString()), 1;
    auto read = dummy.getInto(key, back, size);
    if (!read.ok() || *read != size || std::memcmp(back, value.data(), size) != 0) {
      return say("MISMATCH " + key), 1;
    }
    auto buffer = dummy.getBuffer(key);
    if (!buffer.ok() || std::string((*buffer)->data(), (*buffer)->size()) != value) {
      return say("MISMATCH " + key + " (copying get)"), 1;
    }
    ++verified;
    if (i % 3 == 2) {
      auto removed = dummy.remove(key, /*force=*/true);
      if (!removed.ok()) return say("REMOVE_FAILED " + key + " " + removed.toString()), 1;
    }
  }
  say("done verified=" + std::to_string(verified));
  return 0;
}

int readBack(DummyClient& dummy, const std::string& prefix, int count, size_t size) {
  int verified = 0;
  int missing = 0;
  for (int i = 0; i < count; ++i) {
    std::string key = prefix + "/" + std::to_string(i);
    auto buffer = dummy.getBuffer(key);
    if (!buffer.ok()) {
      ++missing;
      continue;
    }
    if (std::string((*buffer)->data(), (*buffer)->size()) != valueFor(key, size)) {
      return say("MISMATCH " + key), 1;
    }
    ++verified;
  }
  say("read verified=" + std::to_string(verified) + " missing=" + std::to_string(missing));
  return 0;
}

int putLoop(DummyClient& dummy, const std::string& prefix, size_t size) {
  char* pool = reinterpret_cast<char*>(dummy.allocFromMemPool(size));
  for (int i = 0;; ++i) {
    std::string key = prefix + "/" + std::to_string(i);
    std::string value = valueFor(key, size);
    std::memcpy(pool, value.data(), size);
    (void)dummy.putFrom(key, pool, size);
    if (i % 50 == 49) say("put " + std::to_string(i + 1));
  }
}

int getLoop(DummyClient& dummy, const std::string& key, size_t size) {
  char* pool = reinterpret_cast<char*>(dummy.allocFromMemPool(size));
  bool seen_ok = false;
  bool seen_error = false;
  while (true) {
    auto read = dummy.getInto(key, pool, size);
    bool good = read.ok() && std::memcmp(pool, valueFor(key, size).data(), size) == 0;
    if (good && !seen_ok) {
      seen_ok = true;
      say("ok");
    } else if (!read.ok() && seen_ok && !seen_error) {
      seen_error = true;
      say("error " + std::to_string(read.status().value()) + " " + read.status().toString());
    } else if (good && seen_error) {
      say("recovered");
      return 0;
    }
    if (!read.ok()) ::usleep(20000);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: see the comment at the top of dummy_worker.cc\n");
    return 2;
  }
  std::string mode = argv[1];
  auto arg = [&](int i) { return i < argc ? std::string(argv[i]) : std::string(); };
  auto dummy = attach(argv[2], mode == "attach" ? (1 << 20) : (32 << 20));
  if (mode == "attach") {
    say("ready");
    char byte;
    while (::read(0, &byte, 1) > 0) {
    }
    return 0;
  }
  if (mode == "workload") return workload(*dummy, arg(3), std::stoi(arg(4)), std::stoul(arg(5)));
  if (mode == "read") return readBack(*dummy, arg(3), std::stoi(arg(4)), std::stoul(arg(5)));
  if (mode == "put_loop") return putLoop(*dummy, arg(3), std::stoul(arg(4)));
  if (mode == "get_loop") return getLoop(*dummy, arg(3), std::stoul(arg(4)));
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
