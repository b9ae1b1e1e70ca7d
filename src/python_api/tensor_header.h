// The header of a tensor stored by put_tensor (upstream's "tensor object v1"): 304 bytes, then
// the tensor's bytes in C order. Fields, little-endian: magic "NOOM" (0x4d4f4f4e), version 1,
// header size, dtype code, ndim, layout (0 full, 1 shard), flags, data offset, data bytes; the
// global and the local shape (8 int64 each, -1 past ndim); an axis count and 4 axes of 32 bytes.
// docs/PYTHON.md "Tensors" lists the dtype codes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mooncake/common/status.h"

namespace mooncake::python_api {

inline constexpr size_t kTensorHeaderSize = 304;
inline constexpr int kTensorMaxDims = 8;

struct TensorLayout {
  int32_t dtype = 0;
  std::vector<int64_t> shape;  // the local shape: what a get returns
  uint64_t data_offset = 0;
  uint64_t data_bytes = 0;
};

// Bytes per element of a dtype code, 0 for an unknown code.
size_t tensorElementSize(int32_t dtype);

// The header of a full (not sharded) tensor. INVALID_PARAMS for an unknown dtype, more than 8
// dims, a negative dim, or data_bytes that the shape and dtype do not make.
Result<std::string> encodeTensorHeader(int32_t dtype, const std::vector<int64_t>& shape,
                                       uint64_t data_bytes);

// Checks an object's first bytes (at least kTensorHeaderSize of `total_size`, or all of a smaller
// object) and says what it holds. Objects in upstream's first format (a 40-byte header: int32
// dtype 0-14, int32 ndim 0-4, int64 shape[4], -1 past ndim; written by older upstream releases,
// which the newest cannot read) decode too, with data_offset 40. INVALID_PARAMS naming what is
// wrong: not a tensor object, another version, a bad dtype or shape, or a length that does not
// match.
Result<TensorLayout> decodeTensorHeader(std::string_view prefix, uint64_t total_size);

}  // namespace mooncake::python_api
