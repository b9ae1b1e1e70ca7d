#include "python_api/tensor_header.h"

#include <cstring>

namespace mooncake::python_api {
namespace {

constexpr uint32_t kMagic = 0x4D4F4F4E;
constexpr uint16_t kVersion = 1;
constexpr uint32_t kLayoutFull = 0;
constexpr uint32_t kLayoutShard = 1;
constexpr size_t kFixedPart = 40;  // magic .. data_bytes
constexpr size_t kGlobalShape = kFixedPart;
constexpr size_t kLocalShape = kGlobalShape + 8 * kTensorMaxDims;
// Upstream's first format: 40 bytes, dtype codes 0-14 only, up to 4 dims.
constexpr size_t kLegacyHeaderSize = 40;
constexpr int32_t kLegacyMaxDtype = 14;
constexpr int kLegacyMaxDims = 4;

// Element sizes by dtype code: upstream's 0-14, then this build's 15-19.
constexpr size_t kElementSizes[] = {4, 8, 1, 1, 2, 2, 4, 4, 8, 8, 1, 2, 2, 1, 1, 8, 16, 4, 1, 1};

template <typename T>
void put(std::string& out, size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof(T));
}

template <typename T>
T get(std::string_view in, size_t at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof(T));
  return value;
}

Status invalid(const std::string& why) {
  return Status::storeError(StoreErrorCode::INVALID_PARAMS, why);
}

// The `max_dims` int64 dims at `at` into out.shape: the first `ndim` non-negative, the rest -1,
// and their element count times `element` bytes exactly out.data_bytes.
Status readShape(std::string_view prefix, size_t at, int ndim, int max_dims, size_t element,
                 TensorLayout& out) {
  uint64_t numel = 1;
  for (int i = 0; i < max_dims; ++i) {
    const auto dim = get<int64_t>(prefix, at + 8 * i);
    if ((i < ndim && dim < 0) || (i >= ndim && dim != -1)) {
      return invalid("bad dim " + std::to_string(dim) + " at " + std::to_string(i) + " of " +
                     std::to_string(ndim));
    }
    if (i < ndim) {
      out.shape.push_back(dim);
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dim), &numel)) {
        return invalid("the shape's element count overflows");
      }
    }
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(numel, element, &bytes) || bytes != out.data_bytes) {
    return invalid("the shape does not make " + std::to_string(out.data_bytes) + " bytes");
  }
  return Status::OK();
}

}  // namespace

size_t tensorElementSize(int32_t dtype) {
  if (dtype < 0 || static_cast<size_t>(dtype) >= std::size(kElementSizes)) return 0;
  return kElementSizes[dtype];
}

Result<std::string> encodeTensorHeader(int32_t dtype, const std::vector<int64_t>& shape,
                                       uint64_t data_bytes) {
  const size_t element = tensorElementSize(dtype);
  if (element == 0) return invalid("dtype code " + std::to_string(dtype) + " is unknown");
  if (shape.size() > kTensorMaxDims) {
    return invalid("a tensor of " + std::to_string(shape.size()) + " dims (at most 8)");
  }
  uint64_t numel = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return invalid("negative dim " + std::to_string(dim));
    numel *= static_cast<uint64_t>(dim);
  }
  if (numel * element != data_bytes) {
    return invalid(std::to_string(data_bytes) + " data bytes for " + std::to_string(numel) +
                   " elements of " + std::to_string(element) + " bytes");
  }
  std::string out(kTensorHeaderSize, '\0');
  put<uint32_t>(out, 0, kMagic);
  put<uint16_t>(out, 4, kVersion);
  put<uint16_t>(out, 6, static_cast<uint16_t>(kTensorHeaderSize));
  put<int32_t>(out, 8, dtype);
  put<int32_t>(out, 12, static_cast<int32_t>(shape.size()));
  put<uint32_t>(out, 16, kLayoutFull);
  put<uint64_t>(out, 24, kTensorHeaderSize);
  put<uint64_t>(out, 32, data_bytes);
  for (int i = 0; i < kTensorMaxDims; ++i) {
    int64_t dim = i < static_cast<int>(shape.size()) ? shape[i] : -1;
    put<int64_t>(out, kGlobalShape + 8 * i, dim);
    put<int64_t>(out, kLocalShape + 8 * i, dim);
  }
  return out;  // axis count and axes stay 0: a full tensor
}

// Upstream's first tensor format (before the versioned header): int32 dtype, int32 ndim (0-4),
// int64 shape[4] (-1 past ndim), then the data. Its first word is a dtype code, never the magic.
Result<TensorLayout> decodeLegacyTensorHeader(std::string_view prefix, uint64_t total_size) {
  if (prefix.size() < kLegacyHeaderSize || total_size < kLegacyHeaderSize) {
    return invalid(std::to_string(total_size) + " bytes is too short for a tensor object");
  }
  TensorLayout out;
  out.dtype = get<int32_t>(prefix, 0);
  const auto ndim = get<int32_t>(prefix, 4);
  const size_t element = out.dtype <= kLegacyMaxDtype ? tensorElementSize(out.dtype) : 0;
  if (element == 0 || ndim < 0 || ndim > kLegacyMaxDims) {
    return invalid("no tensor header (the object was not stored by put_tensor)");
  }
  out.data_offset = kLegacyHeaderSize;
  out.data_bytes = total_size - kLegacyHeaderSize;
  if (!readShape(prefix, 8, ndim, kLegacyMaxDims, element, out).ok()) {
    return invalid("no tensor header (the object was not stored by put_tensor)");
  }
  return out;
}

Result<TensorLayout> decodeTensorHeader(std::string_view prefix, uint64_t total_size) {
  if (prefix.size() >= 4 && get<uint32_t>(prefix, 0) != kMagic) {
    return decodeLegacyTensorHeader(prefix, total_size);
  }
  if (total_size < kTensorHeaderSize || prefix.size() < kTensorHeaderSize) {
    return invalid(std::to_string(total_size) + " bytes is too short for a tensor object");
  }
  const auto version = get<uint16_t>(prefix, 4);
  const auto header_size = get<uint16_t>(prefix, 6);
  if (version != kVersion || header_size != kTensorHeaderSize) {
    return invalid("tensor object version " + std::to_string(version) + " (header " +
                   std::to_string(header_size) + " bytes) is not 1 (304 bytes)");
  }
  TensorLayout out;
  out.dtype = get<int32_t>(prefix, 8);
  const auto ndim = get<int32_t>(prefix, 12);
  const auto layout = get<uint32_t>(prefix, 16);
  out.data_offset = get<uint64_t>(prefix, 24);
  out.data_bytes = get<uint64_t>(prefix, 32);
  const size_t element = tensorElementSize(out.dtype);
  if (element == 0) return invalid("dtype code " + std::to_string(out.dtype) + " is unknown");
  if (ndim < 0 || ndim > kTensorMaxDims || (layout != kLayoutFull && layout != kLayoutShard)) {
    return invalid("bad ndim " + std::to_string(ndim) + " or layout " + std::to_string(layout));
  }
  if (out.data_offset < kTensorHeaderSize || out.data_offset > total_size ||
      out.data_bytes != total_size - out.data_offset) {
    return invalid("data at [" + std::to_string(out.data_offset) + ", +" +
                   std::to_string(out.data_bytes) + ") does not end the " +
                   std::to_string(total_size) + "-byte object");
  }
  MC_RETURN_IF_ERROR(readShape(prefix, kLocalShape, ndim, kTensorMaxDims, element, out));
  return out;
}

}  // namespace mooncake::python_api
