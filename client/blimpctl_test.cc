// blimpctl without a server (help, usage, exit codes, blimpd unreachable) and
// against small fake VmService/BalloonService on a unix socket in-process.
#include "client/blimpctl.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "api/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result Blimpctl(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = Run(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(BlimpctlUsageTest, TopHelpListsEveryCommand) {
  Result r = Blimpctl({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* name : {"vm create", "vm list", "vm console", "balloon set", "balloon stats",
                           "balloon hinting status", "balloon interval", "top"}) {
    EXPECT_THAT(r.out, HasSubstr(name));
  }
  EXPECT_THAT(Blimpctl({"help"}).out, HasSubstr("Usage: blimpctl COMMAND"));
}

TEST(BlimpctlUsageTest, EveryCommandHasHelp) {
  for (std::vector<std::string> command :
       std::vector<std::vector<std::string>>{{"vm", "create"},
                                             {"vm", "start"},
                                             {"vm", "stop"},
                                             {"vm", "delete"},
                                             {"vm", "get"},
                                             {"vm", "list"},
                                             {"vm", "console"},
                                             {"balloon", "set"},
                                             {"balloon", "get"},
                                             {"balloon", "stats"},
                                             {"balloon", "metrics"},
                                             {"balloon", "interval"},
                                             {"balloon", "hinting", "start"},
                                             {"balloon", "hinting", "status"},
                                             {"balloon", "hinting", "stop"},
                                             {"top"}}) {
    std::string name = absl::StrJoin(command, " ");
    command.push_back("--help");
    Result r = Blimpctl(command);
    EXPECT_EQ(r.code, 0) << name;
    EXPECT_THAT(r.out, HasSubstr("Usage: blimpctl " + name)) << name;
    EXPECT_THAT(r.out, HasSubstr("--server")) << name;
  }
  Result group = Blimpctl({"balloon", "--help"});
  EXPECT_EQ(group.code, 0);
  EXPECT_THAT(group.out, HasSubstr("balloon hinting stop"));
  EXPECT_THAT(group.out, Not(HasSubstr("vm create")));
}

TEST(BlimpctlUsageTest, UsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "a command is needed"},
           {{"frob"}, "unknown command \"frob\""},
           {{"vm"}, "a subcommand is needed"},
           {{"vm", "frob"}, "unknown command \"vm frob\""},
           {{"vm", "get"}, "missing ID"},
           {{"vm", "get", "a", "b"}, "unexpected argument \"b\""},
           {{"vm", "list", "--frob"}, "unknown flag --frob"},
           {{"vm", "list", "--output", "yaml"}, "--output wants table or json"},
           {{"vm", "create", "a"}, "--kernel"},
           {{"vm", "create", "a", "--config", "x.json", "--mem-mib", "5"}, "--config excludes"},
           {{"vm", "create", "../a", "--kernel", "k"}, "invalid VM id"},
           {{"balloon", "set", "a"}, "--amount-mib is required"},
           {{"balloon", "set", "a", "--amount-mib", "lots"}, "non-negative integer"},
           {{"balloon", "set", "a", "--amount-mib"}, "needs a value"},
           {{"balloon", "interval", "a", "-1"}, "unknown flag"},
           {{"balloon", "interval", "a", "soon"}, "SECONDS wants"},
           {{"balloon", "stats", "a", "--watch=maybe"}, "true or false"},
           {{"vm", "list", "--tls-ca", "ca.pem"}, "blimpd's unix socket is plain"},
           {{"top"}, "top needs a terminal on stdout (--once prints one frame)"},
           {{"top", "--once", "--sort", "size"}, "--sort: no column \"size\""},
           {{"top", "--interval-ms", "5"}, "--interval-ms wants 100..60000"},
           {{"vm", "list", "--server", "127.0.0.1:1", "--tls-ca", "ca.pem"}, "go together"},
           {{"vm", "list", "--server", "127.0.0.1:1", "--tls-ca", "/nonexistent/ca.pem",
             "--tls-cert", "c.pem", "--tls-key", "k.pem"},
            "--tls-ca: cannot read /nonexistent/ca.pem"},
       }) {
    Result r = Blimpctl(c.args);
    EXPECT_EQ(r.code, 2) << absl::StrJoin(c.args, " ") << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << absl::StrJoin(c.args, " ");
    EXPECT_EQ(r.out, "");
  }
}

TEST(BlimpctlUsageTest, DaemonNotRunning) {
  Result r = Blimpctl({"vm", "list", "--server", "unix:/tmp/blimpctl-no-such-dir/blimp.sock"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot reach blimpd at unix:/tmp/blimpctl-no-such-dir/blimp.sock"));
  EXPECT_THAT(r.err, HasSubstr("is blimpd running?"));
}

// A fleet in memory. The balloon's actual size follows the target by 16 MiB
// per GetVm, and stops at `stall_at` when set.
class FakeBlimpd final : public blimp::v1::VmService::Service,
                        public blimp::v1::BalloonService::Service {
 public:
  absl::Mutex mu;
  std::map<std::string, blimp::v1::Vm> vms ABSL_GUARDED_BY(mu);
  std::optional<uint32_t> stall_at ABSL_GUARDED_BY(mu);
  blimp::v1::CreateVmRequest last_create ABSL_GUARDED_BY(mu);

  grpc::Status CreateVm(grpc::ServerContext*, const blimp::v1::CreateVmRequest* request,
                        blimp::v1::Vm* response) override {
    absl::MutexLock lock(&mu);
    if (vms.count(request->vm_id())) return {grpc::StatusCode::ALREADY_EXISTS, "VM exists"};
    last_create = *request;
    blimp::v1::Vm& vm = vms[request->vm_id()];
    vm.set_vm_id(request->vm_id());
    vm.set_state(blimp::v1::VM_STATE_CREATED);
    *vm.mutable_config() = request->config();
    *response = vm;
    return grpc::Status::OK;
  }
  grpc::Status StartVm(grpc::ServerContext*, const blimp::v1::StartVmRequest* request,
                       blimp::v1::Vm* response) override {
    absl::MutexLock lock(&mu);
    blimp::v1::Vm* vm = Find(request->vm_id());
    if (!vm) return NotFound(request->vm_id());
    vm->set_state(blimp::v1::VM_STATE_RUNNING);
    vm->set_vmm_pid(1234);
    vm->set_vmm_rss_bytes(40 << 20);
    if (vm->config().has_balloon()) {
      vm->set_balloon_target_mib(vm->config().balloon().amount_mib());
      vm->set_balloon_actual_mib(vm->config().balloon().amount_mib());
    }
    *response = *vm;
    return grpc::Status::OK;
  }
  grpc::Status StopVm(grpc::ServerContext*, const blimp::v1::StopVmRequest* request,
                      blimp::v1::Vm* response) override {
    absl::MutexLock lock(&mu);
    blimp::v1::Vm* vm = Find(request->vm_id());
    if (!vm) return NotFound(request->vm_id());
    vm->set_state(blimp::v1::VM_STATE_STOPPED);
    vm->set_reason("stopped by request");
    *response = *vm;
    return grpc::Status::OK;
  }
  grpc::Status DeleteVm(grpc::ServerContext*, const blimp::v1::DeleteVmRequest* request,
                        google::protobuf::Empty*) override {
    absl::MutexLock lock(&mu);
    if (!vms.erase(request->vm_id())) return NotFound(request->vm_id());
    return grpc::Status::OK;
  }
  grpc::Status GetVm(grpc::ServerContext*, const blimp::v1::GetVmRequest* request,
                     blimp::v1::Vm* response) override {
    absl::MutexLock lock(&mu);
    blimp::v1::Vm* vm = Find(request->vm_id());
    if (!vm) return NotFound(request->vm_id());
    if (vm->has_balloon_actual_mib()) {
      int64_t actual = vm->balloon_actual_mib(), target = vm->balloon_target_mib();
      int64_t next = actual < target ? std::min(actual + 16, target) : std::max(actual - 16, target);
      if (stall_at && actual == *stall_at) next = actual;
      if (stall_at && ((actual < *stall_at && next > *stall_at) ||
                       (actual > *stall_at && next < *stall_at))) {
        next = *stall_at;
      }
      vm->set_balloon_actual_mib(static_cast<uint32_t>(next));
    }
    *response = *vm;
    return grpc::Status::OK;
  }
  grpc::Status ListVms(grpc::ServerContext*, const blimp::v1::ListVmsRequest*,
                       blimp::v1::ListVmsResponse* response) override {
    absl::MutexLock lock(&mu);
    for (const auto& [id, vm] : vms) *response->add_vms() = vm;
    return grpc::Status::OK;
  }
  grpc::Status GetBalloon(grpc::ServerContext*, const blimp::v1::GetBalloonRequest* request,
                          blimp::v1::Balloon* response) override {
    absl::MutexLock lock(&mu);
    blimp::v1::Vm* vm = Find(request->vm_id());
    if (!vm) return NotFound(request->vm_id());
    if (!vm->config().has_balloon()) return {grpc::StatusCode::NOT_FOUND, "device not found"};
    *response = vm->config().balloon();
    response->set_amount_mib(vm->balloon_target_mib());
    return grpc::Status::OK;
  }
  grpc::Status PatchBalloon(grpc::ServerContext*, const blimp::v1::PatchBalloonRequest* request,
                            google::protobuf::Empty*) override {
    absl::MutexLock lock(&mu);
    blimp::v1::Vm* vm = Find(request->vm_id());
    if (!vm) return NotFound(request->vm_id());
    if (vm->state() != blimp::v1::VM_STATE_RUNNING) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "operation not supported before starting the VM"};
    }
    if (request->update().amount_mib() > vm->config().machine_config().mem_size_mib()) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "amount_mib larger than the guest's memory"};
    }
    vm->set_balloon_target_mib(request->update().amount_mib());
    return grpc::Status::OK;
  }
  grpc::Status GetBalloonStatistics(grpc::ServerContext*,
                                    const blimp::v1::GetBalloonStatisticsRequest* request,
                                    blimp::v1::BalloonStats* response) override {
    absl::MutexLock lock(&mu);
    blimp::v1::Vm* vm = Find(request->vm_id());
    if (!vm) return NotFound(request->vm_id());
    *response = StatsOf(*vm);
    return grpc::Status::OK;
  }
  grpc::Status PatchBalloonStatistics(grpc::ServerContext*,
                                      const blimp::v1::PatchBalloonStatisticsRequest* request,
                                      google::protobuf::Empty*) override {
    absl::MutexLock lock(&mu);
    blimp::v1::Vm* vm = Find(request->vm_id());
    if (!vm) return NotFound(request->vm_id());
    vm->mutable_config()->mutable_balloon()->set_stats_polling_interval_s(
        request->update().stats_polling_interval_s());
    return grpc::Status::OK;
  }
  grpc::Status StartBalloonHinting(grpc::ServerContext*,
                                   const blimp::v1::StartBalloonHintingRequest*,
                                   google::protobuf::Empty*) override {
    absl::MutexLock lock(&mu);
    ++host_cmd_;
    return grpc::Status::OK;
  }
  grpc::Status GetBalloonHintingStatus(grpc::ServerContext*,
                                       const blimp::v1::GetBalloonHintingStatusRequest*,
                                       blimp::v1::HintingStatus* response) override {
    absl::MutexLock lock(&mu);
    response->set_host_cmd(host_cmd_);
    response->set_guest_cmd(host_cmd_);
    return grpc::Status::OK;
  }
  grpc::Status WatchBalloonStatistics(grpc::ServerContext* context,
                                      const blimp::v1::WatchBalloonStatisticsRequest* request,
                                      grpc::ServerWriter<blimp::v1::BalloonStats>* writer) override {
    for (int i = 0; i < 100 && !context->IsCancelled(); ++i) {
      blimp::v1::BalloonStats stats;
      {
        absl::MutexLock lock(&mu);
        blimp::v1::Vm* vm = Find(request->vm_id());
        if (!vm) return NotFound(request->vm_id());
        stats = StatsOf(*vm);
        stats.set_minor_faults(i);
      }
      if (!writer->Write(stats)) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return grpc::Status::OK;
  }

 private:
  blimp::v1::Vm* Find(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = vms.find(id);
    return it == vms.end() ? nullptr : &it->second;
  }
  static grpc::Status NotFound(const std::string& id) {
    return {grpc::StatusCode::NOT_FOUND, absl::StrCat("no such VM '", id, "'")};
  }
  static blimp::v1::BalloonStats StatsOf(const blimp::v1::Vm& vm) {
    blimp::v1::BalloonStats stats;
    stats.set_target_mib(vm.balloon_target_mib());
    stats.set_target_pages(vm.balloon_target_mib() * 256);
    stats.set_actual_mib(vm.balloon_actual_mib());
    stats.set_actual_pages(vm.balloon_actual_mib() * 256);
    stats.set_available_memory(100ull << 20);
    stats.set_total_memory(uint64_t{vm.config().machine_config().mem_size_mib()} << 20);
    return stats;
  }
  uint32_t host_cmd_ = 0;
};

class BlimpctlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/blimpctl-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    server_address_ = absl::StrCat("unix:", dir_, "/blimp.grpc.sock");
    grpc::ServerBuilder builder;
    builder.AddListeningPort(server_address_, grpc::InsecureServerCredentials());
    builder.RegisterService(static_cast<blimp::v1::VmService::Service*>(&fake_));
    builder.RegisterService(static_cast<blimp::v1::BalloonService::Service*>(&fake_));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_EQ(Ctl({"vm", "create", "web", "--kernel", "/boot/k", "--mem-mib", "512",
                   "--balloon-mib", "0", "--stats-interval", "1"})
                  .code,
              0);
    ASSERT_EQ(Ctl({"vm", "start", "web"}).code, 0);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    std::system(("rm -rf " + dir_).c_str());
  }

  Result Ctl(std::vector<std::string> args) {
    args.push_back("--server");
    args.push_back(server_address_);
    return Blimpctl(args);
  }

  FakeBlimpd fake_;
  std::string dir_;
  std::string server_address_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(BlimpctlServerTest, TopOnce) {
  ASSERT_EQ(Ctl({"vm", "create", "db", "--kernel", "/boot/k", "--mem-mib", "1024"}).code, 0);
  ASSERT_EQ(Ctl({"balloon", "set", "web", "--amount-mib", "128"}).code, 0);
  Result r = Ctl({"top", "--once", "--sort", "mem", "--ascii"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 VMs (MiB)  sort: mem"));
  EXPECT_THAT(r.out, HasSubstr("ID  "));
  const size_t db = r.out.find("\ndb "), web = r.out.find("\nweb ");
  ASSERT_NE(db, std::string::npos) << r.out;
  ASSERT_NE(web, std::string::npos) << r.out;
  EXPECT_LT(db, web) << r.out;  // 1024 MiB first.
  EXPECT_THAT(r.out, Not(HasSubstr("\033")));
  EXPECT_THAT(r.out, Not(HasSubstr("q quit")));
  r = Ctl({"top", "--once"});
  EXPECT_LT(r.out.find("\ndb "), r.out.find("\nweb ")) << r.out;  // By id.
}

TEST_F(BlimpctlServerTest, CreateFromFlagsSendsTheConfig) {
  Result r = Ctl({"vm", "create", "db", "--kernel", "vmlinux", "--vcpus", "2", "--mem-mib",
                  "1024", "--boot-args", "console=ttyS0 quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("created VM 'db'"));
  absl::MutexLock lock(&fake_.mu);
  const auto& config = fake_.last_create.config();
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  EXPECT_EQ(config.boot_source().kernel_image_path(), absl::StrCat(cwd, "/vmlinux"));
  EXPECT_EQ(config.boot_source().boot_args(), "console=ttyS0 quiet");
  EXPECT_EQ(config.machine_config().vcpu_count(), 2u);
  EXPECT_EQ(config.machine_config().mem_size_mib(), 1024u);
  EXPECT_FALSE(config.has_balloon());
}

TEST_F(BlimpctlServerTest, CreateFromConfigFile) {
  const std::string path = dir_ + "/vm.json";
  std::ofstream(path) << R"({"boot-source": {"kernel_image_path": "/k", "boot_args": "x"},
      "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
      "balloon": {"amount_mib": 16, "deflate_on_oom": true, "stats_polling_interval_s": 2}})";
  Result r = Ctl({"vm", "create", "cfg", "--config", path, "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  blimp::v1::Vm vm;
  ASSERT_TRUE(api::ParseJson(r.out, &vm).ok()) << r.out;
  EXPECT_EQ(vm.config().balloon().amount_mib(), 16u);
  EXPECT_TRUE(vm.config().balloon().deflate_on_oom());

  std::ofstream(path) << R"({"boot-source": {"kernel_image_path": "/k"}, "bogus": 1})";
  r = Ctl({"vm", "create", "cfg2", "--config", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("vm.json"));
  // The server's own refusal: exit 1 with its message.
  r = Ctl({"vm", "create", "web", "--kernel", "/k"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("VM exists"));
}

TEST_F(BlimpctlServerTest, ListAsTableAndJson) {
  Result table = Ctl({"vm", "list"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("ID"));
  EXPECT_THAT(table.out, HasSubstr("BALLOON(TARGET/ACTUAL)"));
  EXPECT_THAT(table.out, HasSubstr("web"));
  EXPECT_THAT(table.out, HasSubstr("running"));
  EXPECT_THAT(table.out, HasSubstr("512 MiB"));
  EXPECT_THAT(table.out, HasSubstr("0/0 MiB"));
  EXPECT_THAT(table.out, HasSubstr("40 MiB"));

  Result json = Ctl({"vm", "list", "--output", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  blimp::v1::ListVmsResponse list;
  ASSERT_TRUE(api::ParseJson(json.out, &list).ok()) << json.out;
  ASSERT_EQ(list.vms_size(), 1);
  EXPECT_EQ(list.vms(0).vm_id(), "web");
  EXPECT_EQ(list.vms(0).state(), blimp::v1::VM_STATE_RUNNING);
  EXPECT_EQ(list.vms(0).config().machine_config().mem_size_mib(), 512u);
}

TEST_F(BlimpctlServerTest, GetStopDeleteAndUnknownVm) {
  Result get = Ctl({"vm", "get", "web"});
  ASSERT_EQ(get.code, 0);
  EXPECT_THAT(get.out, HasSubstr("state:"));
  EXPECT_THAT(get.out, HasSubstr("running"));
  Result missing = Ctl({"vm", "get", "nope"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no such VM 'nope'"));
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(Ctl({"balloon", "set", "nope", "--amount-mib", "1"}).code, 1);
  Result stop = Ctl({"vm", "stop", "web"});
  EXPECT_EQ(stop.code, 0);
  EXPECT_THAT(stop.out, HasSubstr("stopped by request"));
  EXPECT_EQ(Ctl({"vm", "delete", "web"}).code, 0);
  EXPECT_EQ(Ctl({"vm", "delete", "web"}).code, 1);
}

TEST_F(BlimpctlServerTest, BalloonSetAndServerRefusal) {
  Result r = Ctl({"balloon", "set", "web", "--amount-mib", "64"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("set to 64 MiB"));
  Result get = Ctl({"balloon", "get", "web", "--output", "json"});
  ASSERT_EQ(get.code, 0);
  blimp::v1::Balloon balloon;
  ASSERT_TRUE(api::ParseJson(get.out, &balloon).ok()) << get.out;
  EXPECT_EQ(balloon.amount_mib(), 64u);
  Result too_big = Ctl({"balloon", "set", "web", "--amount-mib", "4096"});
  EXPECT_EQ(too_big.code, 1);
  EXPECT_THAT(too_big.err, HasSubstr("larger than the guest's memory"));
}

TEST_F(BlimpctlServerTest, BalloonSetWaitShowsProgressAndTime) {
  Result r = Ctl({"balloon", "set", "web", "--amount-mib", "64", "--wait", "--poll-ms", "10"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("16/64 MiB"));
  EXPECT_THAT(r.out, HasSubstr("[##############################]  64/64 MiB"));
  EXPECT_THAT(r.out, HasSubstr("reached 64 MiB in"));
}

TEST_F(BlimpctlServerTest, BalloonSetWaitReportsAStall) {
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.stall_at = 32;
  }
  Result r = Ctl({"balloon", "set", "web", "--amount-mib", "64", "--wait", "--poll-ms", "10",
                  "--stall-timeout-s", "1"});
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr("the guest stopped at 32 MiB for 1 s"));
}

TEST_F(BlimpctlServerTest, StatsAsTableJsonAndWatch) {
  Result table = Ctl({"balloon", "stats", "web"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("available_memory:"));
  EXPECT_THAT(table.out, HasSubstr("100 MiB"));
  Result json = Ctl({"balloon", "stats", "web", "--output", "json"});
  ASSERT_EQ(json.code, 0);
  blimp::v1::BalloonStats stats;
  ASSERT_TRUE(api::ParseJson(json.out, &stats).ok()) << json.out;
  EXPECT_EQ(stats.available_memory(), 100ull << 20);
  EXPECT_FALSE(stats.has_swap_in());

  Result watch = Ctl({"balloon", "stats", "web", "--watch", "--count", "3", "--output", "json"});
  ASSERT_EQ(watch.code, 0) << watch.err;
  std::istringstream lines(watch.out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    ASSERT_TRUE(api::ParseJson(line, &stats).ok()) << line;
    EXPECT_EQ(stats.minor_faults(), static_cast<uint64_t>(count));
    ++count;
  }
  EXPECT_EQ(count, 3);
}

TEST_F(BlimpctlServerTest, IntervalAndHinting) {
  EXPECT_EQ(Ctl({"balloon", "interval", "web", "5"}).code, 0);
  EXPECT_EQ(Ctl({"balloon", "hinting", "start", "web"}).code, 0);
  Result status = Ctl({"balloon", "hinting", "status", "web", "--output", "json"});
  ASSERT_EQ(status.code, 0);
  blimp::v1::HintingStatus hinting;
  ASSERT_TRUE(api::ParseJson(status.out, &hinting).ok()) << status.out;
  EXPECT_EQ(hinting.host_cmd(), 1u);
  // Not implemented by the fake: the server's UNIMPLEMENTED is an error.
  EXPECT_EQ(Ctl({"balloon", "hinting", "stop", "web"}).code, 1);
}

TEST_F(BlimpctlServerTest, ConsoleWithoutSocket) {
  Result r = Ctl({"vm", "console", "web", "--run-dir", dir_});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("no console at"));
}

}  // namespace
}  // namespace blimp::client
