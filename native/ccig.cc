// ccig native addon: a thin, regular N-API binding over libtorch.
//
// Tensors live in a per-thread handle table; JavaScript holds integer handles. Every entry
// point runs inside guard(), which turns c10::Error (without its C++ backtrace) and
// std::exception into a JS Error, so the process never aborts. Ops are rows of tables
// (name -> lambda); the TypeScript layer (src/torch/) validates user-facing arguments.
#include <dlfcn.h>
#include <malloc.h>
#include <napi.h>
#include <torch/torch.h>
#include <torch/version.h>

// c10d process groups: Gloo where its headers are found (Debian: libgloo-dev), NCCL with a CUDA
// libtorch and CUDA's headers, each without the other; binding.gyp defines CCIG_GLOO / CCIG_NCCL
// and CCIG_DIST when either is there (scripts/find-libtorch.mjs).
#ifdef CCIG_DIST
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef CCIG_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef CCIG_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

// One source for libtorch 1.13 (Debian) and 2.x (pip torch, CUDA): where the C++ API differs,
// CCIG_TORCH_AT_LEAST picks the spelling. torch/version.h defines the numbers in both.
#define CCIG_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace {

// ---- handle table ---------------------------------------------------------------------------
// thread_local: each JS thread (main, worker_threads) has its own table and tensors.
struct Store {
  std::vector<at::Tensor> slots;
  std::vector<int64_t> bytes;  // bytes reported to V8 for each slot
  std::vector<int32_t> free;
  int64_t live = 0;
};
thread_local Store store;

int64_t tensorBytes(const at::Tensor& t) {
  return t.defined() ? static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size()) : 0;
}

// Bytes are reported to V8 only for tensors JavaScript may forget (track_external): reporting
// every short-lived activation made V8 run ~4 full collections per training step.
int32_t put(Napi::Env env, at::Tensor t) {
  int32_t id;
  if (!store.free.empty()) {
    id = store.free.back();
    store.free.pop_back();
  } else {
    id = static_cast<int32_t>(store.slots.size());
    store.slots.emplace_back();
    store.bytes.push_back(0);
  }
  store.slots[id] = std::move(t);
  store.bytes[id] = 0;
  store.live++;
  return id;
}

at::Tensor& get(int64_t id) {
  if (id < 0 || id >= static_cast<int64_t>(store.slots.size()) || !store.slots[id].defined()) {
    throw std::runtime_error("invalid tensor handle " + std::to_string(id) + " (disposed?)");
  }
  return store.slots[id];
}

void release(Napi::Env env, int64_t id) {
  if (id < 0 || id >= static_cast<int64_t>(store.slots.size()) || !store.slots[id].defined()) return;
  store.slots[id] = at::Tensor();
  if (store.bytes[id] > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -store.bytes[id]);
  store.bytes[id] = 0;
  store.free.push_back(static_cast<int32_t>(id));
  store.live--;
}

// ---- argument access ------------------------------------------------------------------------
struct Args {
  const Napi::CallbackInfo& info;
  const char* op;

  [[noreturn]] void bad(size_t i, const char* what) const {
    throw std::invalid_argument(std::string("argument ") + std::to_string(i) + " must be " + what);
  }
  bool has(size_t i) const { return i < info.Length() && !info[i].IsUndefined() && !info[i].IsNull(); }
  at::Tensor& t(size_t i) const {
    if (i >= info.Length() || !info[i].IsNumber()) bad(i, "a tensor handle");
    return get(info[i].As<Napi::Number>().Int64Value());
  }
  c10::optional<at::Tensor> ot(size_t i) const { return has(i) ? c10::optional<at::Tensor>(t(i)) : c10::nullopt; }
  double d(size_t i) const {
    if (i >= info.Length() || !info[i].IsNumber()) bad(i, "a number");
    return info[i].As<Napi::Number>().DoubleValue();
  }
  c10::optional<double> od(size_t i) const { return has(i) ? c10::optional<double>(d(i)) : c10::nullopt; }
  int64_t i(size_t k) const {
    if (k >= info.Length() || !info[k].IsNumber()) bad(k, "an integer");
    return info[k].As<Napi::Number>().Int64Value();
  }
  bool b(size_t i) const {
    if (i >= info.Length() || !info[i].IsBoolean()) bad(i, "a boolean");
    return info[i].As<Napi::Boolean>().Value();
  }
  std::string s(size_t i) const {
    if (i >= info.Length() || !info[i].IsString()) bad(i, "a string");
    return info[i].As<Napi::String>().Utf8Value();
  }
  std::vector<int64_t> ints(size_t i) const {
    if (i >= info.Length() || !info[i].IsArray()) bad(i, "an array of integers");
    auto arr = info[i].As<Napi::Array>();
    std::vector<int64_t> out(arr.Length());
    for (uint32_t k = 0; k < arr.Length(); k++) {
      Napi::Value v = arr.Get(k);
      if (!v.IsNumber()) bad(i, "an array of integers");
      out[k] = v.As<Napi::Number>().Int64Value();
    }
    return out;
  }
  std::vector<at::Tensor> tensors(size_t i) const {
    if (i >= info.Length() || !info[i].IsArray()) bad(i, "an array of tensor handles");
    auto arr = info[i].As<Napi::Array>();
    std::vector<at::Tensor> out;
    out.reserve(arr.Length());
    for (uint32_t k = 0; k < arr.Length(); k++) {
      Napi::Value v = arr.Get(k);
      if (!v.IsNumber()) bad(i, "an array of tensor handles");
      out.push_back(get(v.As<Napi::Number>().Int64Value()));
    }
    return out;
  }
  // dtype codes shared with src/torch/native.ts
  at::ScalarType dtype(size_t i) const {
    switch (this->i(i)) {
      case 0: return at::kFloat;
      case 1: return at::kDouble;
      case 2: return at::kLong;
      case 3: return at::kBool;
      case 4: return at::kByte;
      case 5: return at::kInt;
      default: bad(i, "a dtype code 0..5");
    }
  }
  at::Device device(size_t i) const { return has(i) ? at::Device(s(i)) : at::Device(at::kCPU); }
  at::TensorOptions opts(size_t dt, size_t dev) const {
    return at::TensorOptions().dtype(dtype(dt)).device(device(dev));
  }
  at::Reduction::Reduction reduction(size_t i) const {
    int64_t r = this->i(i);
    if (r < 0 || r > 2) bad(i, "a reduction code 0..2");
    return static_cast<at::Reduction::Reduction>(r);
  }
};

int dtypeCode(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return 0;
    case at::kDouble: return 1;
    case at::kLong: return 2;
    case at::kBool: return 3;
    case at::kByte: return 4;
    case at::kInt: return 5;
    default: return -1;
  }
}

// ---- the guard around every entry -----------------------------------------------------------
// The JS classes native errors are made of (NativeError and OutOfMemoryError from
// src/errors.ts, set at load). Deliberately leaked: destroying a reference after its
// environment is gone would crash at exit.
thread_local Napi::FunctionReference* errorClass = nullptr;
thread_local Napi::FunctionReference* oomClass = nullptr;

Napi::Error nativeError(Napi::Env env, const std::string& message, Napi::FunctionReference* cls = nullptr) {
  if (!cls) cls = errorClass;
  if (!cls) return Napi::Error::New(env, message);
  return Napi::Error(env, cls->New({Napi::String::New(env, message)}));
}

template <class F>
Napi::Value guard(const Napi::CallbackInfo& info, const char* op, F&& f) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::OutOfMemoryError& e) {
    // a CUDA (or CPU) allocation failed: a distinct class, so callers can name the batch size
    throw nativeError(info.Env(), std::string(op) + ": " + e.what_without_backtrace(), oomClass);
  } catch (const c10::Error& e) {
    // libtorch 1.13's CPU allocator reports a failed allocation as a plain c10::Error
    const std::string msg = e.what_without_backtrace();
    const bool oom = msg.find("out of memory") != std::string::npos ||
                     msg.find("can't allocate memory") != std::string::npos;
    throw nativeError(info.Env(), std::string(op) + ": " + msg, oom ? oomClass : nullptr);
  } catch (const std::exception& e) {
    throw nativeError(info.Env(), std::string(op) + ": " + e.what());
  } catch (...) {
    throw nativeError(info.Env(), std::string(op) + ": unknown native error");
  }
}

// set_error_class(NativeError, OutOfMemoryError)
Napi::Value setErrorClass(const Napi::CallbackInfo& info) {
  auto keep = [&](size_t i) -> Napi::FunctionReference* {
    if (info.Length() <= i || !info[i].IsFunction()) return nullptr;
    auto* ref = new Napi::FunctionReference(Napi::Persistent(info[i].As<Napi::Function>()));
    ref->SuppressDestruct();
    return ref;
  };
  errorClass = keep(0);
  oomClass = keep(1);
  return info.Env().Undefined();
}

using TensorFn = at::Tensor (*)(const Args&);
using ListFn = std::vector<at::Tensor> (*)(const Args&);
using VoidFn = void (*)(const Args&);


Napi::Value callTensor(const Napi::CallbackInfo& info) {
  auto* entry = static_cast<std::pair<const char*, TensorFn>*>(info.Data());
  return guard(info, entry->first, [&]() -> Napi::Value {
    Args a{info, entry->first};
    return Napi::Number::New(info.Env(), put(info.Env(), entry->second(a)));
  });
}

Napi::Value callList(const Napi::CallbackInfo& info) {
  auto* entry = static_cast<std::pair<const char*, ListFn>*>(info.Data());
  return guard(info, entry->first, [&]() -> Napi::Value {
    Args a{info, entry->first};
    auto list = entry->second(a);
    auto out = Napi::Array::New(info.Env(), list.size());
    for (uint32_t k = 0; k < list.size(); k++) out.Set(k, Napi::Number::New(info.Env(), put(info.Env(), list[k])));
    return out;
  });
}

Napi::Value callVoid(const Napi::CallbackInfo& info) {
  auto* entry = static_cast<std::pair<const char*, VoidFn>*>(info.Data());
  return guard(info, entry->first, [&]() -> Napi::Value {
    Args a{info, entry->first};
    entry->second(a);
    return info.Env().Undefined();
  });
}

c10::optional<at::Scalar> optScalar(const Args& a, size_t i) {
  return a.has(i) ? c10::optional<at::Scalar>(a.d(i)) : c10::nullopt;
}

// ---- op tables ------------------------------------------------------------------------------
// Argument order follows the TypeScript wrappers in src/torch/tensor.ts.
std::pair<const char*, TensorFn> kTensorOps[] = {
    // creation
    {"zeros", [](const Args& a) { return at::zeros(a.ints(0), a.opts(1, 2)); }},
    {"ones", [](const Args& a) { return at::ones(a.ints(0), a.opts(1, 2)); }},
    {"full", [](const Args& a) { return at::full(a.ints(0), a.d(1), a.opts(2, 3)); }},
    {"empty", [](const Args& a) { return at::empty(a.ints(0), a.opts(1, 2)); }},
    {"randn", [](const Args& a) { return at::randn(a.ints(0), a.opts(1, 2)); }},
    {"rand", [](const Args& a) { return at::rand(a.ints(0), a.opts(1, 2)); }},
    {"randint", [](const Args& a) { return at::randint(a.i(0), a.i(1), a.ints(2), a.opts(3, 4)); }},
    {"randperm", [](const Args& a) { return at::randperm(a.i(0), a.opts(1, 2)); }},
    {"arange", [](const Args& a) { return at::arange(a.d(0), a.d(1), a.d(2), a.opts(3, 4)); }},
    {"linspace", [](const Args& a) { return at::linspace(a.d(0), a.d(1), a.i(2), a.opts(3, 4)); }},
    {"eye", [](const Args& a) { return at::eye(a.i(0), a.opts(1, 2)); }},
    {"zeros_like", [](const Args& a) { return at::zeros_like(a.t(0)); }},
    {"ones_like", [](const Args& a) { return at::ones_like(a.t(0)); }},
    {"randn_like", [](const Args& a) { return at::randn_like(a.t(0)); }},
    {"bernoulli", [](const Args& a) { return at::bernoulli(a.t(0)); }},
    // elementwise binary (tensor, tensor) and (tensor, scalar)
    {"add", [](const Args& a) { return at::add(a.t(0), a.t(1), a.has(2) ? a.d(2) : 1.0); }},
    {"sub", [](const Args& a) { return at::sub(a.t(0), a.t(1), a.has(2) ? a.d(2) : 1.0); }},
    {"mul", [](const Args& a) { return at::mul(a.t(0), a.t(1)); }},
    {"div", [](const Args& a) { return at::div(a.t(0), a.t(1)); }},
    {"pow", [](const Args& a) { return at::pow(a.t(0), a.t(1)); }},
    {"maximum", [](const Args& a) { return at::maximum(a.t(0), a.t(1)); }},
    {"minimum", [](const Args& a) { return at::minimum(a.t(0), a.t(1)); }},
    {"add_s", [](const Args& a) { return at::add(a.t(0), a.d(1)); }},
    {"sub_s", [](const Args& a) { return at::sub(a.t(0), a.d(1)); }},
    {"rsub_s", [](const Args& a) { return at::rsub(a.t(0), a.d(1)); }},
    {"mul_s", [](const Args& a) { return at::mul(a.t(0), a.d(1)); }},
    {"div_s", [](const Args& a) { return at::div(a.t(0), a.d(1)); }},
    {"rdiv_s", [](const Args& a) { return at::reciprocal(a.t(0)).mul(a.d(1)); }},
    {"pow_s", [](const Args& a) { return at::pow(a.t(0), a.d(1)); }},
    {"eq", [](const Args& a) { return at::eq(a.t(0), a.t(1)); }},
    {"ne", [](const Args& a) { return at::ne(a.t(0), a.t(1)); }},
    {"lt", [](const Args& a) { return at::lt(a.t(0), a.t(1)); }},
    {"le", [](const Args& a) { return at::le(a.t(0), a.t(1)); }},
    {"gt", [](const Args& a) { return at::gt(a.t(0), a.t(1)); }},
    {"ge", [](const Args& a) { return at::ge(a.t(0), a.t(1)); }},
    {"eq_s", [](const Args& a) { return at::eq(a.t(0), a.d(1)); }},
    {"ne_s", [](const Args& a) { return at::ne(a.t(0), a.d(1)); }},
    {"lt_s", [](const Args& a) { return at::lt(a.t(0), a.d(1)); }},
    {"le_s", [](const Args& a) { return at::le(a.t(0), a.d(1)); }},
    {"gt_s", [](const Args& a) { return at::gt(a.t(0), a.d(1)); }},
    {"ge_s", [](const Args& a) { return at::ge(a.t(0), a.d(1)); }},
    {"logical_and", [](const Args& a) { return at::logical_and(a.t(0), a.t(1)); }},
    {"logical_or", [](const Args& a) { return at::logical_or(a.t(0), a.t(1)); }},
    {"logical_not", [](const Args& a) { return at::logical_not(a.t(0)); }},
    {"where", [](const Args& a) { return at::where(a.t(0), a.t(1), a.t(2)); }},
    {"clamp", [](const Args& a) { return at::clamp(a.t(0), optScalar(a, 1), optScalar(a, 2)); }},
    {"masked_fill", [](const Args& a) { return at::masked_fill(a.t(0), a.t(1), a.d(2)); }},
    // elementwise unary
    {"neg", [](const Args& a) { return at::neg(a.t(0)); }},
    {"abs", [](const Args& a) { return at::abs(a.t(0)); }},
    {"sign", [](const Args& a) { return at::sign(a.t(0)); }},
    {"exp", [](const Args& a) { return at::exp(a.t(0)); }},
    {"log", [](const Args& a) { return at::log(a.t(0)); }},
    {"sqrt", [](const Args& a) { return at::sqrt(a.t(0)); }},
    {"rsqrt", [](const Args& a) { return at::rsqrt(a.t(0)); }},
    {"square", [](const Args& a) { return at::square(a.t(0)); }},
    {"reciprocal", [](const Args& a) { return at::reciprocal(a.t(0)); }},
    {"sin", [](const Args& a) { return at::sin(a.t(0)); }},
    {"cos", [](const Args& a) { return at::cos(a.t(0)); }},
    {"floor", [](const Args& a) { return at::floor(a.t(0)); }},
    {"round", [](const Args& a) { return at::round(a.t(0)); }},
    {"isfinite", [](const Args& a) { return at::isfinite(a.t(0)); }},
    // activations
    {"relu", [](const Args& a) { return at::relu(a.t(0)); }},
    {"leaky_relu", [](const Args& a) { return at::leaky_relu(a.t(0), a.d(1)); }},
    {"elu", [](const Args& a) { return at::elu(a.t(0), a.d(1)); }},
    {"gelu", [](const Args& a) { return at::gelu(a.t(0)); }},
    {"tanh", [](const Args& a) { return at::tanh(a.t(0)); }},
    {"sigmoid", [](const Args& a) { return at::sigmoid(a.t(0)); }},
    {"softplus", [](const Args& a) { return at::softplus(a.t(0), a.d(1), a.d(2)); }},
    {"log_sigmoid", [](const Args& a) { return at::log_sigmoid(a.t(0)); }},
    {"softmax", [](const Args& a) { return at::softmax(a.t(0), a.i(1)); }},
    {"log_softmax", [](const Args& a) { return at::log_softmax(a.t(0), a.i(1)); }},
    {"dropout", [](const Args& a) { return at::dropout(a.t(0), a.d(1), a.b(2)); }},
    // reductions
    {"sum", [](const Args& a) { return at::sum(a.t(0)); }},
    {"mean", [](const Args& a) { return at::mean(a.t(0)); }},
    {"max", [](const Args& a) { return at::max(a.t(0)); }},
    {"min", [](const Args& a) { return at::min(a.t(0)); }},
    {"sum_dim", [](const Args& a) { return at::sum(a.t(0), a.ints(1), a.b(2)); }},
    {"mean_dim", [](const Args& a) { return at::mean(a.t(0), a.ints(1), a.b(2)); }},
    {"var_dim", [](const Args& a) { return at::var(a.t(0), at::OptionalIntArrayRef(a.ints(1)), a.b(2), a.b(3)); }},
    {"argmax", [](const Args& a) { return at::argmax(a.t(0), a.i(1), a.b(2)); }},
    {"logsumexp", [](const Args& a) { return at::logsumexp(a.t(0), a.ints(1), a.b(2)); }},
    {"norm", [](const Args& a) { return at::norm(a.t(0)); }},
    {"cumsum", [](const Args& a) { return at::cumsum(a.t(0), a.i(1)); }},
    // linear algebra
    {"matmul", [](const Args& a) { return at::matmul(a.t(0), a.t(1)); }},
    {"mm", [](const Args& a) { return at::mm(a.t(0), a.t(1)); }},
    {"bmm", [](const Args& a) { return at::bmm(a.t(0), a.t(1)); }},
    {"linear", [](const Args& a) { return at::linear(a.t(0), a.t(1), a.ot(2)); }},
    {"inverse", [](const Args& a) { return at::linalg_inv(a.t(0)); }},
    {"solve", [](const Args& a) { return at::linalg_solve(a.t(0), a.t(1)); }},
    {"matrix_exp", [](const Args& a) { return at::linalg_matrix_exp(a.t(0)); }},
    {"trace", [](const Args& a) { return at::trace(a.t(0)); }},
    {"logabsdet", [](const Args& a) { return std::get<1>(at::linalg_slogdet(a.t(0))); }},
    // shape
    {"reshape", [](const Args& a) { return at::reshape(a.t(0), a.ints(1)); }},
    {"view", [](const Args& a) { return a.t(0).view(a.ints(1)); }},
    {"permute", [](const Args& a) { return a.t(0).permute(a.ints(1)); }},
    {"transpose", [](const Args& a) { return at::transpose(a.t(0), a.i(1), a.i(2)); }},
    {"squeeze", [](const Args& a) { return at::squeeze(a.t(0), a.i(1)); }},
    {"unsqueeze", [](const Args& a) { return at::unsqueeze(a.t(0), a.i(1)); }},
    {"flatten", [](const Args& a) { return at::flatten(a.t(0), a.i(1), a.i(2)); }},
    {"expand", [](const Args& a) { return a.t(0).expand(a.ints(1)); }},
    {"repeat", [](const Args& a) { return a.t(0).repeat(a.ints(1)); }},
    {"cat", [](const Args& a) { return at::cat(a.tensors(0), a.i(1)); }},
    {"stack", [](const Args& a) { return at::stack(a.tensors(0), a.i(1)); }},
    {"slice", [](const Args& a) { return a.t(0).slice(a.i(1), a.i(2), a.i(3), a.i(4)); }},
    {"select", [](const Args& a) { return a.t(0).select(a.i(1), a.i(2)); }},
    {"index_select", [](const Args& a) { return at::index_select(a.t(0), a.i(1), a.t(2)); }},
    {"gather", [](const Args& a) { return at::gather(a.t(0), a.i(1), a.t(2)); }},
    {"scatter", [](const Args& a) { return at::scatter(a.t(0), a.i(1), a.t(2), a.t(3)); }},
    {"scatter_add", [](const Args& a) { return at::scatter_add(a.t(0), a.i(1), a.t(2), a.t(3)); }},
    {"masked_select", [](const Args& a) { return at::masked_select(a.t(0), a.t(1)); }},
    // convolution, normalization, pooling, resampling
    {"conv2d",
     [](const Args& a) { return at::conv2d(a.t(0), a.t(1), a.ot(2), a.ints(3), a.ints(4), a.ints(5), a.i(6)); }},
    {"conv_transpose2d",
     [](const Args& a) {
       return at::conv_transpose2d(a.t(0), a.t(1), a.ot(2), a.ints(3), a.ints(4), a.ints(5), a.i(6), a.ints(7));
     }},
    {"batch_norm",
     [](const Args& a) {
       return at::batch_norm(a.t(0), a.ot(1), a.ot(2), a.ot(3), a.ot(4), a.b(5), a.d(6), a.d(7), false);
     }},
    {"layer_norm", [](const Args& a) { return at::layer_norm(a.t(0), a.ints(1), a.ot(2), a.ot(3), a.d(4)); }},
    {"avg_pool2d", [](const Args& a) { return at::avg_pool2d(a.t(0), a.ints(1), a.ints(2), a.ints(3)); }},
    {"max_pool2d", [](const Args& a) { return at::max_pool2d(a.t(0), a.ints(1), a.ints(2), a.ints(3)); }},
    {"adaptive_avg_pool2d", [](const Args& a) { return at::adaptive_avg_pool2d(a.t(0), a.ints(1)); }},
    {"upsample_nearest2d",
     [](const Args& a) {
       namespace F = torch::nn::functional;
       return F::interpolate(a.t(0), F::InterpolateFuncOptions().size(a.ints(1)).mode(torch::kNearest));
     }},
    {"upsample_bilinear2d",
     [](const Args& a) {
       namespace F = torch::nn::functional;
       return F::interpolate(
           a.t(0), F::InterpolateFuncOptions().size(a.ints(1)).mode(torch::kBilinear).align_corners(a.b(2)));
     }},
    // losses
    {"bce_with_logits",
     [](const Args& a) {
       return at::binary_cross_entropy_with_logits(a.t(0), a.t(1), a.ot(2), c10::nullopt, a.reduction(3));
     }},
    {"mse_loss", [](const Args& a) { return at::mse_loss(a.t(0), a.t(1), a.reduction(2)); }},
    {"l1_loss", [](const Args& a) { return at::l1_loss(a.t(0), a.t(1), a.reduction(2)); }},
    // copies, dtype, device, autograd views
    {"detach", [](const Args& a) { return a.t(0).detach(); }},
    {"clone", [](const Args& a) { return a.t(0).clone(); }},
    {"contiguous", [](const Args& a) { return a.t(0).contiguous(); }},
    {"to_dtype", [](const Args& a) { return a.t(0).to(a.dtype(1)); }},
    {"to_device", [](const Args& a) { return a.t(0).to(a.device(1)); }},
    {"alias", [](const Args& a) { return a.t(0); }},
    {"grad",
     [](const Args& a) {
       at::Tensor g = a.t(0).grad();
       if (!g.defined()) throw std::invalid_argument("tensor has no gradient (no backward through it yet)");
       return g;
     }},
};

std::pair<const char*, ListFn> kListOps[] = {
    {"split", [](const Args& a) { return at::split_with_sizes(a.t(0), a.ints(1), a.i(2)); }},
    {"chunk", [](const Args& a) { return at::chunk(a.t(0), a.i(1), a.i(2)); }},
    {"max_dim",
     [](const Args& a) {
       auto r = at::max(a.t(0), a.i(1), a.b(2));
       return std::vector<at::Tensor>{std::get<0>(r), std::get<1>(r)};
     }},
    {"min_dim",
     [](const Args& a) {
       auto r = at::min(a.t(0), a.i(1), a.b(2));
       return std::vector<at::Tensor>{std::get<0>(r), std::get<1>(r)};
     }},
    {"eigh",
     [](const Args& a) {
       auto r = at::linalg_eigh(a.t(0));
       return std::vector<at::Tensor>{std::get<0>(r), std::get<1>(r)};
     }},
    {"qr",
     [](const Args& a) {
       auto r = at::linalg_qr(a.t(0));
       return std::vector<at::Tensor>{std::get<0>(r), std::get<1>(r)};
     }},
};

std::pair<const char*, VoidFn> kVoidOps[] = {
    {"zero_", [](const Args& a) { a.t(0).zero_(); }},
    {"fill_", [](const Args& a) { a.t(0).fill_(a.d(1)); }},
    {"copy_", [](const Args& a) { a.t(0).copy_(a.t(1)); }},
    {"add_", [](const Args& a) { a.t(0).add_(a.t(1), a.d(2)); }},
    {"mul_s_", [](const Args& a) { a.t(0).mul_(a.d(1)); }},
    {"mul_", [](const Args& a) { a.t(0).mul_(a.t(1)); }},
    {"clamp_", [](const Args& a) { a.t(0).clamp_(optScalar(a, 1), optScalar(a, 2)); }},
    {"normal_", [](const Args& a) { a.t(0).normal_(a.d(1), a.d(2)); }},
    {"uniform_", [](const Args& a) { a.t(0).uniform_(a.d(1), a.d(2)); }},
    {"orthogonal_", [](const Args& a) { torch::nn::init::orthogonal_(a.t(0), a.d(1)); }},
    {"requires_grad_", [](const Args& a) { a.t(0).requires_grad_(a.b(1)); }},
    {"zero_grad", [](const Args& a) {
       at::Tensor& t = a.t(0);
       if (t.grad().defined()) t.mutable_grad() = at::Tensor();
     }},
    {"set_grad", [](const Args& a) { a.t(0).mutable_grad() = a.has(1) ? a.t(1) : at::Tensor(); }},
    {"backward",
     [](const Args& a) {
       at::Tensor& t = a.t(0);
       t.backward(a.has(1) ? a.t(1) : at::Tensor(), a.has(2) ? c10::optional<bool>(a.b(2)) : c10::nullopt);
     }},
    // Multiply every gradient flowing into t by mask (keeps fixed entries of a matrix at zero).
    {"register_grad_mask",
     [](const Args& a) {
       at::Tensor mask = a.t(1).detach().clone();
       a.t(0).register_hook([mask](at::Tensor g) { return g * mask; });
     }},
    // One Adam/AdamW update of one parameter, in place (PyTorch's algorithm, non-amsgrad).
    // args: param, grad, exp_avg, exp_avg_sq, step (after increment), lr, beta1, beta2, eps,
    //       weight_decay, decoupled (AdamW)
    {"adam_step_",
     [](const Args& a) {
       at::NoGradGuard ng;
       at::Tensor& p = a.t(0);
       at::Tensor g = a.t(1);
       at::Tensor& m = a.t(2);
       at::Tensor& v = a.t(3);
       const double step = a.d(4), lr = a.d(5), b1 = a.d(6), b2 = a.d(7), eps = a.d(8), wd = a.d(9);
       const bool decoupled = a.b(10);
       if (wd != 0) {
         if (decoupled) p.mul_(1 - lr * wd);
         else g = g.add(p, wd);
       }
       m.mul_(b1).add_(g, 1 - b1);
       v.mul_(b2).addcmul_(g, g, 1 - b2);
       const double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
       at::Tensor denom = (v.sqrt() / std::sqrt(bc2)).add_(eps);
       p.addcdiv_(m, denom, -lr / bc1);
     }},
    // args: param, grad, momentum buffer (or null), lr, momentum, weight_decay
    {"sgd_step_",
     [](const Args& a) {
       at::NoGradGuard ng;
       at::Tensor& p = a.t(0);
       at::Tensor g = a.t(1);
       const double lr = a.d(3), mom = a.d(4), wd = a.d(5);
       if (wd != 0) g = g.add(p, wd);
       if (a.has(2) && mom != 0) {
         at::Tensor& buf = a.t(2);
         buf.mul_(mom).add_(g);
         g = buf;
       }
       p.add_(g, -lr);
     }},
};

// ---- functions that return plain values -----------------------------------------------------
Napi::Value shape(const Napi::CallbackInfo& info) {
  return guard(info, "shape", [&]() -> Napi::Value {
    Args a{info, "shape"};
    auto sizes = a.t(0).sizes();
    auto out = Napi::Array::New(info.Env(), sizes.size());
    for (uint32_t k = 0; k < sizes.size(); k++) out.Set(k, Napi::Number::New(info.Env(), double(sizes[k])));
    return out;
  });
}

Napi::Value dtype(const Napi::CallbackInfo& info) {
  return guard(info, "dtype", [&]() -> Napi::Value {
    Args a{info, "dtype"};
    int code = dtypeCode(a.t(0).scalar_type());
    if (code < 0) throw std::invalid_argument(std::string("unsupported dtype ") + c10::toString(a.t(0).scalar_type()));
    return Napi::Number::New(info.Env(), code);
  });
}

Napi::Value device(const Napi::CallbackInfo& info) {
  return guard(info, "device", [&]() -> Napi::Value {
    Args a{info, "device"};
    return Napi::String::New(info.Env(), a.t(0).device().str());
  });
}

Napi::Value item(const Napi::CallbackInfo& info) {
  return guard(info, "item", [&]() -> Napi::Value {
    Args a{info, "item"};
    return Napi::Number::New(info.Env(), a.t(0).item<double>());
  });
}

Napi::Value requiresGrad(const Napi::CallbackInfo& info) {
  return guard(info, "requires_grad", [&]() -> Napi::Value {
    Args a{info, "requires_grad"};
    return Napi::Boolean::New(info.Env(), a.t(0).requires_grad());
  });
}

Napi::Value hasGrad(const Napi::CallbackInfo& info) {
  return guard(info, "has_grad", [&]() -> Napi::Value {
    Args a{info, "has_grad"};
    return Napi::Boolean::New(info.Env(), a.t(0).grad().defined());
  });
}

// Copies a tensor's values into a new typed array (Float32Array, Float64Array, BigInt64Array,
// Uint8Array for bool/uint8, Int32Array).
Napi::Value toBuffer(const Napi::CallbackInfo& info) {
  return guard(info, "to_buffer", [&]() -> Napi::Value {
    Args a{info, "to_buffer"};
    at::Tensor t = a.t(0).detach().to(at::kCPU).contiguous();
    Napi::Env env = info.Env();
    const size_t n = t.numel();
    auto fill = [&](auto arr) -> Napi::Value {
      if (n) std::memcpy(arr.Data(), t.data_ptr(), n * t.element_size());
      return arr;
    };
    switch (t.scalar_type()) {
      case at::kFloat: return fill(Napi::Float32Array::New(env, n));
      case at::kDouble: return fill(Napi::Float64Array::New(env, n));
      case at::kLong: return fill(Napi::BigInt64Array::New(env, n));
      case at::kInt: return fill(Napi::Int32Array::New(env, n));
      case at::kBool:
      case at::kByte: return fill(Napi::Uint8Array::New(env, n));
      default: throw std::invalid_argument(std::string("unsupported dtype ") + c10::toString(t.scalar_type()));
    }
  });
}

// from_buffer(typedArray, shape, dtypeCode, device?): copies the array's bytes into a new
// tensor on device (default CPU). For a CUDA device the bytes go through page-locked (pinned)
// host memory and an asynchronous copy, as a DataLoader with pin_memory=True does; the caching
// host allocator keeps the pinned block until the copy has finished.
Napi::Value fromBuffer(const Napi::CallbackInfo& info) {
  return guard(info, "from_buffer", [&]() -> Napi::Value {
    Args a{info, "from_buffer"};
    if (!info[0].IsTypedArray()) a.bad(0, "a typed array");
    auto arr = info[0].As<Napi::TypedArray>();
    const at::Device device = a.device(3);
    const bool pin = device.is_cuda();
    at::Tensor t = at::empty(a.ints(1), at::TensorOptions().dtype(a.dtype(2)).pinned_memory(pin));
    const size_t want = t.numel() * t.element_size();
    if (want != arr.ByteLength()) {
      throw std::invalid_argument("the array holds " + std::to_string(arr.ByteLength()) + " bytes but shape " +
                                  c10::str(t.sizes()) + " needs " + std::to_string(want));
    }
    const uint8_t* src = static_cast<const uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    if (want) std::memcpy(t.data_ptr(), src, want);
    if (!device.is_cpu()) t = t.to(device, /*non_blocking=*/pin);
    return Napi::Number::New(info.Env(), put(info.Env(), t));
  });
}

Napi::Value dispose(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) release(info.Env(), info[0].As<Napi::Number>().Int64Value());
  return info.Env().Undefined();
}

Napi::Value liveCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(store.live)); }

// Reports a tensor's bytes to V8 (once), so the garbage collector feels native memory that only
// a finalizer would free; release() takes them back.
Napi::Value trackExternal(const Napi::CallbackInfo& info) {
  return guard(info, "track_external", [&]() -> Napi::Value {
    Args a{info, "track_external"};
    const int64_t id = a.i(0);
    at::Tensor& t = get(id);
    if (store.bytes[id] == 0) {
      const int64_t b = tensorBytes(t);
      store.bytes[id] = b;
      if (b > 0) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), b);
    }
    return info.Env().Undefined();
  });
}

Napi::Value setGradEnabled(const Napi::CallbackInfo& info) {
  return guard(info, "set_grad_enabled", [&]() -> Napi::Value {
    Args a{info, "set_grad_enabled"};
    bool prev = at::GradMode::is_enabled();
    at::GradMode::set_enabled(a.b(0));
    return Napi::Boolean::New(info.Env(), prev);
  });
}

Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  return guard(info, "set_num_threads", [&]() -> Napi::Value {
    Args a{info, "set_num_threads"};
    at::set_num_threads(static_cast<int>(a.i(0)));
    return info.Env().Undefined();
  });
}

Napi::Value getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value manualSeed(const Napi::CallbackInfo& info) {
  return guard(info, "manual_seed", [&]() -> Napi::Value {
    Args a{info, "manual_seed"};
    torch::manual_seed(static_cast<uint64_t>(a.i(0)));
    return info.Env().Undefined();
  });
}

// get_rng_state(device?): the default generator's full state for a device (CPU unless given;
// 'cuda' is the current CUDA device) as a CPU uint8 tensor handle (saved in checkpoints).
// Context::defaultGenerator is device-generic, so no CUDA header is needed here.
Napi::Value getRngState(const Napi::CallbackInfo& info) {
  return guard(info, "get_rng_state", [&]() -> Napi::Value {
    Args a{info, "get_rng_state"};
    auto gen = at::globalContext().defaultGenerator(a.device(0));
    std::lock_guard<std::mutex> lock(gen.mutex());
    return Napi::Number::New(info.Env(), put(info.Env(), gen.get_state()));
  });
}

// set_rng_state(state, device?): the state may live on any device (a loaded checkpoint's
// tensors follow the default device); generators take a CPU byte tensor.
Napi::Value setRngState(const Napi::CallbackInfo& info) {
  return guard(info, "set_rng_state", [&]() -> Napi::Value {
    Args a{info, "set_rng_state"};
    at::Tensor state = a.t(0).to(at::kCPU).contiguous();
    auto gen = at::globalContext().defaultGenerator(a.device(1));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
    return info.Env().Undefined();
  });
}

Napi::Value cudaDeviceCount(const Napi::CallbackInfo& info) {
  return guard(info, "cuda_device_count", [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), double(torch::cuda::is_available() ? torch::cuda::device_count() : 0));
  });
}

// Waits for the work queued on the current CUDA device (for timings); a no-op without CUDA.
Napi::Value cudaSynchronize(const Napi::CallbackInfo& info) {
  return guard(info, "cuda_synchronize", [&]() -> Napi::Value {
    if (torch::cuda::is_available()) torch::cuda::synchronize();
    return info.Env().Undefined();
  });
}

// The CUDA driver API (libcuda.so.1, stable C ABI) answers what the GPUs are without CUDA's
// headers, which pip's torch does not ship: names, total and free memory, driver version.
struct CudaDriver {
  using GetCount = int (*)(int*);
  using GetName = int (*)(char*, int, int);
  using TotalMem = int (*)(size_t*, int);
  using MemInfo = int (*)(size_t*, size_t*);
  using DriverVersion = int (*)(int*);
  GetCount deviceGetCount = nullptr;
  GetName deviceGetName = nullptr;
  TotalMem deviceTotalMem = nullptr;
  MemInfo memGetInfo = nullptr;
  DriverVersion driverGetVersion = nullptr;
  bool ok = false;

  static const CudaDriver& get() {
    static CudaDriver d = [] {
      CudaDriver d;
      void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
      if (!lib) return d;
      auto init = reinterpret_cast<int (*)(unsigned)>(dlsym(lib, "cuInit"));
      d.deviceGetCount = reinterpret_cast<GetCount>(dlsym(lib, "cuDeviceGetCount"));
      d.deviceGetName = reinterpret_cast<GetName>(dlsym(lib, "cuDeviceGetName"));
      d.deviceTotalMem = reinterpret_cast<TotalMem>(dlsym(lib, "cuDeviceTotalMem_v2"));
      d.memGetInfo = reinterpret_cast<MemInfo>(dlsym(lib, "cuMemGetInfo_v2"));
      d.driverGetVersion = reinterpret_cast<DriverVersion>(dlsym(lib, "cuDriverGetVersion"));
      d.ok = init && d.deviceGetCount && d.deviceGetName && d.deviceTotalMem && init(0) == 0;
      return d;
    }();
    return d;
  }
};

// cuda_devices(): [{index, name, totalBytes}] for the GPUs libtorch can use, plus the driver's
// CUDA version as a property of the array ("driver", e.g. 13000).
Napi::Value cudaDevices(const Napi::CallbackInfo& info) {
  return guard(info, "cuda_devices", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto out = Napi::Array::New(env);
    const int usable = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
    const CudaDriver& d = CudaDriver::get();
    if (d.ok && d.driverGetVersion) {
      int v = 0;
      if (d.driverGetVersion(&v) == 0) out.Set("driver", Napi::Number::New(env, v));
    }
    for (int i = 0; i < usable; i++) {
      auto dev = Napi::Object::New(env);
      dev.Set("index", Napi::Number::New(env, i));
      char name[256] = "unknown";
      size_t total = 0;
      if (d.ok) {
        d.deviceGetName(name, sizeof(name), i);
        d.deviceTotalMem(&total, i);
      }
      dev.Set("name", Napi::String::New(env, name));
      dev.Set("totalBytes", Napi::Number::New(env, double(total)));
      out.Set(static_cast<uint32_t>(i), dev);
    }
    return out;
  });
}

// Bytes in use on the current CUDA device, as the driver sees it (libtorch's caching allocator
// keeps freed blocks reserved, so this tracks the peak of what training needed); -1 if unknown.
Napi::Value cudaMemoryUsed(const Napi::CallbackInfo& info) {
  return guard(info, "cuda_memory_used", [&]() -> Napi::Value {
    const CudaDriver& d = CudaDriver::get();
    size_t free = 0, total = 0;
    if (!d.ok || !d.memGetInfo || d.memGetInfo(&free, &total) != 0) return Napi::Number::New(info.Env(), -1);
    return Napi::Number::New(info.Env(), double(total - free));
  });
}

Napi::Value version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TORCH_VERSION);
}

Napi::Value configInfo(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), at::show_config());
}

// A loop of `n` tiny adds in C++, for the benchmark's overhead baseline (seconds total).
Napi::Value benchNativeAdd(const Napi::CallbackInfo& info) {
  return guard(info, "bench_native_add", [&]() -> Napi::Value {
    Args a{info, "bench_native_add"};
    at::Tensor x = a.t(0), y = a.t(1);
    const int64_t n = a.i(2);
    auto start = std::chrono::steady_clock::now();
    for (int64_t k = 0; k < n; k++) {
      at::Tensor z = at::add(x, y);
    }
    std::chrono::duration<double> dt = std::chrono::steady_clock::now() - start;
    return Napi::Number::New(info.Env(), dt.count());
  });
}

// ---- distributed: one c10d process group per process (torch.distributed's default group) ----
// Every call blocks the calling thread until the collective completes or `timeout` passes; a
// peer that dies or a timeout becomes a JS error (the guard), never a hang or an abort.
#ifdef CCIG_DIST
#if TORCH_VERSION_MAJOR >= 2
using ProcessGroupBase = c10d::Backend;  // 2.x: backends sit under a ProcessGroup facade
#else
using ProcessGroupBase = c10d::ProcessGroup;
#endif
struct Dist {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<ProcessGroupBase> group;
  std::string backend;
  int rank = -1, size = 0;
  std::chrono::milliseconds timeout{0};
};
Dist dist;

ProcessGroupBase& group() {
  if (!dist.group) throw std::runtime_error("the process group is not initialized (call dist.init first)");
  return *dist.group;
}

// c10d reads a list of tensors as one tensor per local device, so each tensor gets its own
// collective: all are started, then all awaited (Gloo runs them in order on its own threads).
template <class Start>
void eachTensor(std::vector<at::Tensor>& tensors, Start start) {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    works.push_back(start(one));
  }
  for (auto& w : works)
    if (!w->wait(dist.timeout)) throw std::runtime_error("the collective timed out");
}

// dist_init(backend, rank, worldSize, masterAddr, masterPort, timeoutMs)
Napi::Value distInit(const Napi::CallbackInfo& info) {
  return guard(info, "dist_init", [&]() -> Napi::Value {
    Args a{info, "dist_init"};
    if (dist.group) throw std::runtime_error("the process group is already initialized (call dist.destroy first)");
    const std::string backend = a.s(0), host = a.s(3);
    const int rank = static_cast<int>(a.i(1)), size = static_cast<int>(a.i(2));
    const auto timeout = std::chrono::milliseconds(a.i(5));
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(a.i(4));
    o.isServer = rank == 0;
    o.numWorkers = static_cast<std::size_t>(size);
    o.waitWorkers = true;
    o.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(host, o);
    c10::intrusive_ptr<ProcessGroupBase> pg;
#ifdef CCIG_GLOO
    if (backend == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      // Loopback masters get a loopback device (one machine); otherwise the interface named by
      // GLOO_SOCKET_IFNAME or the one the host name resolves to, as torch.distributed does.
      const char* ifname = getenv("GLOO_SOCKET_IFNAME");
      if (ifname && *ifname) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (host == "127.0.0.1" || host == "localhost")
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
    }
#endif
#ifdef CCIG_NCCL
    if (backend == "nccl") {
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
    }
#endif
    if (!pg) throw std::invalid_argument("backend '" + backend + "' is not available in this build of the addon");
    dist = Dist{store, pg, backend, rank, size, timeout};
    return info.Env().Undefined();
  });
}

// dist_all_reduce([handles], average): in place; average divides the sum by the world size
Napi::Value distAllReduce(const Napi::CallbackInfo& info) {
  return guard(info, "dist_all_reduce", [&]() -> Napi::Value {
    Args a{info, "dist_all_reduce"};
    auto tensors = a.tensors(0);
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = dist.timeout;
    eachTensor(tensors, [&](std::vector<at::Tensor>& t) { return group().allreduce(t, o); });
    if (a.b(1))
      for (auto& t : tensors) t.div_(dist.size);
    return info.Env().Undefined();
  });
}

// dist_broadcast([handles], root): in place
Napi::Value distBroadcast(const Napi::CallbackInfo& info) {
  return guard(info, "dist_broadcast", [&]() -> Napi::Value {
    Args a{info, "dist_broadcast"};
    auto tensors = a.tensors(0);
    c10d::BroadcastOptions o;
    o.rootRank = a.i(1);
    o.timeout = dist.timeout;
    eachTensor(tensors, [&](std::vector<at::Tensor>& t) { return group().broadcast(t, o); });
    return info.Env().Undefined();
  });
}

Napi::Value distBarrier(const Napi::CallbackInfo& info) {
  return guard(info, "dist_barrier", [&]() -> Napi::Value {
    c10d::BarrierOptions o;
    o.timeout = dist.timeout;
    if (!group().barrier(o)->wait(dist.timeout)) throw std::runtime_error("the barrier timed out");
    return info.Env().Undefined();
  });
}

Napi::Value distDestroy(const Napi::CallbackInfo& info) {
  return guard(info, "dist_destroy", [&]() -> Napi::Value {
    dist = Dist{};
    return info.Env().Undefined();
  });
}
#endif

// "gloo", "nccl", "gloo,nccl" or "" : the backends this build of the addon has
Napi::Value distBackends(const Napi::CallbackInfo& info) {
  std::string b;
#ifdef CCIG_GLOO
  b = "gloo";
#endif
#ifdef CCIG_NCCL
  b += b.empty() ? "nccl" : ",nccl";
#endif
  return Napi::String::New(info.Env(), b);
}

template <class Entry>
void registerTable(Napi::Env env, Napi::Object exports, Entry* begin, Entry* end, Napi::Function::Callback cb) {
  for (Entry* e = begin; e != end; ++e) exports.Set(e->first, Napi::Function::New(env, cb, e->first, e));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // glibc returns every freed block over 32 MiB to the kernel, so each training step would
  // re-map and re-zero its large activations (measured 2.75x slower for DEAR's step).
  // Keep freed memory in the heap instead.
  if (!getenv("CCIG_KEEP_MALLOC")) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
  }

  registerTable(env, exports, std::begin(kTensorOps), std::end(kTensorOps), callTensor);
  registerTable(env, exports, std::begin(kListOps), std::end(kListOps), callList);
  registerTable(env, exports, std::begin(kVoidOps), std::end(kVoidOps), callVoid);
  exports.Set("set_error_class", Napi::Function::New(env, setErrorClass));
  exports.Set("shape", Napi::Function::New(env, shape));
  exports.Set("dtype", Napi::Function::New(env, dtype));
  exports.Set("device", Napi::Function::New(env, device));
  exports.Set("item", Napi::Function::New(env, item));
  exports.Set("requires_grad", Napi::Function::New(env, requiresGrad));
  exports.Set("has_grad", Napi::Function::New(env, hasGrad));
  exports.Set("to_buffer", Napi::Function::New(env, toBuffer));
  exports.Set("from_buffer", Napi::Function::New(env, fromBuffer));
  exports.Set("dispose", Napi::Function::New(env, dispose));
  exports.Set("live_count", Napi::Function::New(env, liveCount));
  exports.Set("track_external", Napi::Function::New(env, trackExternal));
  exports.Set("set_grad_enabled", Napi::Function::New(env, setGradEnabled));
  exports.Set("set_num_threads", Napi::Function::New(env, setNumThreads));
  exports.Set("get_num_threads", Napi::Function::New(env, getNumThreads));
  exports.Set("manual_seed", Napi::Function::New(env, manualSeed));
  exports.Set("get_rng_state", Napi::Function::New(env, getRngState));
  exports.Set("set_rng_state", Napi::Function::New(env, setRngState));
  exports.Set("cuda_device_count", Napi::Function::New(env, cudaDeviceCount));
  exports.Set("cuda_devices", Napi::Function::New(env, cudaDevices));
  exports.Set("cuda_memory_used", Napi::Function::New(env, cudaMemoryUsed));
  exports.Set("cuda_synchronize", Napi::Function::New(env, cudaSynchronize));
  exports.Set("version", Napi::Function::New(env, version));
  exports.Set("config", Napi::Function::New(env, configInfo));
  exports.Set("bench_native_add", Napi::Function::New(env, benchNativeAdd));
  exports.Set("dist_backends", Napi::Function::New(env, distBackends));
#ifdef CCIG_DIST
  exports.Set("dist_init", Napi::Function::New(env, distInit));
  exports.Set("dist_all_reduce", Napi::Function::New(env, distAllReduce));
  exports.Set("dist_broadcast", Napi::Function::New(env, distBroadcast));
  exports.Set("dist_barrier", Napi::Function::New(env, distBarrier));
  exports.Set("dist_destroy", Napi::Function::New(env, distDestroy));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(ccig, Init)
