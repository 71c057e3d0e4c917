#include "client/controller.h"

#include "absl/strings/str_cat.h"
#include "base/grpc_status.h"
#include "glog/logging.h"

namespace blimp::client {
namespace {

template <typename Request>
Request For(const std::string& id) {
  Request request;
  request.set_vm_id(id);
  return request;
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  return context;
}

}  // namespace

Controller::Controller(std::shared_ptr<grpc::Channel> channel, ControllerOptions options)
    : vms_(blimp::v1::VmService::NewStub(channel)),
      balloons_(blimp::v1::BalloonService::NewStub(channel)),
      options_(std::move(options)) {}

Controller::~Controller() { Stop(); }

void Controller::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  std::map<std::string, Watcher> watchers;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, watcher] : watchers_) {
      if (watcher.context) watcher.context->TryCancel();
    }
    watchers.swap(watchers_);
  }
  for (auto& [id, watcher] : watchers) {
    if (watcher.thread.joinable()) watcher.thread.join();
  }
}

void Controller::EnsureWatcher(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = watchers_.find(id);
  if (it != watchers_.end() && !it->second.done) return;
  if (it != watchers_.end()) {
    it->second.thread.join();  // Finished: restart it.
    watchers_.erase(it);
  }
  Watcher& watcher = watchers_[id];
  watcher.context = std::make_unique<grpc::ClientContext>();
  grpc::ClientContext* context = watcher.context.get();
  watcher.thread = std::thread([this, id, context] {
    auto reader = balloons_->WatchBalloonStatistics(
        context, For<blimp::v1::WatchBalloonStatisticsRequest>(id));
    blimp::v1::BalloonStats stats;
    while (reader->Read(&stats)) {
      absl::MutexLock lock(&mu_);
      Latest& latest = latest_[id];
      latest.has = stats.has_available_memory();
      latest.stats = stats;
      latest.time = absl::Now();
    }
    grpc::Status status = reader->Finish();
    if (!stop_.HasBeenNotified()) {
      LOG(WARNING) << "VM '" << id << "': statistics stream ended: " << status.error_message();
    }
    absl::MutexLock lock(&mu_);
    auto it = watchers_.find(id);
    if (it != watchers_.end()) it->second.done = true;
  });
}

absl::StatusOr<std::vector<Decision>> Controller::RunOnce() {
  std::vector<std::string> ids = options_.vm_ids;
  std::vector<blimp::v1::Vm> vms;
  if (ids.empty()) {
    blimp::v1::ListVmsResponse list;
    grpc::Status status = vms_->ListVms(Context().get(), {}, &list);
    if (!status.ok()) return base::FromGrpcStatus(status);
    for (const blimp::v1::Vm& vm : list.vms()) {
      if (vm.state() == blimp::v1::VM_STATE_RUNNING && vm.config().has_balloon()) {
        vms.push_back(vm);
      }
    }
  } else {
    for (const std::string& id : ids) {
      blimp::v1::Vm vm;
      grpc::Status status = vms_->GetVm(Context().get(), For<blimp::v1::GetVmRequest>(id), &vm);
      if (!status.ok()) {
        LOG(WARNING) << "VM '" << id << "': " << status.error_message();
        continue;
      }
      if (vm.state() == blimp::v1::VM_STATE_RUNNING && vm.config().has_balloon()) {
        vms.push_back(vm);
      }
    }
  }
  std::vector<VmMemoryState> states;
  for (const blimp::v1::Vm& vm : vms) {
    EnsureWatcher(vm.vm_id());
    VmMemoryState state;
    state.id = vm.vm_id();
    state.mem_size_mib = vm.config().machine_config().mem_size_mib();
    state.target_mib = vm.has_balloon_target_mib() ? vm.balloon_target_mib()
                                                   : vm.config().balloon().amount_mib();
    state.actual_mib = vm.balloon_actual_mib();
    const blimp::v1::MemoryEnforcement& enforcement = vm.memory_enforcement();
    if (enforcement.flagged()) {
      state.flagged = enforcement.reason();
    } else if (enforcement.stats_flagged()) {
      state.flagged = absl::StrCat("impossible statistics: ", enforcement.stats_reason());
    }
    {
      absl::MutexLock lock(&mu_);
      const Latest& latest = latest_[vm.vm_id()];
      state.has_stats = latest.has;
      state.available_bytes = latest.stats.available_memory();
      state.free_bytes = latest.stats.free_memory();
      state.total_bytes = latest.stats.total_memory();
      state.stats_actual_mib = latest.stats.actual_mib();
      state.stats_time = latest.time;
      state.last_change = last_change_[vm.vm_id()];
    }
    states.push_back(state);
  }
  std::vector<Decision> decisions = DecideTargets(states, options_.policy, absl::Now());
  for (const Decision& decision : decisions) {
    if (!decision.changed()) {
      VLOG(1) << "VM '" << decision.id << "': " << decision.reason;
      continue;
    }
    LOG(INFO) << "VM '" << decision.id << "': target " << decision.old_target_mib << " -> "
              << decision.new_target_mib << " MiB: " << decision.reason;
    auto request = For<blimp::v1::PatchBalloonRequest>(decision.id);
    request.mutable_update()->set_amount_mib(decision.new_target_mib);
    google::protobuf::Empty empty;
    grpc::Status status = balloons_->PatchBalloon(Context().get(), request, &empty);
    {
      absl::MutexLock lock(&mu_);
      last_change_[decision.id] = absl::Now();
    }
    if (!status.ok()) {
      LOG(WARNING) << "VM '" << decision.id << "': PatchBalloon: " << status.error_message();
    }
  }
  return decisions;
}

void Controller::Run() {
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<std::vector<Decision>> round = RunOnce();
    if (!round.ok()) LOG(WARNING) << "round failed: " << round.status();
    stop_.WaitForNotificationWithTimeout(options_.interval);
  }
}

}  // namespace blimp::client
