// mooncake.store: MooncakeDistributedStore, ReplicateConfig, SoftPinAction, BufferHandle.
// Type conversion only: every call goes to python_api::DistributedStore with the GIL released.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <iterator>
#include <memory>
#include <string_view>
#include <vector>

#include "heap_tuning.h"
#include "python_api/distributed_store.h"
#include "python_api/engine_api.h"

namespace py = pybind11;

namespace mooncake::python {
namespace {

using python_api::DistributedStore;
using store::ObjectBuffer;
using store::ReplicateConfig;
using Release = py::call_guard<py::gil_scoped_release>;

enum class SoftPinAction { PRESERVE = 0, ENABLE = 1, DISABLE = 2 };
// Upstream's replica states; get_replica_desc only reports COMPLETE replicas.
enum class ReplicaStatus { UNDEFINED = 0, INITIALIZED, PROCESSING, COMPLETE, REMOVED, FAILED };

// Upstream's descriptor classes over a memory replica's location.
struct MemoryDescriptor {
  store::ReplicaLocation buffer_descriptor;
};
struct DiskDescriptor {
  std::string file_path;
  uint64_t object_size = 0;
  std::string transport_endpoint;  // a disk tier copy: its holder's segment
};
struct ReplicaDescriptor {
  store::ReplicaLocation location;
};

const ReplicateConfig& orDefault(const std::optional<ReplicateConfig>& config) {
  static const ReplicateConfig kDefault;
  return config ? *config : kDefault;
}

// Views of bytes-like objects (bytes, bytearray, memoryview, numpy arrays...), held for the
// call and released (with the GIL held) when it is destroyed. Each object must hold its bytes
// in one contiguous run (PyBUF_SIMPLE; a strided view fails with BufferError rather than
// storing the wrong bytes). Up to kInline buffers live inside the object: a batch of small puts
// costs no large allocation (which made malloc consolidate its fast bins on every batch).
class ByteViews {
 public:
  template <typename Objects>
  explicit ByteViews(const Objects& objects) {
    const size_t count = std::size(objects);
    if (count > kInline) heap_ = std::make_unique<Py_buffer[]>(count);
    Py_buffer* buffers = count > kInline ? heap_.get() : inline_;
    views_.reserve(count);
    for (const auto& object : objects) {
      Py_buffer& buffer = buffers[taken_];
      if (PyObject_GetBuffer(object.ptr(), &buffer, PyBUF_SIMPLE) != 0) {
        py::error_already_set error;  // taken before the releases below
        release();                    // the destructor does not run for a constructor that throws
        throw error;
      }
      ++taken_;
      views_.emplace_back(static_cast<const char*>(buffer.buf), static_cast<size_t>(buffer.len));
    }
  }
  ~ByteViews() { release(); }
  ByteViews(const ByteViews&) = delete;
  ByteViews& operator=(const ByteViews&) = delete;

  const std::vector<std::string_view>& views() const { return views_; }

 private:
  void release() {
    Py_buffer* buffers = heap_ ? heap_.get() : inline_;
    for (size_t i = 0; i < taken_; ++i) PyBuffer_Release(&buffers[i]);
    taken_ = 0;
  }

  static constexpr size_t kInline = 16;
  Py_buffer inline_[kInline];
  std::unique_ptr<Py_buffer[]> heap_;
  size_t taken_ = 0;
  std::vector<std::string_view> views_;
};

[[noreturn]] void refuseField(const char* field, const char* feature) {
  throw py::value_error(std::string("ReplicateConfig.") + field + ": " + feature +
                        " are not available in this build; leave it at its default");
}

// The engine handle setup(engine=...) takes: mooncake.engine.TransferEngine itself (its
// get_engine() returns the object).
bool isTransferEngine(const py::object& object) {
  py::object engine_type = py::module_::import("mooncake._mooncake").attr("TransferEngine");
  return py::isinstance(object, engine_type);
}

// `bytes` objects the store reads into directly (get, get_batch): made with the GIL taken back
// once each object's size is known, while the call itself runs without it.
class BytesRooms {
 public:
  explicit BytesRooms(size_t count) : objects_(count) {}
  DistributedStore::RoomFor maker() {
    return [this](size_t i, uint64_t size) -> void* {
      prepareHeapFor(size);
      py::gil_scoped_acquire gil;
      objects_[i] = py::reinterpret_steal<py::object>(
          PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size)));
      if (!objects_[i]) {
        PyErr_Clear();
        return nullptr;
      }
      return PyBytes_AS_STRING(objects_[i].ptr());
    };
  }
  // Object i holding `size` bytes; b"" for a failure (size < 0), upstream's contract.
  py::object take(size_t i, int64_t size) {
    py::object object = std::move(objects_[i]);
    if (size < 0 || !object) return py::bytes();
    if (size < PyBytes_GET_SIZE(object.ptr())) {  // the object shrank while being read
      return py::bytes(PyBytes_AS_STRING(object.ptr()), static_cast<size_t>(size));
    }
    return object;
  }

 private:
  std::vector<py::object> objects_;
};

}  // namespace

void bindStore(py::module_& module) {
  py::enum_<SoftPinAction>(module, "SoftPinAction")
      .value("PRESERVE", SoftPinAction::PRESERVE)
      .value("ENABLE", SoftPinAction::ENABLE)
      .value("DISABLE", SoftPinAction::DISABLE);

  py::class_<ReplicateConfig>(module, "ReplicateConfig")
      .def(py::init<>())
      .def_readwrite("replica_num", &ReplicateConfig::replica_num)
      .def_readwrite("with_soft_pin", &ReplicateConfig::with_soft_pin)
      .def_property(
          "soft_pin_action",
          [](const ReplicateConfig& c) {
            return c.with_soft_pin ? SoftPinAction::ENABLE : SoftPinAction::PRESERVE;
          },
          [](ReplicateConfig& c, SoftPinAction action) {
            c.with_soft_pin = action == SoftPinAction::ENABLE;
          })
      // None or a non-negative integer that fits in 64 bits; anything else is a TypeError.
      .def_readwrite("soft_pin_ttl_ms", &ReplicateConfig::soft_pin_ttl_ms)
      .def_readwrite("with_hard_pin", &ReplicateConfig::with_hard_pin)
      .def_readwrite("preferred_segments", &ReplicateConfig::preferred_segments)
      .def_property(
          "preferred_segment",
          [](const ReplicateConfig& c) {
            return c.preferred_segments.empty() ? std::string() : c.preferred_segments.front();
          },
          [](ReplicateConfig& c, const std::string& segment) {
            c.preferred_segments.clear();
            if (!segment.empty()) c.preferred_segments.push_back(segment);
          })
      .def_readwrite("prefer_alloc_in_same_node", &ReplicateConfig::prefer_alloc_in_same_node)
      // Upstream fields for tiers this build lacks: readable, settable to their default only.
      .def_property(
          "nof_replica_num", [](const ReplicateConfig&) { return 0; },
          [](ReplicateConfig&, int64_t value) {
            if (value != 0) refuseField("nof_replica_num", "replicas on NVMe-oF storage");
          })
      .def_property(
          "dfs_replica_num", [](const ReplicateConfig&) { return 0; },
          [](ReplicateConfig&, int64_t value) {
            if (value != 0) refuseField("dfs_replica_num", "replicas on a distributed file system");
          })
      .def_property(
          "preferred_nof_segments",
          [](const ReplicateConfig&) { return std::vector<std::string>(); },
          [](ReplicateConfig&, const std::vector<std::string>& value) {
            if (!value.empty()) refuseField("preferred_nof_segments", "NVMe-oF segments");
          })
      .def_property(
          "group_ids", [](const ReplicateConfig&) { return py::none(); },
          [](ReplicateConfig&, const std::optional<std::vector<std::string>>& value) {
            if (value && !value->empty()) refuseField("group_ids", "replica groups");
          })
      .def("__repr__", [](const ReplicateConfig& c) {
        return "ReplicateConfig(replica_num=" + std::to_string(c.replica_num) +
               ", with_soft_pin=" + (c.with_soft_pin ? "True" : "False") +
               ", with_hard_pin=" + (c.with_hard_pin ? "True" : "False") +
               ", preferred_segments=" + std::to_string(c.preferred_segments.size()) + ")";
      });

  py::enum_<ReplicaStatus>(module, "ReplicaStatus")
      .value("UNDEFINED", ReplicaStatus::UNDEFINED)
      .value("INITIALIZED", ReplicaStatus::INITIALIZED)
      .value("PROCESSING", ReplicaStatus::PROCESSING)
      .value("COMPLETE", ReplicaStatus::COMPLETE)
      .value("REMOVED", ReplicaStatus::REMOVED)
      .value("FAILED", ReplicaStatus::FAILED)
      .export_values();
  py::class_<store::ReplicaLocation>(module, "Descriptor")
      .def_readwrite("size", &store::ReplicaLocation::size)
      .def_readwrite("buffer_address", &store::ReplicaLocation::buffer_address)
      .def_readwrite("transport_endpoint", &store::ReplicaLocation::transport_endpoint)
      .def("__repr__", [](const store::ReplicaLocation& d) {
        return "<Descriptor size=" + std::to_string(d.size) +
               " buffer_address=" + std::to_string(d.buffer_address) +
               " transport_endpoint=" + d.transport_endpoint + ">";
      });
  py::class_<MemoryDescriptor>(module, "MemoryDescriptor")
      .def_readwrite("buffer_descriptor", &MemoryDescriptor::buffer_descriptor);
  py::class_<DiskDescriptor>(module, "DiskDescriptor")
      .def_readonly("file_path", &DiskDescriptor::file_path)
      .def_readonly("object_size", &DiskDescriptor::object_size)
      .def_readonly("transport_endpoint", &DiskDescriptor::transport_endpoint);
  py::class_<ReplicaDescriptor>(module, "ReplicaDescriptor")
      .def_property_readonly("status",
                             [](const ReplicaDescriptor&) { return ReplicaStatus::COMPLETE; })
      .def("is_memory_replica",
           [](const ReplicaDescriptor& r) { return r.location.disk_endpoint.empty(); })
      .def("is_disk_replica",
           [](const ReplicaDescriptor& r) { return !r.location.disk_endpoint.empty(); })
      .def("get_memory_descriptor",
           [](const ReplicaDescriptor& r) {
             if (!r.location.disk_endpoint.empty()) {
               throw py::value_error(
                   "a disk replica has no memory descriptor (is_memory_replica())");
             }
             return MemoryDescriptor{r.location};
           })
      .def("get_disk_descriptor",
           [](const ReplicaDescriptor& r) -> DiskDescriptor {
             if (r.location.disk_endpoint.empty()) {
               throw py::value_error("a memory replica has no disk descriptor (is_disk_replica())");
             }
             return {"", r.location.size, r.location.transport_endpoint};
           })
      .def("__repr__", [](const ReplicaDescriptor& r) {
        return std::string("<ReplicaDescriptor COMPLETE ") +
               (r.location.disk_endpoint.empty() ? "memory" : "disk") + " at " +
               r.location.transport_endpoint + ">";
      });

  py::class_<ObjectBuffer, std::shared_ptr<ObjectBuffer>>(module, "BufferHandle",
                                                          py::buffer_protocol())
      .def_buffer([](ObjectBuffer& b) {
        return py::buffer_info(const_cast<char*>(b.data()), 1,
                               py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(b.size())}, {1}, /*readonly=*/true);
      })
      .def("ptr", [](const ObjectBuffer& b) { return reinterpret_cast<uint64_t>(b.data()); })
      .def("size", &ObjectBuffer::size)
      .def("__len__", &ObjectBuffer::size);

  py::class_<DistributedStore>(module, "MooncakeDistributedStore")
      .def(py::init<>())
      .def(
          "setup",
          [](DistributedStore& s, const std::string& local_hostname,
             const std::string& metadata_server, uint64_t global_segment_size,
             uint64_t local_buffer_size, const std::string& protocol,
             const std::string& rdma_devices, const std::string& master_server_addr,
             const py::object& engine, bool enable_ssd_offload,
             const std::string& ssd_offload_path, const std::string& tenant_id,
             bool enable_client_http_server, int64_t client_http_port) {
            python_api::StoreSetup setup;
            setup.local_hostname = local_hostname;
            setup.metadata_server = metadata_server;
            setup.global_segment_size = global_segment_size;
            setup.local_buffer_size = local_buffer_size;
            setup.protocol = protocol;
            setup.rdma_devices = rdma_devices;
            setup.master_server_addr = master_server_addr;
            setup.enable_ssd_offload = enable_ssd_offload;
            setup.ssd_offload_path = ssd_offload_path;
            setup.tenant_id = tenant_id;
            setup.enable_client_http_server = enable_client_http_server;
            setup.client_http_port = client_http_port;
            if (!engine.is_none()) {
              if (!isTransferEngine(engine)) {
                throw py::type_error(
                    "setup: engine must be None or a mooncake.engine.TransferEngine (or what its "
                    "get_engine() returns), not " +
                    py::str(py::type::of(engine)).cast<std::string>());
              }
              setup.engine = engine.cast<python_api::EngineApi&>().sharedEngine();
              if (setup.engine == nullptr) {
                throw py::value_error(
                    "setup: the TransferEngine given as engine is not initialized (call its "
                    "initialize() first)");
              }
            }
            py::gil_scoped_release release;
            return s.setup(setup);
          },
          py::arg("local_hostname"), py::arg("metadata_server"),
          py::arg("global_segment_size") = 16ull << 20, py::arg("local_buffer_size") = 16ull << 20,
          py::arg("protocol") = "tcp", py::arg("rdma_devices") = "",
          py::arg("master_server_addr") = "127.0.0.1:50051", py::arg("engine") = py::none(),
          py::arg("enable_ssd_offload") = false, py::arg("ssd_offload_path") = "",
          py::arg("tenant_id") = "default", py::arg("enable_client_http_server") = false,
          py::arg("client_http_port") = 9300,
          py::keep_alive<1, 9>())  // a shared engine lives at least as long as the store
      .def(
          "setup",
          [](DistributedStore& s, const py::dict& config) {
            std::map<std::string, std::string> values;
            for (const auto& [key, value] : config) {
              if (!py::isinstance<py::str>(value) && !py::isinstance<py::int_>(value)) {
                throw py::type_error("setup: config['" + py::str(key).cast<std::string>() +
                                     "'] must be a str or an int");
              }
              values[py::str(key)] = py::str(value);
            }
            py::gil_scoped_release release;
            return s.setupFromConfig(values);
          },
          py::arg("config"))
      .def("setup_dummy", &DistributedStore::setupDummy, py::arg("mem_pool_size"),
           py::arg("local_buffer_size"), py::arg("server_address"), Release())
      .def("alloc_from_mem_pool", &DistributedStore::allocFromMemPool, py::arg("size"), Release())
      .def("close", &DistributedStore::close, Release())
      .def("get_hostname", &DistributedStore::hostname, Release())
      .def("health_check", &DistributedStore::healthCheck, Release())
      .def("batch_replica_clear", &DistributedStore::batchReplicaClear, py::arg("keys"),
           py::arg("segment_name") = "", Release())
      .def(
          "get_replica_desc",
          [](DistributedStore& s, const std::string& key) {
            std::vector<store::ReplicaLocation> found;
            {
              py::gil_scoped_release release;
              found = s.replicaLocations(key);
            }
            std::vector<ReplicaDescriptor> out;
            for (auto& location : found) out.push_back({std::move(location)});
            return out;
          },
          py::arg("key"))
      .def(
          "batch_get_replica_desc",
          [](DistributedStore& s, const std::vector<std::string>& keys) {
            std::map<std::string, std::vector<store::ReplicaLocation>> found;
            {
              py::gil_scoped_release release;
              found = s.batchReplicaLocations(keys);
            }
            std::map<std::string, std::vector<ReplicaDescriptor>> out;
            for (auto& [key, locations] : found) {
              auto& list = out[key];
              for (auto& location : locations) list.push_back({std::move(location)});
            }
            return out;
          },
          py::arg("keys"))
      .def(
          "put",
          [](DistributedStore& s, const std::string& key, const py::buffer& value,
             const std::optional<ReplicateConfig>& config) {
            ByteViews views(std::array<py::handle, 1>{value});
            py::gil_scoped_release release;
            return s.put(key, views.views()[0], orDefault(config));
          },
          py::arg("key"), py::arg("value"), py::arg("config") = py::none())
      .def(
          "upsert",
          [](DistributedStore& s, const std::string& key, const py::buffer& value,
             const std::optional<ReplicateConfig>& config) {
            ByteViews views(std::array<py::handle, 1>{value});
            py::gil_scoped_release release;
            return s.upsert(key, views.views()[0], orDefault(config));
          },
          py::arg("key"), py::arg("value"), py::arg("config") = py::none())
      .def(
          "put_parts",
          [](DistributedStore& s, const std::string& key, const py::args& parts,
             const std::optional<ReplicateConfig>& config) {
            ByteViews views(parts);
            py::gil_scoped_release release;
            return s.putParts(key, views.views(), orDefault(config));
          },
          py::arg("key"), py::arg("config") = py::none())
      .def(
          "upsert_parts",
          [](DistributedStore& s, const std::string& key, const py::args& parts,
             const std::optional<ReplicateConfig>& config) {
            ByteViews views(parts);
            py::gil_scoped_release release;
            return s.upsertParts(key, views.views(), orDefault(config));
          },
          py::arg("key"), py::arg("config") = py::none())
      .def(
          "put_batch",
          [](DistributedStore& s, const std::vector<std::string>& keys,
             const std::vector<py::buffer>& values, const std::optional<ReplicateConfig>& config) {
            ByteViews views(values);
            py::gil_scoped_release release;
            return s.putBatch(keys, views.views(), orDefault(config));
          },
          py::arg("keys"), py::arg("values"), py::arg("config") = py::none())
      .def(
          "upsert_batch",
          [](DistributedStore& s, const std::vector<std::string>& keys,
             const std::vector<py::buffer>& values, const std::optional<ReplicateConfig>& config) {
            ByteViews views(values);
            py::gil_scoped_release release;
            return s.upsertBatch(keys, views.views(), orDefault(config));
          },
          py::arg("keys"), py::arg("values"), py::arg("config") = py::none())
      .def(
          "get",
          [](DistributedStore& s, const std::string& key) {
            BytesRooms rooms(1);
            int64_t size;
            {
              py::gil_scoped_release release;
              size = s.getIntoRoom(key, rooms.maker());
            }
            return rooms.take(0, size);
          },
          py::arg("key"))
      .def(
          "get_batch",
          [](DistributedStore& s, const std::vector<std::string>& keys) {
            BytesRooms rooms(keys.size());
            std::vector<int64_t> sizes;
            {
              py::gil_scoped_release release;
              sizes = s.batchGetIntoRooms(keys, rooms.maker());
            }
            py::list out;
            for (size_t i = 0; i < keys.size(); ++i) {
              out.append(rooms.take(i, i < sizes.size() ? sizes[i] : -1));
            }
            return out;
          },
          py::arg("keys"))
      .def("get_buffer", &DistributedStore::getBuffer, py::arg("key"), Release())
      .def("batch_get_buffer", &DistributedStore::batchGetBuffer, py::arg("keys"), Release())

      .def("register_buffer", &DistributedStore::registerBuffer, py::arg("buffer_ptr"),
           py::arg("size"), Release())
      .def("unregister_buffer", &DistributedStore::unregisterBuffer, py::arg("buffer_ptr"),
           Release())
      .def(
          "put_from",
          [](DistributedStore& s, const std::string& key, uint64_t buffer_ptr, uint64_t size,
             const std::optional<ReplicateConfig>& config) {
            return s.putFrom(key, buffer_ptr, size, orDefault(config));
          },
          py::arg("key"), py::arg("buffer_ptr"), py::arg("size"), py::arg("config") = py::none(),
          Release())
      .def(
          "upsert_from",
          [](DistributedStore& s, const std::string& key, uint64_t buffer_ptr, uint64_t size,
             const std::optional<ReplicateConfig>& config) {
            return s.upsertFrom(key, buffer_ptr, size, orDefault(config));
          },
          py::arg("key"), py::arg("buffer_ptr"), py::arg("size"), py::arg("config") = py::none(),
          Release())
      .def("get_into", &DistributedStore::getInto, py::arg("key"), py::arg("buffer_ptr"),
           py::arg("size"), Release())
      .def(
          "batch_put_from",
          [](DistributedStore& s, const std::vector<std::string>& keys,
             const std::vector<uint64_t>& buffer_ptrs, const std::vector<uint64_t>& sizes,
             const std::optional<ReplicateConfig>& config) {
            return s.batchPutFrom(keys, buffer_ptrs, sizes, orDefault(config));
          },
          py::arg("keys"), py::arg("buffer_ptrs"), py::arg("sizes"), py::arg("config") = py::none(),
          Release())
      .def(
          "batch_upsert_from",
          [](DistributedStore& s, const std::vector<std::string>& keys,
             const std::vector<uint64_t>& buffer_ptrs, const std::vector<uint64_t>& sizes,
             const std::optional<ReplicateConfig>& config) {
            return s.batchUpsertFrom(keys, buffer_ptrs, sizes, orDefault(config));
          },
          py::arg("keys"), py::arg("buffer_ptrs"), py::arg("sizes"), py::arg("config") = py::none(),
          Release())
      .def("batch_get_into", &DistributedStore::batchGetInto, py::arg("keys"),
           py::arg("buffer_ptrs"), py::arg("sizes"), Release())
      .def(
          "batch_put_from_multi_buffers",
          [](DistributedStore& s, const std::vector<std::string>& keys,
             const std::vector<std::vector<uint64_t>>& all_buffer_ptrs,
             const std::vector<std::vector<uint64_t>>& all_sizes,
             const std::optional<ReplicateConfig>& config) {
            return s.batchPutFromMultiBuffers(keys, all_buffer_ptrs, all_sizes, orDefault(config));
          },
          py::arg("keys"), py::arg("all_buffer_ptrs"), py::arg("all_sizes"),
          py::arg("config") = py::none(), Release())
      .def(
          "batch_get_into_multi_buffers",
          [](DistributedStore& s, const std::vector<std::string>& keys,
             const std::vector<std::vector<uint64_t>>& all_buffer_ptrs,
             const std::vector<std::vector<uint64_t>>& all_sizes, bool /*prefer_alloc_in_same_node:
                                                                         reads ignore it*/) {
            return s.batchGetIntoMultiBuffers(keys, all_buffer_ptrs, all_sizes);
          },
          py::arg("keys"), py::arg("all_buffer_ptrs"), py::arg("all_sizes"),
          py::arg("prefer_alloc_in_same_node") = false, Release())
      // Upstream's buffer-major form (see DistributedStore::getIntoRangesByBuffer).
      .def("get_into_ranges", &DistributedStore::getIntoRangesByBuffer, py::arg("buffer_ptrs"),
           py::arg("all_keys"), py::arg("all_dst_offsets"), py::arg("all_src_offsets"),
           py::arg("all_sizes"), Release())
      // This project's earlier single-key form: one object's ranges, total bytes or a code.
      .def("get_into_ranges", &DistributedStore::getIntoRanges, py::arg("key"),
           py::arg("buffer_ptrs"), py::arg("offsets"), py::arg("sizes"), Release())
      .def("is_exist", &DistributedStore::isExist, py::arg("key"), Release())
      .def("batch_is_exist", &DistributedStore::batchIsExist, py::arg("keys"), Release())
      .def("get_size", &DistributedStore::getSize, py::arg("key"), Release())
      .def("remove", &DistributedStore::remove, py::arg("key"), py::arg("force") = false, Release())
      .def("remove_by_regex", &DistributedStore::removeByRegex, py::arg("regex_pattern"),
           py::arg("force") = false, Release())
      .def("remove_all", &DistributedStore::removeAll, py::arg("force") = false, Release())
      .def("batch_remove", &DistributedStore::batchRemove, py::arg("keys"),
           py::arg("force") = false, Release());
}

}  // namespace mooncake::python
