#include "gateway/router.h"

#include <chrono>
#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "api/json.h"
#include "api/validate.h"
#include "gateway/http_status.h"
#include "gateway/metrics.h"
#include "gateway/path.h"
#include "glog/logging.h"

namespace blimp::gateway {

enum class Router::Op {
  kPutBalloon,
  kGetBalloon,
  kPatchBalloon,
  kGetStatistics,
  kPatchStatistics,
  kStartHinting,
  kGetHintingStatus,
  kStopHinting,
  kPutBootSource,
  kPutMachineConfig,
  kGetMachineConfig,
  kAction,
  kInstanceInfo,
  kGetVmConfig,
  // Daemon only.
  kCreateVm,
  kGetVm,
  kDeleteVm,
  kListVms,
  kMetrics,
};

namespace {

using Op = Router::Op;

struct Route {
  absl::string_view path;  // Below the VM ("" = the VM itself).
  absl::string_view method;
  Op op;
};

// The paths of one VM: Firecracker's, below "/" or "/vms/{id}".
constexpr Route kVmRoutes[] = {
    {"balloon", "PUT", Op::kPutBalloon},
    {"balloon", "GET", Op::kGetBalloon},
    {"balloon", "PATCH", Op::kPatchBalloon},
    {"balloon/statistics", "GET", Op::kGetStatistics},
    {"balloon/statistics", "PATCH", Op::kPatchStatistics},
    {"balloon/hinting/start", "PATCH", Op::kStartHinting},
    {"balloon/hinting/status", "GET", Op::kGetHintingStatus},
    {"balloon/hinting/stop", "PATCH", Op::kStopHinting},
    {"boot-source", "PUT", Op::kPutBootSource},
    {"machine-config", "PUT", Op::kPutMachineConfig},
    {"machine-config", "GET", Op::kGetMachineConfig},
    {"actions", "PUT", Op::kAction},
    {"vm/config", "GET", Op::kGetVmConfig},
};

constexpr Route kSingleVmRoot[] = {{"", "GET", Op::kInstanceInfo}};
constexpr Route kDaemonVmRoot[] = {
    {"", "PUT", Op::kCreateVm}, {"", "GET", Op::kGetVm}, {"", "DELETE", Op::kDeleteVm}};

bool IsBalloonOp(Op op) {
  switch (op) {
    case Op::kPutBalloon:
    case Op::kGetBalloon:
    case Op::kPatchBalloon:
    case Op::kGetStatistics:
    case Op::kPatchStatistics:
    case Op::kStartHinting:
    case Op::kGetHintingStatus:
    case Op::kStopHinting:
      return true;
    default:
      return false;
  }
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrCat("\\u00", absl::string_view(&"0123456789abcdef"[c >> 4], 1),
                              absl::string_view(&"0123456789abcdef"[c & 15], 1));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

HttpResponse Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.content_type = kJsonContentType;
  return response;
}

HttpResponse Fault(int status, absl::string_view message) {
  return Json(status, absl::StrCat("{\"fault_message\":", JsonString(message), "}"));
}

HttpResponse NoContent() {
  HttpResponse response;
  response.status = 204;
  return response;
}

HttpResponse Ok(const google::protobuf::Message& message) {
  return Json(200, api::ToJson(message));
}

// Looks `method` up among `routes` for `path`; a known path with another
// method is 405 with Allow.
std::optional<HttpResponse> Lookup(absl::Span<const Route> routes, absl::string_view path,
                                   absl::string_view method, Op* op) {
  std::vector<absl::string_view> allowed;
  for (const Route& route : routes) {
    if (route.path != path) continue;
    if (route.method == method) {
      *op = route.op;
      return std::nullopt;
    }
    allowed.push_back(route.method);
  }
  if (allowed.empty()) return Fault(404, absl::StrCat("no such path: /", path));
  HttpResponse response =
      Fault(405, absl::StrCat("method ", method, " is not allowed here (allowed: ",
                              absl::StrJoin(allowed, ", "), ")"));
  response.headers.emplace_back("Allow", absl::StrJoin(allowed, ", "));
  return response;
}

absl::string_view InstanceState(blimp::v1::VmState state) {
  switch (state) {
    case blimp::v1::VM_STATE_RUNNING: return "Running";
    case blimp::v1::VM_STATE_STOPPED: return "Stopped";
    case blimp::v1::VM_STATE_FAILED: return "Failed";
    default: return "Not started";
  }
}

bool IsBlank(absl::string_view text) {
  return absl::StripAsciiWhitespace(text).empty();
}

}  // namespace

Router Router::ForSingleVm(std::string vm_id, BalloonStub* balloon, VmStub* vms,
                           RouterOptions options) {
  return Router(false, std::move(vm_id), balloon, vms, std::move(options));
}

Router Router::ForDaemon(BalloonStub* balloon, VmStub* vms, RouterOptions options) {
  return Router(true, "", balloon, vms, std::move(options));
}

Router::Router(bool daemon, std::string vm_id, BalloonStub* balloon, VmStub* vms,
               RouterOptions options)
    : daemon_(daemon),
      vm_id_(std::move(vm_id)),
      balloon_(balloon),
      vms_(vms),
      options_(std::move(options)) {}

std::unique_ptr<grpc::ClientContext> Router::Context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(options_.deadline));
  return context;
}

HttpResponse Router::Handle(const HttpRequest& request) const {
  absl::StatusOr<std::vector<std::string>> segments = SplitPath(request.path);
  if (!segments.ok()) return Fault(400, segments.status().message());
  if (request.body.size() > kMaxBodyBytes) {
    return Fault(413, absl::StrCat("the request body is larger than ", kMaxBodyBytes,
                                   " bytes"));
  }
  const std::vector<std::string>& parts = *segments;
  Op op;
  std::string vm_id = vm_id_;
  size_t vm_path_start = 0;
  absl::Span<const Route> root = kSingleVmRoot;
  if (daemon_) {
    if (parts.size() == 1 && (parts[0] == "vms" || parts[0] == "metrics")) {
      const Route route = {parts[0], "GET", parts[0] == "vms" ? Op::kListVms : Op::kMetrics};
      if (auto error = Lookup({&route, 1}, parts[0], request.method, &op)) return *error;
      return op == Op::kMetrics ? Metrics() : Dispatch(op, "", request.body);
    }
    if (parts.size() < 2 || parts[0] != "vms") {
      return Fault(404, absl::StrCat("no such path: ", request.path));
    }
    vm_id = parts[1];
    vm_path_start = 2;
    root = kDaemonVmRoot;
  }
  const std::string vm_path =
      absl::StrJoin(parts.begin() + vm_path_start, parts.end(), "/");
  auto error = vm_path.empty() ? Lookup(root, vm_path, request.method, &op)
                               : Lookup(kVmRoutes, vm_path, request.method, &op);
  if (error) return *error;
  if (daemon_) {
    if (absl::Status valid = api::ValidateVmId(vm_id); !valid.ok()) {
      return Fault(400, valid.message());
    }
  }
  return Dispatch(op, vm_id, request.body);
}

std::string Router::Lane(const HttpRequest& request) const {
  if (!daemon_) return vm_id_;
  absl::StatusOr<std::vector<std::string>> parts = SplitPath(request.path);
  if (!parts.ok() || parts->size() < 2 || (*parts)[0] != "vms") return "";
  return (*parts)[1];
}

HttpResponse Router::Failure(const grpc::Status& status, bool balloon_call,
                             const std::string& vm_id) const {
  bool vm_missing = !balloon_call;
  if (status.error_code() == grpc::StatusCode::NOT_FOUND && balloon_call && daemon_) {
    // "device not found" (400) or no such VM (404)?
    blimp::v1::GetVmRequest request;
    request.set_vm_id(vm_id);
    blimp::v1::Vm vm;
    vm_missing =
        vms_->GetVm(Context().get(), request, &vm).error_code() == grpc::StatusCode::NOT_FOUND;
  }
  const int http = HttpStatusFor(status.error_code(), vm_missing);
  if (http >= 500) {
    LOG(WARNING) << "gateway: gRPC call for VM '" << vm_id << "' failed: "
                 << status.error_code() << " " << status.error_message();
  }
  return Fault(http, status.error_message());
}

// Parses `body` into `message`; an error response if it is not valid JSON
// for that object.
#define BLIMP_PARSE_BODY(json, proto)                                 \
  do {                                                                \
    if (absl::Status parsed = api::ParseJson(json, proto); !parsed.ok()) { \
      return Fault(400, parsed.message());                            \
    }                                                                 \
  } while (false)

HttpResponse Router::Dispatch(Op op, const std::string& vm_id, const std::string& body) const {
  google::protobuf::Empty empty;
  grpc::Status status;
  auto done = [&](HttpResponse ok) {
    return status.ok() ? ok : Failure(status, IsBalloonOp(op), vm_id);
  };
  switch (op) {
    case Op::kPutBalloon: {
      blimp::v1::PutBalloonRequest request;
      request.set_vm_id(vm_id);
      BLIMP_PARSE_BODY(body, request.mutable_balloon());
      status = balloon_->PutBalloon(Context().get(), request, &empty);
      return done(NoContent());
    }
    case Op::kGetBalloon: {
      blimp::v1::GetBalloonRequest request;
      request.set_vm_id(vm_id);
      blimp::v1::Balloon response;
      status = balloon_->GetBalloon(Context().get(), request, &response);
      return done(Ok(response));
    }
    case Op::kPatchBalloon: {
      blimp::v1::PatchBalloonRequest request;
      request.set_vm_id(vm_id);
      BLIMP_PARSE_BODY(body, request.mutable_update());
      status = balloon_->PatchBalloon(Context().get(), request, &empty);
      return done(NoContent());
    }
    case Op::kGetStatistics: {
      blimp::v1::GetBalloonStatisticsRequest request;
      request.set_vm_id(vm_id);
      blimp::v1::BalloonStats response;
      status = balloon_->GetBalloonStatistics(Context().get(), request, &response);
      return done(Ok(response));
    }
    case Op::kPatchStatistics: {
      blimp::v1::PatchBalloonStatisticsRequest request;
      request.set_vm_id(vm_id);
      BLIMP_PARSE_BODY(body, request.mutable_update());
      status = balloon_->PatchBalloonStatistics(Context().get(), request, &empty);
      return done(NoContent());
    }
    case Op::kStartHinting: {
      blimp::v1::StartBalloonHintingRequest request;
      request.set_vm_id(vm_id);
      if (!IsBlank(body)) BLIMP_PARSE_BODY(body, request.mutable_start());
      status = balloon_->StartBalloonHinting(Context().get(), request, &empty);
      return done(NoContent());
    }
    case Op::kGetHintingStatus: {
      blimp::v1::GetBalloonHintingStatusRequest request;
      request.set_vm_id(vm_id);
      blimp::v1::HintingStatus response;
      status = balloon_->GetBalloonHintingStatus(Context().get(), request, &response);
      return done(Ok(response));
    }
    case Op::kStopHinting: {
      blimp::v1::StopBalloonHintingRequest request;
      request.set_vm_id(vm_id);
      status = balloon_->StopBalloonHinting(Context().get(), request, &empty);
      return done(NoContent());
    }
    case Op::kPutBootSource: {
      blimp::v1::PutBootSourceRequest request;
      request.set_vm_id(vm_id);
      BLIMP_PARSE_BODY(body, request.mutable_boot_source());
      status = vms_->PutBootSource(Context().get(), request, &empty);
      return done(NoContent());
    }
    case Op::kPutMachineConfig: {
      blimp::v1::PutMachineConfigRequest request;
      request.set_vm_id(vm_id);
      BLIMP_PARSE_BODY(body, request.mutable_machine_config());
      status = vms_->PutMachineConfig(Context().get(), request, &empty);
      return done(NoContent());
    }
    case Op::kAction: {
      blimp::v1::InstanceAction action;
      BLIMP_PARSE_BODY(body, &action);
      blimp::v1::Vm vm;
      if (action.action_type() == "InstanceStart") {
        blimp::v1::StartVmRequest request;
        request.set_vm_id(vm_id);
        status = vms_->StartVm(Context().get(), request, &vm);
      } else if (action.action_type() == "SendCtrlAltDel" || action.action_type() == "Stop") {
        blimp::v1::StopVmRequest request;
        request.set_vm_id(vm_id);
        status = vms_->StopVm(Context().get(), request, &vm);
      } else {
        return Fault(400, absl::StrCat("unknown action_type ", JsonString(action.action_type()),
                                       " (InstanceStart, SendCtrlAltDel or Stop)"));
      }
      return done(NoContent());
    }
    case Op::kInstanceInfo:
    case Op::kGetMachineConfig:
    case Op::kGetVmConfig:
    case Op::kGetVm: {
      blimp::v1::GetVmRequest request;
      request.set_vm_id(vm_id);
      blimp::v1::Vm vm;
      status = vms_->GetVm(Context().get(), request, &vm);
      if (!status.ok()) return Failure(status, false, vm_id);
      if (op == Op::kGetMachineConfig) return Ok(vm.config().machine_config());
      if (op == Op::kGetVmConfig) return Ok(vm.config());
      if (op == Op::kGetVm) return Ok(vm);
      return Json(200, absl::StrCat("{\"app_name\":\"blimp\",\"id\":", JsonString(vm.vm_id()),
                                    ",\"state\":", JsonString(InstanceState(vm.state())),
                                    ",\"vmm_version\":", JsonString(options_.vmm_version),
                                    "}"));
    }
    case Op::kCreateVm: {
      blimp::v1::CreateVmRequest request;
      request.set_vm_id(vm_id);
      BLIMP_PARSE_BODY(body, request.mutable_config());
      blimp::v1::Vm vm;
      status = vms_->CreateVm(Context().get(), request, &vm);
      return done(NoContent());
    }
    case Op::kDeleteVm: {
      blimp::v1::DeleteVmRequest request;
      request.set_vm_id(vm_id);
      status = vms_->DeleteVm(Context().get(), request, &empty);
      return done(NoContent());
    }
    case Op::kListVms: {
      blimp::v1::ListVmsResponse response;
      status = vms_->ListVms(Context().get(), blimp::v1::ListVmsRequest(), &response);
      return done(Ok(response));
    }
    case Op::kMetrics:
      return Metrics();
  }
  return Fault(500, "unhandled route");
}

#undef BLIMP_PARSE_BODY

HttpResponse Router::Metrics() const {
  blimp::v1::ListVmsResponse list;
  grpc::Status status = vms_->ListVms(Context().get(), blimp::v1::ListVmsRequest(), &list);
  if (!status.ok()) return Failure(status, false, "");
  // One call per running VM, all in flight at once, each with its own short
  // deadline: a wedged VM costs at most metrics_deadline, never more per VM.
  struct Call {
    grpc::ClientContext context;
    blimp::v1::GetBalloonMetricsRequest request;
    blimp::v1::BalloonMetrics response;
    grpc::Status status;
  };
  // Shared with the callbacks, which may still be unlocking it after the
  // wait below has returned.
  struct Outstanding {
    absl::Mutex mu;
    int count ABSL_GUARDED_BY(mu) = 0;
  };
  auto outstanding = std::make_shared<Outstanding>();
  std::vector<VmSample> samples;
  std::vector<std::unique_ptr<Call>> calls(list.vms_size());
  for (int i = 0; i < list.vms_size(); ++i) {
    const blimp::v1::Vm& vm = list.vms(i);
    samples.push_back(VmSample{vm, std::nullopt});
    if (vm.state() != blimp::v1::VM_STATE_RUNNING || !vm.config().has_balloon()) continue;
    auto call = std::make_unique<Call>();
    call->request.set_vm_id(vm.vm_id());
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.metrics_deadline));
    Call* raw = call.get();
    calls[i] = std::move(call);
    {
      absl::MutexLock lock(&outstanding->mu);
      ++outstanding->count;
    }
    auto done = [raw, outstanding](grpc::Status got) {
      raw->status = std::move(got);
      absl::MutexLock lock(&outstanding->mu);
      --outstanding->count;
    };
    if (auto* async = balloon_->async(); async != nullptr) {
      async->GetBalloonMetrics(&raw->context, &raw->request, &raw->response, done);
    } else {  // A stub without the callback API (test doubles): one at a time.
      done(balloon_->GetBalloonMetrics(&raw->context, raw->request, &raw->response));
    }
  }
  {
    // Every callback runs, at the latest when its deadline passes.
    absl::MutexLock lock(&outstanding->mu);
    outstanding->mu.Await(
        absl::Condition(+[](int* count) { return *count == 0; }, &outstanding->count));
  }
  for (size_t i = 0; i < calls.size(); ++i) {
    if (calls[i] == nullptr) continue;
    if (calls[i]->status.ok()) {
      samples[i].balloon = std::move(calls[i]->response);
    } else {
      VLOG(1) << "gateway: no balloon metrics for VM '" << samples[i].vm.vm_id()
              << "': " << calls[i]->status.error_message();
    }
  }
  HttpResponse response;
  response.status = 200;
  response.body = RenderPrometheus(samples);
  response.content_type = kPrometheusContentType;
  return response;
}

}  // namespace blimp::gateway
