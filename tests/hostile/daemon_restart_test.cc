// blimpd dies, the VMs do not: kill -9 of blimpd (or SIGUSR2, the upgrade
// path) leaves every blimp-vmm running with its console, and the next blimpd
// on the same run directory adopts them: same pids, same state, balloon
// calls and per-VM REST sockets work again, a second VMM for the same VM is
// refused, and a VMM that is wedged or gone meanwhile is handled. Real
// blimpd, real test guests.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

namespace v1 = blimp::v1;

// Running (a zombie has exited: whoever adopted the orphan reaps it later).
bool Alive(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
}

ino_t Inode(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Runs blimp-vmm with `args`; its exit status and what it printed.
std::pair<int, std::string> RunVmm(const std::vector<std::string>& args, const std::string& out) {
  std::string command = VmmBinary();
  for (const std::string& arg : args) absl::StrAppend(&command, " '", arg, "'");
  absl::StrAppend(&command, " >", out, " 2>&1");
  const int status = std::system(command.c_str());
  std::stringstream text;
  text << std::ifstream(out).rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

absl::StatusOr<v1::Vm> CreateOnly(DaemonProcess& daemon, const std::string& id) {
  v1::CreateVmRequest request;
  request.set_vm_id(id);
  *request.mutable_config() = TestGuestVmConfig(64);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::Vm vm;
  grpc::Status status = daemon.vms().CreateVm(&context, request, &vm);
  if (!status.ok()) return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                                        status.error_message());
  return vm;
}

grpc::Status Call(DaemonProcess& daemon, const std::string& verb, const std::string& id,
                  v1::Vm* vm) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  if (verb == "start") {
    v1::StartVmRequest request;
    request.set_vm_id(id);
    return daemon.vms().StartVm(&context, request, vm);
  }
  v1::StopVmRequest request;
  request.set_vm_id(id);
  return daemon.vms().StopVm(&context, request, vm);
}

TEST(DaemonRestartTest, KillNineLeavesTheVmsRunningAndTheNextBlimpdAdoptsThem) {
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("a", 128).ok());
  ASSERT_TRUE(CreateOnly(daemon, "b").ok());
  ASSERT_TRUE(daemon.SetTarget("a", 32).ok());
  ASSERT_TRUE(daemon.WaitForActual("a", 32).ok());
  auto a = daemon.GetVm("a");
  auto b = daemon.GetVm("b");
  ASSERT_TRUE(a.ok() && b.ok());
  const pid_t pid_a = a->vmm_pid(), pid_b = b->vmm_pid();
  const ino_t console_inode = Inode(daemon.console_socket("a"));

  daemon.Signal(SIGKILL);
  ASSERT_TRUE(daemon.WaitExit(absl::Seconds(10)).has_value());
  EXPECT_TRUE(Alive(pid_a) && Alive(pid_b)) << "a VMM died with blimpd";
  // The console is the VMM's own: it answers with no blimpd at all.
  EXPECT_TRUE(absl::StrContains(daemon.Console("a", "mem", {"ok", "error:"}), "total_pages="))
      << "no console while blimpd is down";

  // Nobody may start a second VMM for a running VM, nor clobber its files.
  auto [code, out] = RunVmm({"--control-sock", daemon.vm_dir("a") + "/control.sock",
                             "--console-log", daemon.console_log("a"), "--console-sock",
                             daemon.console_socket("a"), "--id", "a"},
                            daemon.run_dir() + "/second-vmm.out");
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat("is locked by pid ", pid_a))) << out;
  EXPECT_EQ(Inode(daemon.console_socket("a")), console_inode) << "console.sock was replaced";

  const absl::Time restart = absl::Now();
  ASSERT_TRUE(daemon.Restart().ok());
  EXPECT_LT(absl::Now() - restart, absl::Seconds(5));
  a = daemon.GetVm("a");
  b = daemon.GetVm("b");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->vmm_pid(), pid_a);
  EXPECT_EQ(a->state(), v1::VM_STATE_RUNNING);
  EXPECT_EQ(a->balloon_actual_mib(), 32u);
  EXPECT_EQ(b->vmm_pid(), pid_b);
  EXPECT_EQ(b->state(), v1::VM_STATE_CREATED);
  EXPECT_EQ(daemon.VmmPids().size(), 2u) << "a VMM was started twice";

  // Everything works again: balloon, the per-VM REST socket, the console.
  auto balloon = HttpRequest(daemon.vm_socket("a"), "GET", "/balloon");
  ASSERT_TRUE(balloon.ok()) << balloon.status();
  EXPECT_EQ(balloon->status, 200) << balloon->body;
  EXPECT_TRUE(absl::StrContains(balloon->body, "\"amount_mib\": 32") ||
              absl::StrContains(balloon->body, "\"amount_mib\":32"))
      << balloon->body;
  ASSERT_TRUE(daemon.SetTarget("a", 0).ok());
  EXPECT_TRUE(daemon.WaitForActual("a", 0).ok());
  EXPECT_EQ(CreateOnly(daemon, "a").status().code(), absl::StatusCode::kAlreadyExists);
  v1::Vm vm;
  grpc::Status status = Call(daemon, "start", "b", &vm);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(vm.state(), v1::VM_STATE_RUNNING);

  // An adopted VMM ends as a child does: stop, exit seen through its pidfd.
  status = Call(daemon, "stop", "b", &vm);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(vm.state(), v1::VM_STATE_STOPPED);
  EXPECT_EQ(vm.reason(), "stopped by request");
  EXPECT_FALSE(Alive(pid_b));
  auto deleted = HttpRequest(daemon.rest_socket(), "DELETE", "/vms/a");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->status, 204) << deleted->body;
  for (int i = 0; i < 100 && Alive(pid_a); ++i) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_FALSE(Alive(pid_a)) << "DeleteVm left the adopted VMM running";
  EXPECT_NE(::access(daemon.vm_dir("a").c_str(), F_OK), 0);
}

TEST(DaemonRestartTest, SigUsr2IsTheUpgradePathAndWedgedOrGoneVmmsAreHandled) {
  auto started = DaemonProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  DaemonProcess& daemon = **started;
  ASSERT_TRUE(daemon.BootTestGuest("wedged", 64).ok());
  ASSERT_TRUE(daemon.BootTestGuest("gone", 64).ok());
  auto wedged = daemon.GetVm("wedged");
  auto gone = daemon.GetVm("gone");
  ASSERT_TRUE(wedged.ok() && gone.ok());

  daemon.Signal(SIGUSR2);
  std::optional<int> exit = daemon.WaitExit(absl::Seconds(10));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, 0);
  EXPECT_TRUE(Alive(wedged->vmm_pid()) && Alive(gone->vmm_pid())) << "SIGUSR2 stopped a VM";
  ::kill(wedged->vmm_pid(), SIGSTOP);
  ::kill(gone->vmm_pid(), SIGKILL);
  for (int i = 0; i < 100 && Alive(gone->vmm_pid()); ++i) absl::SleepFor(absl::Milliseconds(20));

  const absl::Time restart = absl::Now();
  ASSERT_TRUE(daemon.Restart().ok());
  EXPECT_LT(absl::Now() - restart, absl::Seconds(5)) << "a wedged VMM held up the start";
  // The wedged one is adopted; it answers once it runs again.
  const absl::Time asked = absl::Now();
  auto now = daemon.GetVm("wedged");
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_LT(absl::Now() - asked, absl::Seconds(3));
  EXPECT_EQ(now->vmm_pid(), wedged->vmm_pid());
  ::kill(wedged->vmm_pid(), SIGCONT);
  EXPECT_TRUE(daemon.Stats("wedged").ok());
  now = daemon.GetVm("wedged");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->state(), v1::VM_STATE_RUNNING);

  // The one killed meanwhile is not listed; its id can be used again.
  EXPECT_EQ(daemon.GetVm("gone").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(daemon.BootTestGuest("gone", 64).ok());
}

}  // namespace
}  // namespace blimp::tests
