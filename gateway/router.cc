#include "gateway/router.h"

#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/json.h"
#include "api/validate.h"
#include "gateway/fault.h"
#include "gateway/http_status.h"
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
  kPatchVmState,
  kCreateSnapshot,
  kLoadSnapshot,
  kInstanceInfo,
  kGetVmConfig,
  // Daemon only.
  kCreateVm,
  kGetVm,
  kDeleteVm,
  kListVms,
  kMetrics,
  kOpenApi,
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
    {"vm", "PATCH", Op::kPatchVmState},
    {"snapshot/create", "PUT", Op::kCreateSnapshot},
    {"snapshot/load", "PUT", Op::kLoadSnapshot},
    {"vm/config", "GET", Op::kGetVmConfig},
};

constexpr Route kSingleVmRoot[] = {{"", "GET", Op::kInstanceInfo}};
// The daemon's own paths, one segment each.
constexpr Route kDaemonRoot[] = {
    {"vms", "GET", Op::kListVms},
    {"metrics", "GET", Op::kMetrics},
    {"openapi.json", "GET", Op::kOpenApi},
};
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

HttpResponse Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.content_type = kJsonContentType;
  return response;
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
    case blimp::v1::VM_STATE_PAUSED: return "Paused";
    case blimp::v1::VM_STATE_STOPPED: return "Stopped";
    case blimp::v1::VM_STATE_FAILED: return "Failed";
    default: return "Not started";
  }
}

bool IsBlank(absl::string_view text) {
  return absl::StripAsciiWhitespace(text).empty();
}

}  // namespace

Router Router::ForSingleVm(std::string vm_id, api::VmApi& api, RouterOptions options) {
  return Router(false, std::move(vm_id), api, std::move(options));
}

Router Router::ForDaemon(api::VmApi& api, RouterOptions options) {
  return Router(true, "", api, std::move(options));
}

Router::Router(bool daemon, std::string vm_id, api::VmApi& api, RouterOptions options)
    : daemon_(daemon), vm_id_(std::move(vm_id)), api_(api), options_(std::move(options)) {}

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
    if (parts.size() == 1) {
      for (const Route& route : kDaemonRoot) {
        if (route.path != parts[0]) continue;
        // Served only when the daemon gave them.
        if (route.op == Op::kMetrics && !options_.metrics) break;
        if (route.op == Op::kOpenApi && options_.openapi_json.empty()) break;
        if (auto error = Lookup({&route, 1}, parts[0], request.method, &op)) return *error;
        return Dispatch(op, "", request.body);
      }
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

HttpResponse Router::Failure(const absl::Status& status, bool balloon_call,
                             const std::string& vm_id) const {
  bool vm_missing = !balloon_call;
  if (status.code() == absl::StatusCode::kNotFound && balloon_call && daemon_) {
    // "device not found" (400) or no such VM (404)?
    vm_missing = api_.GetVm(vm_id).status().code() == absl::StatusCode::kNotFound;
  }
  const int http = HttpStatusFor(status.code(), vm_missing);
  if (http >= 500) {
    LOG(WARNING) << "gateway: call for VM '" << vm_id << "' failed: " << status;
  }
  return Fault(http, status.message());
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
  absl::Status status;
  auto done = [&](HttpResponse ok) {
    return status.ok() ? ok : Failure(status, IsBalloonOp(op), vm_id);
  };
  // The answer of a call that returns a message: 200 with it, or the failure.
  auto answer = [&](const auto& result) {
    if (!result.ok()) return Failure(result.status(), IsBalloonOp(op), vm_id);
    return Ok(*result);
  };
  switch (op) {
    case Op::kPutBalloon: {
      blimp::v1::Balloon balloon;
      BLIMP_PARSE_BODY(body, &balloon);
      status = api_.PutBalloon(vm_id, balloon);
      return done(NoContent());
    }
    case Op::kGetBalloon:
      return answer(api_.GetBalloon(vm_id));
    case Op::kPatchBalloon: {
      blimp::v1::BalloonUpdate update;
      BLIMP_PARSE_BODY(body, &update);
      status = api_.PatchBalloon(vm_id, update);
      return done(NoContent());
    }
    case Op::kGetStatistics:
      return answer(api_.GetBalloonStatistics(vm_id));
    case Op::kPatchStatistics: {
      blimp::v1::BalloonStatsUpdate update;
      BLIMP_PARSE_BODY(body, &update);
      status = api_.PatchBalloonStatistics(vm_id, update);
      return done(NoContent());
    }
    case Op::kStartHinting: {
      blimp::v1::HintingStart start;
      if (!IsBlank(body)) BLIMP_PARSE_BODY(body, &start);
      status = api_.StartBalloonHinting(vm_id, start);
      return done(NoContent());
    }
    case Op::kGetHintingStatus:
      return answer(api_.GetBalloonHintingStatus(vm_id));
    case Op::kStopHinting:
      status = api_.StopBalloonHinting(vm_id);
      return done(NoContent());
    case Op::kPutBootSource: {
      blimp::v1::BootSource boot_source;
      BLIMP_PARSE_BODY(body, &boot_source);
      status = api_.PutBootSource(vm_id, boot_source);
      return done(NoContent());
    }
    case Op::kPutMachineConfig: {
      blimp::v1::MachineConfig machine;
      BLIMP_PARSE_BODY(body, &machine);
      status = api_.PutMachineConfig(vm_id, machine);
      return done(NoContent());
    }
    case Op::kAction: {
      blimp::v1::InstanceAction action;
      BLIMP_PARSE_BODY(body, &action);
      if (action.action_type() == "InstanceStart") {
        status = api_.StartVm(vm_id).status();
      } else if (action.action_type() == "SendCtrlAltDel" || action.action_type() == "Stop") {
        status = api_.StopVm(vm_id).status();
      } else {
        return Fault(400, absl::StrCat("unknown action_type ", JsonString(action.action_type()),
                                       " (InstanceStart, SendCtrlAltDel or Stop)"));
      }
      return done(NoContent());
    }
    case Op::kPatchVmState: {
      blimp::v1::VmStateChange change;
      BLIMP_PARSE_BODY(body, &change);
      if (change.state() == "Paused") {
        status = api_.PauseVm(vm_id).status();
      } else if (change.state() == "Resumed") {
        status = api_.ResumeVm(vm_id).status();
      } else {
        return Fault(400, absl::StrCat("unknown state ", JsonString(change.state()),
                                       " (Paused or Resumed)"));
      }
      return done(NoContent());
    }
    case Op::kCreateSnapshot: {
      blimp::v1::SnapshotCreateParams params;
      BLIMP_PARSE_BODY(body, &params);
      status = api_.CreateSnapshot(vm_id, params).status();
      return done(NoContent());
    }
    case Op::kLoadSnapshot: {
      blimp::v1::SnapshotLoadParams params;
      BLIMP_PARSE_BODY(body, &params);
      status = api_.LoadSnapshot(vm_id, params).status();
      return done(NoContent());
    }
    case Op::kInstanceInfo:
    case Op::kGetMachineConfig:
    case Op::kGetVmConfig:
    case Op::kGetVm: {
      absl::StatusOr<blimp::v1::Vm> vm = api_.GetVm(vm_id);
      if (!vm.ok()) return Failure(vm.status(), false, vm_id);
      if (op == Op::kGetMachineConfig) return Ok(vm->config().machine_config());
      if (op == Op::kGetVmConfig) return Ok(vm->config());
      if (op == Op::kGetVm) return Ok(*vm);
      return Json(200, absl::StrCat("{\"app_name\":\"blimp\",\"id\":", JsonString(vm->vm_id()),
                                    ",\"state\":", JsonString(InstanceState(vm->state())),
                                    ",\"vmm_version\":", JsonString(options_.vmm_version),
                                    "}"));
    }
    case Op::kCreateVm: {
      blimp::v1::VmConfig config;
      BLIMP_PARSE_BODY(body, &config);
      status = api_.CreateVm(vm_id, config).status();
      return done(NoContent());
    }
    case Op::kDeleteVm:
      status = api_.DeleteVm(vm_id);
      return done(NoContent());
    case Op::kListVms: {
      blimp::v1::ListVmsResponse list;
      for (blimp::v1::Vm& vm : api_.ListVms()) *list.add_vms() = std::move(vm);
      return Ok(list);
    }
    case Op::kMetrics:
      return Metrics();
    case Op::kOpenApi:
      return Json(200, std::string(options_.openapi_json));
  }
  return Fault(500, "unhandled route");
}

#undef BLIMP_PARSE_BODY

HttpResponse Router::Metrics() const {
  HttpResponse response;
  response.status = 200;
  response.body = options_.metrics();
  // What prometheus::TextSerializer writes (gateway/prometheus_text.h).
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return response;
}

}  // namespace blimp::gateway
