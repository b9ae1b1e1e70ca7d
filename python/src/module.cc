// The `mooncake._mooncake` extension: the classes of mooncake.store and mooncake.engine.
#include <pybind11/pybind11.h>

#include "common/logging.h"

namespace py = pybind11;

namespace mooncake::python {
void bindStore(py::module_& module);
void bindEngine(py::module_& module);
void bindTensors(py::module_& module);  // after bindStore: it adds calls to its class
}  // namespace mooncake::python

PYBIND11_MODULE(_mooncake, module) {
  module.doc() = "Mooncake Transfer Engine and Store (C++20 implementation)";
  mooncake::initLogging("mooncake-python");
  mooncake::python::bindStore(module);
  mooncake::python::bindEngine(module);
  mooncake::python::bindTensors(module);
}
