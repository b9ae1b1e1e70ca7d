// mooncake.engine: TransferEngine (and TransferOpcode). Type conversion only: every call goes to
// python_api::EngineApi with the GIL released.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "python_api/engine_api.h"

namespace py = pybind11;

namespace mooncake::python {
namespace {

using python_api::EngineApi;
using Release = py::call_guard<py::gil_scoped_release>;

enum class TransferOpcode { Read = 0, Write = 1 };

TransferRequest::OpCode opcodeOf(TransferOpcode opcode) {
  return opcode == TransferOpcode::Write ? TransferRequest::WRITE : TransferRequest::READ;
}

}  // namespace

void bindEngine(py::module_& module) {
  py::enum_<TransferOpcode>(module, "TransferOpcode")
      .value("Read", TransferOpcode::Read)
      .value("Write", TransferOpcode::Write)
      .export_values();

  py::class_<TransferNotify>(module, "TransferNotify")
      .def(py::init<>())
      .def(py::init([](const std::string& name, const std::string& msg) {
             return TransferNotify{name, msg};
           }),
           py::arg("name"), py::arg("msg"))
      .def_readwrite("name", &TransferNotify::name)
      .def_readwrite("msg", &TransferNotify::message)
      .def("__repr__", [](const TransferNotify& n) {
        return "TransferNotify(name='" + n.name + "', msg='" + n.message + "')";
      });

  py::class_<EngineApi> engine(module, "TransferEngine");
  engine.attr("TransferOpcode") = module.attr("TransferOpcode");
  engine.def(py::init<>())
      .def("initialize", &EngineApi::initialize, py::arg("local_hostname"),
           py::arg("metadata_server"), py::arg("protocol") = "tcp", py::arg("device_name") = "",
           Release())
      // The handle a store's setup(engine=...) takes (upstream returns its inner engine).
      .def("get_engine", [](py::object self) { return self; })
      .def("initialize_ext", &EngineApi::initializeExt, py::arg("local_hostname"),
           py::arg("metadata_server"), py::arg("protocol"), py::arg("device_name"),
           py::arg("metadata_type"), Release())
      .def("get_notifies", &EngineApi::notifies, Release())
      .def(
          "batch_transfer_sync",
          [](EngineApi& e, const std::string& target, const std::vector<uint64_t>& buffers,
             const std::vector<uint64_t>& peers, const std::vector<uint64_t>& lengths,
             TransferOpcode opcode, const std::optional<TransferNotify>& notify) {
            int rc = e.batchTransferSync(target, buffers, peers, lengths, opcodeOf(opcode));
            if (rc == 0 && notify) rc = e.sendNotify(target, *notify);
            return rc;
          },
          py::arg("target_hostname"), py::arg("buffers"), py::arg("peer_buffer_addresses"),
          py::arg("lengths"), py::arg("opcode"), py::arg("notify") = py::none(), Release())
      .def(
          "batch_transfer_async",
          [](EngineApi& e, const std::string& target, const std::vector<uint64_t>& buffers,
             const std::vector<uint64_t>& peers, const std::vector<uint64_t>& lengths,
             TransferOpcode opcode) {
            return e.batchTransferAsync(target, buffers, peers, lengths, opcodeOf(opcode));
          },
          py::arg("target_hostname"), py::arg("buffers"), py::arg("peer_buffer_addresses"),
          py::arg("lengths"), py::arg("opcode"), Release())
      .def("get_rpc_port", &EngineApi::rpcPort)
      .def("get_local_segment_name", &EngineApi::localSegmentName)
      .def("register_memory", &EngineApi::registerMemory, py::arg("buffer_addr"),
           py::arg("capacity"), Release())
      .def("unregister_memory", &EngineApi::unregisterMemory, py::arg("buffer_addr"), Release())
      .def("batch_register_memory", &EngineApi::batchRegisterMemory, py::arg("buffer_addresses"),
           py::arg("capacities"), Release())
      .def("batch_unregister_memory", &EngineApi::batchUnregisterMemory,
           py::arg("buffer_addresses"), Release())
      .def("allocate_managed_buffer", &EngineApi::allocateManagedBuffer, py::arg("length"),
           Release())
      .def("free_managed_buffer", &EngineApi::freeManagedBuffer, py::arg("buffer_addr"),
           py::arg("length"), Release())
      .def("get_first_buffer_address", &EngineApi::firstBufferAddress, py::arg("segment_name"),
           Release())
      .def(
          "write_bytes_to_buffer",
          [](EngineApi& e, uint64_t dest_address, const py::bytes& data, uint64_t length) {
            std::string_view view = data;
            if (length > view.size()) {
              throw py::value_error("write_bytes_to_buffer: length exceeds the data");
            }
            py::gil_scoped_release release;
            return e.writeBytesToBuffer(dest_address, view.data(), length);
          },
          py::arg("dest_address"), py::arg("src_data"), py::arg("length"))
      .def(
          "read_bytes_from_buffer",
          [](EngineApi& e, uint64_t source_address, uint64_t length) {
            std::string bytes;
            {
              py::gil_scoped_release release;
              bytes = e.readBytesFromBuffer(source_address, length);
            }
            return py::bytes(bytes);
          },
          py::arg("source_address"), py::arg("length"))
      .def(
          "transfer_sync_write",
          [](EngineApi& e, const std::string& target, uint64_t buffer, uint64_t peer,
             uint64_t length) {
            return e.transferSync(target, buffer, peer, length, TransferRequest::WRITE);
          },
          py::arg("target_hostname"), py::arg("buffer"), py::arg("peer_buffer_address"),
          py::arg("length"), Release())
      .def(
          "transfer_sync_read",
          [](EngineApi& e, const std::string& target, uint64_t buffer, uint64_t peer,
             uint64_t length) {
            return e.transferSync(target, buffer, peer, length, TransferRequest::READ);
          },
          py::arg("target_hostname"), py::arg("buffer"), py::arg("peer_buffer_address"),
          py::arg("length"), Release())
      .def(
          "transfer_sync",
          [](EngineApi& e, const std::string& target, uint64_t buffer, uint64_t peer,
             uint64_t length, TransferOpcode opcode, const std::optional<TransferNotify>& notify) {
            int rc = e.transferSync(target, buffer, peer, length, opcodeOf(opcode));
            if (rc == 0 && notify) rc = e.sendNotify(target, *notify);
            return rc;
          },
          py::arg("target_hostname"), py::arg("buffer"), py::arg("peer_buffer_address"),
          py::arg("length"), py::arg("opcode"), py::arg("notify") = py::none(), Release())
      .def(
          "batch_transfer_sync_write",
          [](EngineApi& e, const std::string& target, const std::vector<uint64_t>& buffers,
             const std::vector<uint64_t>& peers, const std::vector<uint64_t>& lengths) {
            return e.batchTransferSync(target, buffers, peers, lengths, TransferRequest::WRITE);
          },
          py::arg("target_hostname"), py::arg("buffers"), py::arg("peer_buffer_addresses"),
          py::arg("lengths"), Release())
      .def(
          "batch_transfer_sync_read",
          [](EngineApi& e, const std::string& target, const std::vector<uint64_t>& buffers,
             const std::vector<uint64_t>& peers, const std::vector<uint64_t>& lengths) {
            return e.batchTransferSync(target, buffers, peers, lengths, TransferRequest::READ);
          },
          py::arg("target_hostname"), py::arg("buffers"), py::arg("peer_buffer_addresses"),
          py::arg("lengths"), Release())
      .def(
          "batch_transfer_async_write",
          [](EngineApi& e, const std::string& target, const std::vector<uint64_t>& buffers,
             const std::vector<uint64_t>& peers, const std::vector<uint64_t>& lengths) {
            return e.batchTransferAsync(target, buffers, peers, lengths, TransferRequest::WRITE);
          },
          py::arg("target_hostname"), py::arg("buffers"), py::arg("peer_buffer_addresses"),
          py::arg("lengths"), Release())
      .def(
          "batch_transfer_async_read",
          [](EngineApi& e, const std::string& target, const std::vector<uint64_t>& buffers,
             const std::vector<uint64_t>& peers, const std::vector<uint64_t>& lengths) {
            return e.batchTransferAsync(target, buffers, peers, lengths, TransferRequest::READ);
          },
          py::arg("target_hostname"), py::arg("buffers"), py::arg("peer_buffer_addresses"),
          py::arg("lengths"), Release())
      .def("get_batch_transfer_status", &EngineApi::batchTransferStatus, py::arg("batch_ids"),
           Release())
      .def(
          "transfer_submit_write",
          [](EngineApi& e, const std::string& target, uint64_t buffer, uint64_t peer,
             uint64_t length) {
            return e.batchTransferAsync(target, {buffer}, {peer}, {length}, TransferRequest::WRITE);
          },
          py::arg("target_hostname"), py::arg("buffer"), py::arg("peer_buffer_address"),
          py::arg("length"), Release())
      .def("transfer_check_status", &EngineApi::checkStatus, py::arg("batch_id"), Release())
      .def("send_probe", &EngineApi::sendProbe, py::arg("segment_name"), Release())
      .def("get_local_topology", &EngineApi::localTopology, py::arg("device_name") = "");
}

}  // namespace mooncake::python
