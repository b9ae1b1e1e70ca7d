// The C++ half of mooncake.tensor: the tensor header (src/python_api/tensor_header.h) and the two
// calls that move a tensor's bytes, each one C++ call with the GIL released around the transfer.
// Python code that runs after a transfer runs cold (caches and TLB refilled by the copy); doing
// the header here made a 1 MiB get_tensor ~10% faster (docs/BENCHMARKS.md "Tensors").
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>

#include "common/logging.h"
#include "heap_tuning.h"
#include "python_api/distributed_store.h"
#include "python_api/tensor_header.h"

namespace py = pybind11;

namespace mooncake::python {
namespace {

using python_api::DistributedStore;
using store::ReplicateConfig;

// numpy's name for the dtype codes torch.from_numpy takes as they are (null: the rest, which
// numpy lacks: bfloat16, the float8 types, complex32, and what torch 1.13 cannot import).
const char* numpyFormat(int32_t dtype) {
  switch (dtype) {
    case 0:
      return "f4";
    case 1:
      return "f8";
    case 2:
      return "i1";
    case 3:
      return "u1";
    case 4:
      return "i2";
    case 6:
      return "i4";
    case 8:
      return "i8";
    case 10:
      return "?";
    case 11:
      return "f2";
    case 15:
      return "c8";
    case 16:
      return "c16";
    default:
      return nullptr;
  }
}

// The numpy dtype objects, made once (numpy parses a format string on every py::dtype(...)).
// Never destroyed: they would outlive the interpreter at exit.
const py::dtype& numpyDtype(int32_t code) {
  static auto* table = [] {
    auto* made = new std::vector<py::dtype>();
    for (int32_t c = 0; c < 17; ++c) {
      const char* format = numpyFormat(c);
      made->push_back(format != nullptr ? py::dtype(format) : py::dtype("u1"));
    }
    return made;
  }();
  return (*table)[static_cast<size_t>(code) < table->size() ? code : 3];
}

py::tuple layoutTuple(const python_api::TensorLayout& layout) {
  return py::make_tuple(layout.dtype, py::tuple(py::cast(layout.shape)), layout.data_offset,
                        layout.data_bytes);
}

// put_tensor's body: the header, then the caller's bytes, as one object (one copy).
int putTensorRaw(DistributedStore& s, const std::string& key, int32_t dtype,
                 const std::vector<int64_t>& shape, uint64_t data_ptr, uint64_t data_bytes,
                 const std::optional<ReplicateConfig>& config, bool upsert) {
  auto header = python_api::encodeTensorHeader(dtype, shape, data_bytes);
  if (!header.ok()) {
    LOG(ERROR) << "put_tensor('" << key << "'): " << header.status().message();
    return header.status().value();
  }
  py::gil_scoped_release release;
  std::vector<std::string_view> parts = {
      *header, std::string_view(reinterpret_cast<const char*>(data_ptr), data_bytes)};
  const ReplicateConfig& chosen = config ? *config : ReplicateConfig{};
  return upsert ? s.upsertParts(key, parts, chosen) : s.putParts(key, parts, chosen);
}

// get_tensor's body: per key None, or (dtype code, shape, a numpy array holding the data,
// whether the array already has the tensor's dtype and shape). Each object is read straight into
// a new uint8 array (made with the GIL taken back once its size is known); the data is a view of
// it past the header (offset 304, or 40 for upstream's first format: aligned for every dtype), so
// the network's copy is the only one.
py::list batchGetTensorRaw(DistributedStore& s, const std::vector<std::string>& keys) {
  std::vector<py::array> rooms(keys.size());
  DistributedStore::RoomFor maker = [&rooms](size_t i, uint64_t size) -> void* {
    prepareHeapFor(size);
    py::gil_scoped_acquire gil;
    try {
      rooms[i] = py::array(numpyDtype(3), std::vector<py::ssize_t>{static_cast<py::ssize_t>(size)});
      return rooms[i].mutable_data();
    } catch (...) {  // out of memory: that key fails
      PyErr_Clear();
      rooms[i] = py::array();
      return nullptr;
    }
  };
  std::vector<int64_t> sizes;
  {
    py::gil_scoped_release release;
    // One key: the single-key read, which overlaps the lookup with the read of a remembered
    // replica (the batch read asks the master first).
    sizes = keys.size() == 1 ? std::vector{s.getIntoRoom(keys.front(), maker)}
                             : s.batchGetIntoRooms(keys, maker);
  }
  py::list out;
  for (size_t i = 0; i < keys.size(); ++i) {
    const int64_t size = i < sizes.size() ? sizes[i] : -1;
    if (size < 0 || !rooms[i]) {
      out.append(py::none());
      continue;
    }
    const char* object = static_cast<const char*>(rooms[i].data());
    auto layout = python_api::decodeTensorHeader(
        std::string_view(object, std::min<uint64_t>(size, python_api::kTensorHeaderSize)), size);
    if (!layout.ok()) {
      LOG(ERROR) << "get_tensor('" << keys[i] << "'): " << layout.status().message();
      out.append(py::none());
      continue;
    }
    // An array of the tensor's own dtype and shape when numpy has them (torch.from_numpy is
    // then the only torch call), else flat bytes for Python to view.
    const char* format = numpyFormat(layout->dtype);
    const void* data = object + layout->data_offset;
    py::array view =
        format != nullptr
            ? py::array(numpyDtype(layout->dtype),
                        std::vector<py::ssize_t>(layout->shape.begin(), layout->shape.end()), {},
                        data, rooms[i])
            : py::array(numpyDtype(3),
                        std::vector<py::ssize_t>{static_cast<py::ssize_t>(layout->data_bytes)}, {},
                        data, rooms[i]);
    out.append(
        py::make_tuple(layout->dtype, py::tuple(py::cast(layout->shape)), view, format != nullptr));
  }
  return out;
}

}  // namespace

void bindTensors(py::module_& module) {
  module.def(
      "_tensor_header",
      [](int32_t dtype, const std::vector<int64_t>& shape, uint64_t data_bytes) {
        auto header = python_api::encodeTensorHeader(dtype, shape, data_bytes);
        if (!header.ok()) throw py::value_error(header.status().message());
        return py::bytes(*header);
      },
      py::arg("dtype"), py::arg("shape"), py::arg("data_bytes"));
  module.def(
      "_parse_tensor_header",
      [](const py::bytes& prefix, uint64_t total_size) {
        auto layout = python_api::decodeTensorHeader(std::string_view(prefix), total_size);
        if (!layout.ok()) throw py::value_error(layout.status().message());
        return layoutTuple(*layout);
      },
      py::arg("prefix"), py::arg("total_size"));
  py::object store = module.attr("MooncakeDistributedStore");
  store.attr("_put_tensor_raw") = py::cpp_function(
      putTensorRaw, py::name("_put_tensor_raw"), py::is_method(store), py::arg("key"),
      py::arg("dtype"), py::arg("shape"), py::arg("data_ptr"), py::arg("data_bytes"),
      py::arg("config") = py::none(), py::arg("upsert") = false);
  store.attr("_batch_get_tensor_raw") = py::cpp_function(
      batchGetTensorRaw, py::name("_batch_get_tensor_raw"), py::is_method(store), py::arg("keys"));
}

}  // namespace mooncake::python
