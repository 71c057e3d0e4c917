// Snapshots through blimpd and migration between two blimpd on this machine
// (different run dirs and TCP ports, each jailing its VMMs), with the test
// guest: CreateSnapshot to host paths, CreateVm from a snapshot, MigrateVm
// of a running and of a paused VM (memory pattern, clock, console, balloon
// after the move; only resident memory sent), failures that leave the VM
// running where it was, and hostile ReceiveVm streams that leave nothing.
#include <sys/stat.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/testing/test_certs.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/host_tools.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

namespace v1 = blimp::v1;

constexpr uint64_t kMiB = 1 << 20;
constexpr int kMemMib = 256;

void WithDeadline(grpc::ClientContext& context, int seconds = 60) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

int64_t Uptime(DaemonProcess& daemon, const std::string& id) {
  const std::string out = daemon.Console(id, "uptime", {"uptime:"});
  const size_t at = out.find("uptime: ");
  int64_t ms = -1;
  if (at == std::string::npos) return -1;
  const size_t end = out.find(' ', at + 8);
  if (!absl::SimpleAtoi(out.substr(at + 8, end - at - 8), &ms)) return -1;
  return ms;
}

uint64_t AllocatedBytes(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

class MigrateE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_KVM();
    for (auto* daemon : {&source_, &target_}) {
      auto started = DaemonProcess::Start(
          {"--grpc-listen=127.0.0.1:0", "--migration-idle-timeout=2s"});
      ASSERT_TRUE(started.ok()) << started.status();
      *daemon = *std::move(started);
    }
    absl::StatusOr<int> port = target_->GrpcTcpPort();
    ASSERT_TRUE(port.ok()) << port.status();
    target_address_ = absl::StrCat("127.0.0.1:", *port);
  }

  grpc::Status Migrate(const std::string& id, const std::string& target,
                       v1::MigrateVmResponse* response, const std::string& as = "") {
    grpc::ClientContext context;
    WithDeadline(context, 120);
    v1::MigrateVmRequest request;
    request.set_vm_id(id);
    request.set_target(target);
    request.set_target_vm_id(as);
    return source_->vms().MigrateVm(&context, request, response);
  }

  grpc::Status Pause(DaemonProcess& daemon, const std::string& id) {
    grpc::ClientContext context;
    WithDeadline(context);
    v1::PauseVmRequest request;
    request.set_vm_id(id);
    v1::Vm vm;
    return daemon.vms().PauseVm(&context, request, &vm);
  }

  v1::VmState State(DaemonProcess& daemon, const std::string& id) {
    absl::StatusOr<v1::Vm> vm = daemon.GetVm(id);
    return vm.ok() ? vm->state() : v1::VM_STATE_UNSPECIFIED;
  }

  std::unique_ptr<DaemonProcess> source_, target_;
  std::string target_address_;
};

TEST_F(MigrateE2eTest, ARunningVmMovesWithItsMemoryClockConsoleAndBalloon) {
  ASSERT_TRUE(source_->BootTestGuest("web", kMemMib).ok());
  ASSERT_TRUE(absl::StrContains(source_->Console("web", "touch 32", {"touched"}), "touched"));
  ASSERT_TRUE(absl::StrContains(source_->Console("web", "fill 7", {"filled"}), "filled"));
  ASSERT_TRUE(source_->SetTarget("web", 16).ok());
  ASSERT_TRUE(source_->WaitForActual("web", 16).ok());
  const int64_t before = Uptime(*source_, "web");
  ASSERT_GT(before, 0);

  v1::MigrateVmResponse moved;
  grpc::Status status = Migrate("web", target_address_, &moved);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::cout << "migrated " << kMemMib << " MiB: " << moved.memory_sent_bytes() / kMiB
            << " MiB sent, snapshot " << moved.snapshot_ms() << " ms, transfer "
            << moved.transfer_ms() << " ms, downtime " << moved.downtime_ms() << " ms"
            << std::endl;
  EXPECT_EQ(moved.vm().vm_id(), "web");
  EXPECT_EQ(moved.vm().state(), v1::VM_STATE_RUNNING);
  EXPECT_EQ(moved.memory_bytes(), kMemMib * kMiB);
  EXPECT_GT(moved.memory_sent_bytes(), 32 * kMiB) << "the pattern at least";
  EXPECT_LT(moved.memory_sent_bytes(), 96 * kMiB) << "only what the guest holds";
  EXPECT_GT(moved.downtime_ms(), 0);

  // Gone here, running there; nothing of it left in the source's folder.
  EXPECT_FALSE(source_->GetVm("web").ok());
  EXPECT_NE(::access(source_->vm_dir("web").c_str(), F_OK), 0);
  EXPECT_EQ(State(*target_, "web"), v1::VM_STATE_RUNNING);
  // Memory, console, clock.
  const std::string check = target_->Console("web", "check 7", {"checked", "error"});
  EXPECT_TRUE(absl::StrContains(check, "checked: 8192 pages")) << check;
  EXPECT_GE(Uptime(*target_, "web"), before);
  // The balloon: its target came along; statistics, inflate and deflate work.
  absl::StatusOr<v1::Vm> there = target_->GetVm("web");
  ASSERT_TRUE(there.ok());
  EXPECT_EQ(there->balloon_target_mib(), 16u);
  absl::StatusOr<v1::BalloonStats> stats = target_->Stats("web");
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_TRUE(target_->SetTarget("web", 128).ok());
  EXPECT_TRUE(target_->WaitForActual("web", 128).ok());
  ASSERT_TRUE(target_->SetTarget("web", 0).ok());
  EXPECT_TRUE(target_->WaitForActual("web", 0).ok());
  EXPECT_TRUE(absl::StrContains(target_->Console("web", "check 7", {"checked", "error"}),
                                "checked: 8192 pages"));
}

TEST_F(MigrateE2eTest, WithItsBalloonAt75PercentAQuarterOfRamIsSent) {
  ASSERT_TRUE(source_->BootTestGuest("big", kMemMib).ok());
  ASSERT_TRUE(absl::StrContains(source_->Console("big", "touch 200", {"touched"}), "touched"));
  ASSERT_TRUE(absl::StrContains(source_->Console("big", "free 200", {"freed"}), "freed"));
  ASSERT_TRUE(source_->SetTarget("big", kMemMib * 3 / 4).ok());
  ASSERT_TRUE(source_->WaitForActual("big", kMemMib * 3 / 4, absl::Seconds(60)).ok());
  v1::MigrateVmResponse moved;
  grpc::Status status = Migrate("big", target_address_, &moved, "big2");
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::cout << "balloon at 75%: " << moved.memory_sent_bytes() / kMiB << " of " << kMemMib
            << " MiB sent, downtime " << moved.downtime_ms() << " ms" << std::endl;
  EXPECT_LE(moved.memory_sent_bytes(), kMemMib * kMiB * 3 / 10);
  EXPECT_EQ(moved.vm().vm_id(), "big2");
  EXPECT_EQ(State(*target_, "big2"), v1::VM_STATE_RUNNING);
  ASSERT_TRUE(target_->SetTarget("big2", 0).ok());
  EXPECT_TRUE(target_->WaitForActual("big2", 0, absl::Seconds(60)).ok());
}

TEST_F(MigrateE2eTest, AFailedMigrationLeavesTheVmRunningWhereItWas) {
  ASSERT_TRUE(source_->BootTestGuest("web", kMemMib).ok());
  ASSERT_TRUE(absl::StrContains(source_->Console("web", "touch 32", {"touched"}), "touched"));
  ASSERT_TRUE(absl::StrContains(source_->Console("web", "fill 3", {"filled"}), "filled"));
  v1::MigrateVmResponse moved;

  grpc::Status nobody = Migrate("web", "127.0.0.1:1", &moved);
  EXPECT_EQ(nobody.error_code(), grpc::StatusCode::ABORTED) << nobody.error_message();
  EXPECT_TRUE(absl::StrContains(nobody.error_message(), "runs here again"))
      << nobody.error_message();
  EXPECT_EQ(State(*source_, "web"), v1::VM_STATE_RUNNING);

  // The id is taken there: that VM is not touched.
  ASSERT_TRUE(target_->BootTestGuest("web", 64).ok());
  grpc::Status taken = Migrate("web", target_address_, &moved);
  EXPECT_EQ(taken.error_code(), grpc::StatusCode::ALREADY_EXISTS) << taken.error_message();
  EXPECT_EQ(State(*source_, "web"), v1::VM_STATE_RUNNING);
  absl::StatusOr<v1::Vm> other = target_->GetVm("web");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->config().machine_config().mem_size_mib(), 64u);

  // Plain gRPC never leaves this host; bad ids and targets are refused first.
  grpc::Status remote = Migrate("web", "192.0.2.1:7000", &moved);
  EXPECT_EQ(remote.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << remote.error_message();
  EXPECT_EQ(Migrate("web", "", &moved).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Migrate("web", target_address_, &moved, "../x").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Migrate("nope", target_address_, &moved).error_code(), grpc::StatusCode::NOT_FOUND);
  CommandResult cli = RunCommand(absl::StrCat(
      "timeout 60 ", Runfile("client/blimpctl"), " --server unix:", source_->run_dir(),
      "/blimp.grpc.sock vm migrate web --to 127.0.0.1:1 2>&1"));
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(cli.output, "runs here again")) << cli.output;
  EXPECT_FALSE(absl::StrContains(cli.output, "cannot reach")) << "blimpd answered: " << cli.output;

  // Still the same guest here.
  EXPECT_EQ(State(*source_, "web"), v1::VM_STATE_RUNNING);
  const std::string check = source_->Console("web", "check 3", {"checked", "error"});
  EXPECT_TRUE(absl::StrContains(check, "checked: 8192 pages")) << check;

  // A paused VM moves and stays paused.
  ASSERT_TRUE(Pause(*source_, "web").ok());
  grpc::Status paused = Migrate("web", target_address_, &moved, "web-paused");
  ASSERT_TRUE(paused.ok()) << paused.error_message();
  EXPECT_EQ(State(*target_, "web-paused"), v1::VM_STATE_PAUSED);
  EXPECT_EQ(moved.downtime_ms(), 0);
}

TEST_F(MigrateE2eTest, SnapshotToHostFilesAndCreateVmFromThem) {
  ASSERT_TRUE(source_->BootTestGuest("a", kMemMib).ok());
  ASSERT_TRUE(absl::StrContains(source_->Console("a", "touch 32", {"touched"}), "touched"));
  ASSERT_TRUE(absl::StrContains(source_->Console("a", "fill 5", {"filled"}), "filled"));
  const std::string dir = source_->run_dir() + "/snapshots";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  auto snapshot = [&](const std::string& state, const std::string& mem) {
    grpc::ClientContext context;
    WithDeadline(context);
    v1::CreateSnapshotRequest request;
    request.set_vm_id("a");
    request.mutable_params()->set_snapshot_path(state);
    request.mutable_params()->set_mem_file_path(mem);
    v1::SnapshotInfo info;
    return source_->vms().CreateSnapshot(&context, request, &info);
  };
  EXPECT_EQ(snapshot(dir + "/a.state", dir + "/a.mem").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION)
      << "not while it runs";
  ASSERT_TRUE(Pause(*source_, "a").ok());
  EXPECT_EQ(snapshot("a.state", dir + "/a.mem").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(snapshot(dir + "/none/a.state", dir + "/a.mem").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status made = snapshot(dir + "/a.state", dir + "/a.mem");
  ASSERT_TRUE(made.ok()) << made.error_message();
  EXPECT_LT(AllocatedBytes(dir + "/a.mem"), 96 * kMiB);
  EXPECT_EQ(snapshot(dir + "/a.state", dir + "/b.mem").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT)
      << "an existing file is never replaced";
  EXPECT_NE(::access((dir + "/b.mem").c_str(), F_OK), 0);

  // The target restores it (running) through blimpctl; the files stay the user's.
  const std::string blimpctl = Runfile("client/blimpctl");
  CommandResult restored =
      RunCommand(absl::StrCat("timeout 60 ", blimpctl, " --server unix:", target_->run_dir(),
                              "/blimp.grpc.sock vm restore copy --snapshot-path ", dir,
                              "/a.state --mem-file-path ", dir, "/a.mem --resume 2>&1"));
  ASSERT_EQ(restored.exit_code, 0) << restored.output;
  EXPECT_TRUE(absl::StrContains(restored.output, "restored VM 'copy' (running)"))
      << restored.output;
  EXPECT_EQ(::access((dir + "/a.mem").c_str(), F_OK), 0);
  const std::string check = target_->Console("copy", "check 5", {"checked", "error"});
  EXPECT_TRUE(absl::StrContains(check, "checked: 8192 pages")) << check;

  // A damaged state file is refused and leaves no VM behind.
  const std::string bad = dir + "/bad.state";
  ASSERT_EQ(std::system(absl::StrCat("head -c 100 ", dir, "/a.state > ", bad).c_str()), 0);
  CommandResult refused =
      RunCommand(absl::StrCat("timeout 60 ", blimpctl, " --server unix:", target_->run_dir(),
                              "/blimp.grpc.sock vm restore bad --snapshot-path ", bad,
                              " --mem-file-path ", dir, "/a.mem 2>&1"));
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_FALSE(target_->GetVm("bad").ok());
  EXPECT_NE(::access(target_->vm_dir("bad").c_str(), F_OK), 0);
  // The source's snapshot folder files are gone; it resumes and works.
  EXPECT_NE(::access((source_->vm_dir("a") + "/snapshot.mem").c_str(), F_OK), 0);
}

// ReceiveVm as a hostile or broken sender would drive it.
class ReceiveStream {
 public:
  explicit ReceiveStream(DaemonProcess& daemon) {
    WithDeadline(context_, 30);
    writer_ = daemon.vms().ReceiveVm(&context_, &vm_);
  }
  ReceiveStream& Header(const std::string& id, uint64_t state_bytes, uint64_t memory_bytes) {
    v1::MigrationChunk chunk;
    chunk.mutable_header()->set_vm_id(id);
    chunk.mutable_header()->set_state_bytes(state_bytes);
    chunk.mutable_header()->set_memory_bytes(memory_bytes);
    writer_->Write(chunk);
    return *this;
  }
  ReceiveStream& State(const std::string& bytes) {
    v1::MigrationChunk chunk;
    chunk.set_state(bytes);
    writer_->Write(chunk);
    return *this;
  }
  ReceiveStream& Memory(uint64_t offset, const std::string& bytes) {
    v1::MigrationChunk chunk;
    chunk.mutable_memory()->set_offset(offset);
    chunk.mutable_memory()->set_data(bytes);
    writer_->Write(chunk);
    return *this;
  }
  ReceiveStream& End(uint64_t memory_sent) {
    v1::MigrationChunk chunk;
    chunk.mutable_end()->set_memory_sent_bytes(memory_sent);
    writer_->Write(chunk);
    return *this;
  }
  grpc::Status Finish(bool writes_done = true) {
    if (writes_done) writer_->WritesDone();
    return writer_->Finish();
  }

 private:
  grpc::ClientContext context_;
  v1::Vm vm_;
  std::unique_ptr<grpc::ClientWriter<v1::MigrationChunk>> writer_;
};

TEST_F(MigrateE2eTest, HostileReceiveStreamsLeaveNothingBehind) {
  const std::string page(4096, 'x');
  auto nothing_left = [&](const std::string& id) {
    EXPECT_FALSE(target_->GetVm(id).ok()) << id;
    EXPECT_NE(::access(target_->vm_dir(id).c_str(), F_OK), 0) << id;
  };
  grpc::Status status = ReceiveStream(*target_).State("x").Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  status = ReceiveStream(*target_).Header("h1", 10, kMiB + 1).Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  status = ReceiveStream(*target_).Header("h1", 0, kMiB).Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  status = ReceiveStream(*target_).Header("h1", 10, uint64_t{1} << 50).Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  status = ReceiveStream(*target_).Header("../h", 10, kMiB).Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  nothing_left("h1");
  // Past the memory, unaligned, more state than announced, a second header.
  status = ReceiveStream(*target_).Header("h2", 10, kMiB).Memory(kMiB, page).Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  status = ReceiveStream(*target_).Header("h2", 10, kMiB).Memory(kMiB - 4096, page + "y").Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  status = ReceiveStream(*target_).Header("h2", 10, kMiB).Memory(100, page).Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  status = ReceiveStream(*target_).Header("h2", 10, kMiB).State(std::string(11, 's')).Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  status = ReceiveStream(*target_).Header("h2", 10, kMiB).Header("h2", 10, kMiB).Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  nothing_left("h2");
  // Complete but not a snapshot; a count that disagrees; no end marker.
  status = ReceiveStream(*target_).Header("h3", 10, kMiB).State("0123456789").End(0).Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  status = ReceiveStream(*target_).Header("h3", 10, kMiB).State("0123456789").Memory(0, page)
               .End(8192).Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << status.error_message();
  status = ReceiveStream(*target_).Header("h3", 10, kMiB).State("0123456789").Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED) << status.error_message();
  nothing_left("h3");
  // A sender that stalls is cut off after --migration-idle-timeout (2 s).
  const absl::Time begin = absl::Now();
  status = ReceiveStream(*target_).Header("h4", 10, kMiB).Finish(/*writes_done=*/false);
  EXPECT_NE(status.error_code(), grpc::StatusCode::OK);
  EXPECT_LT(absl::Now() - begin, absl::Seconds(20));
  nothing_left("h4");
  // The target still works.
  EXPECT_TRUE(target_->BootTestGuest("fine", 64).ok());
}

// Over TCP with the containment issue's mutual TLS: each blimpd dials the
// other with its own certificate; a target without TLS is refused by the
// handshake and the VM runs on.
TEST(MigrateTlsE2eTest, MigratesOverMutualTlsAndNeverInClearText) {
  SKIP_WITHOUT_KVM();
  absl::StatusOr<gateway::testing::TestCerts> certs = gateway::testing::MakeTestCerts();
  ASSERT_TRUE(certs.ok()) << certs.status();
  const std::vector<std::string> tls = {"--grpc-listen=127.0.0.1:0", "--tls-cert",
                                        certs->server_cert, "--tls-key", certs->server_key,
                                        "--tls-client-ca", certs->ca_cert};
  auto source = DaemonProcess::Start(tls);
  auto target = DaemonProcess::Start(tls);
  auto plain = DaemonProcess::Start({"--grpc-listen=127.0.0.1:0"});
  ASSERT_TRUE(source.ok() && target.ok() && plain.ok());
  absl::StatusOr<int> tls_port = (*target)->GrpcTcpPort();
  absl::StatusOr<int> plain_port = (*plain)->GrpcTcpPort();
  ASSERT_TRUE(tls_port.ok() && plain_port.ok());
  ASSERT_TRUE((*source)->BootTestGuest("web", 128).ok());
  auto migrate = [&](const std::string& to, v1::MigrateVmResponse* response) {
    grpc::ClientContext context;
    WithDeadline(context, 60);
    v1::MigrateVmRequest request;
    request.set_vm_id("web");
    request.set_target(to);
    return (*source)->vms().MigrateVm(&context, request, response);
  };
  v1::MigrateVmResponse moved;
  grpc::Status refused = migrate(absl::StrCat("127.0.0.1:", *plain_port), &moved);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::ABORTED) << refused.error_message();
  EXPECT_EQ((*source)->GetVm("web")->state(), v1::VM_STATE_RUNNING);
  grpc::Status status = migrate(absl::StrCat("127.0.0.1:", *tls_port), &moved);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(moved.vm().state(), v1::VM_STATE_RUNNING);
  EXPECT_EQ((*target)->GetVm("web")->state(), v1::VM_STATE_RUNNING);
  EXPECT_FALSE((*source)->GetVm("web").ok());
  std::system(("rm -rf " + certs->dir).c_str());
}

}  // namespace
}  // namespace blimp::tests
