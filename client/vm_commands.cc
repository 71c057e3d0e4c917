// vm create|start|stop|delete|get|list|console.
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "api/json.h"
#include "api/validate.h"
#include "client/commands.h"
#include "client/console.h"
#include "client/format.h"

namespace blimp::client {
namespace {

using blimp::v1::Vm;

template <typename Request>
Request For(const std::string& id) {
  Request request;
  request.set_vm_id(id);
  return request;
}

int VmCreate(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  std::string config_path, kernel, initrd, boot_args = "console=ttyS0";
  uint32_t vcpus = 1, mem_mib = 256, balloon_mib = 0, stats_interval = 0;
  bool deflate_on_oom = false;
  FlagSet flags;
  flags.String("config", &config_path, "Firecracker config-file JSON (boot-source, "
               "machine-config, balloon); excludes the flags below", "FILE");
  flags.String("kernel", &kernel, "guest kernel image", "PATH");
  flags.String("initrd", &initrd, "initrd image", "PATH");
  flags.String("boot-args", &boot_args, "kernel command line", "ARGS");
  flags.Uint("vcpus", &vcpus, "vCPU count (1..32)");
  flags.Uint("mem-mib", &mem_mib, "guest memory in MiB");
  flags.Uint("balloon-mib", &balloon_mib, "install a balloon with this initial target", "MIB");
  flags.Bool("deflate-on-oom", &deflate_on_oom, "balloon: let the guest deflate when it runs out "
             "of memory");
  flags.Uint("stats-interval", &stats_interval, "balloon: statistics every N seconds (0 = off)",
             "S");
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  const std::string& id = positional[0];
  if (absl::Status valid = api::ValidateVmId(id); !valid.ok()) {
    return env.UsageError(std::string(valid.message()));
  }

  blimp::v1::VmConfig config;
  const bool machine_flags = flags.seen("kernel") || flags.seen("initrd") ||
                             flags.seen("boot-args") || flags.seen("vcpus") ||
                             flags.seen("mem-mib") || flags.seen("balloon-mib") ||
                             flags.seen("deflate-on-oom") || flags.seen("stats-interval");
  if (!config_path.empty()) {
    if (machine_flags) return env.UsageError("--config excludes --kernel, --mem-mib and the rest");
    std::ifstream file(config_path);
    if (!file) return env.UsageError(absl::StrCat("cannot read ", config_path));
    std::stringstream text;
    text << file.rdbuf();
    if (absl::Status parsed = api::ParseJson(text.str(), &config); !parsed.ok()) {
      return env.UsageError(absl::StrCat(config_path, ": ", parsed.message()));
    }
  } else {
    if (kernel.empty()) return env.UsageError("either --config FILE or --kernel PATH is needed");
    config.mutable_boot_source()->set_kernel_image_path(kernel);
    config.mutable_boot_source()->set_initrd_path(initrd);
    config.mutable_boot_source()->set_boot_args(boot_args);
    config.mutable_machine_config()->set_vcpu_count(vcpus);
    config.mutable_machine_config()->set_mem_size_mib(mem_mib);
    if (flags.seen("balloon-mib") || flags.seen("deflate-on-oom") ||
        flags.seen("stats-interval")) {
      config.mutable_balloon()->set_amount_mib(balloon_mib);
      config.mutable_balloon()->set_deflate_on_oom(deflate_on_oom);
      config.mutable_balloon()->set_stats_polling_interval_s(stats_interval);
    }
  }
  auto* boot = config.mutable_boot_source();
  boot->set_kernel_image_path(Absolute(boot->kernel_image_path()));
  boot->set_initrd_path(Absolute(boot->initrd_path()));
  if (absl::Status valid = api::ValidateVmConfig(config); !valid.ok()) {
    return env.UsageError(std::string(valid.message()));
  }

  auto request = For<blimp::v1::CreateVmRequest>(id);
  *request.mutable_config() = config;
  Vm vm;
  grpc::Status status = env.vms().CreateVm(env.Context().get(), request, &vm);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("create VM '", id, "'"));
  env.Print(vm, absl::StrCat("created VM '", id, "'\n"));
  return kExitOk;
}

int VmStart(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  Vm vm;
  grpc::Status status = env.vms().StartVm(env.Context(absl::Seconds(90)).get(),
                                          For<blimp::v1::StartVmRequest>(positional[0]), &vm);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("start VM '", positional[0], "'"));
  env.Print(vm, absl::StrCat("started VM '", vm.vm_id(), "' (", StateName(vm.state()), ")\n"));
  return kExitOk;
}

int VmStop(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  Vm vm;
  grpc::Status status = env.vms().StopVm(env.Context(absl::Seconds(60)).get(),
                                         For<blimp::v1::StopVmRequest>(positional[0]), &vm);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("stop VM '", positional[0], "'"));
  env.Print(vm, absl::StrCat("stopped VM '", vm.vm_id(), "'",
                             vm.reason().empty() ? "" : absl::StrCat(": ", vm.reason()), "\n"));
  return kExitOk;
}

int VmPause(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  Vm vm;
  grpc::Status status = env.vms().PauseVm(env.Context(absl::Seconds(30)).get(),
                                          For<blimp::v1::PauseVmRequest>(positional[0]), &vm);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("pause VM '", positional[0], "'"));
  env.Print(vm, absl::StrCat("paused VM '", vm.vm_id(), "'\n"));
  return kExitOk;
}

int VmResume(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  Vm vm;
  grpc::Status status = env.vms().ResumeVm(env.Context(absl::Seconds(30)).get(),
                                           For<blimp::v1::ResumeVmRequest>(positional[0]), &vm);
  if (!status.ok()) {
    return env.ServerError(status, absl::StrCat("resume VM '", positional[0], "'"));
  }
  env.Print(vm, absl::StrCat("resumed VM '", vm.vm_id(), "' (", StateName(vm.state()), ")\n"));
  return kExitOk;
}

int VmDelete(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, false, args, {"ID"}, &positional)) return *rc;
  google::protobuf::Empty empty;
  grpc::Status status = env.vms().DeleteVm(env.Context(absl::Seconds(60)).get(),
                                           For<blimp::v1::DeleteVmRequest>(positional[0]), &empty);
  if (!status.ok()) {
    return env.ServerError(status, absl::StrCat("delete VM '", positional[0], "'"));
  }
  env.out() << "deleted VM '" << positional[0] << "'\n";
  return kExitOk;
}

int VmGet(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  Vm vm;
  grpc::Status status = env.vms().GetVm(env.Context().get(),
                                        For<blimp::v1::GetVmRequest>(positional[0]), &vm);
  if (!status.ok()) return env.ServerError(status, absl::StrCat("get VM '", positional[0], "'"));
  env.Print(vm, FormatVm(vm));
  return kExitOk;
}

int VmList(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  FlagSet flags;
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {}, &positional)) return *rc;
  blimp::v1::ListVmsResponse list;
  grpc::Status status = env.vms().ListVms(env.Context().get(), {}, &list);
  if (!status.ok()) return env.ServerError(status, "list VMs");
  env.Print(list, FormatVmList({list.vms().begin(), list.vms().end()}));
  return kExitOk;
}

int VmConsole(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  std::string run_dir = kDefaultRunDir;
  FlagSet flags;
  flags.String("run-dir", &run_dir, "blimpd's run directory (where vms/<id>/console.sock is)", "DIR");
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, false, args, {"ID"}, &positional)) return *rc;
  if (absl::Status valid = api::ValidateVmId(positional[0]); !valid.ok()) {
    return env.UsageError(std::string(valid.message()));
  }
  const std::string socket = absl::StrCat(run_dir, "/vms/", positional[0], "/console.sock");
  absl::Status attached = AttachConsole(socket, STDIN_FILENO, STDOUT_FILENO, env.err());
  if (!attached.ok()) {
    env.err() << "blimpctl: console of VM '" << positional[0] << "': " << attached.message()
              << "\n";
    return kExitError;
  }
  return kExitOk;
}

}  // namespace

std::string Absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[4096];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

std::vector<Command> VmCommands() {
  return {
      {{"vm create", "ID (--config FILE | --kernel PATH [--mem-mib N ...])",
        "Create a VM (not started) from a Firecracker config file or from flags.",
        "Relative kernel and initrd paths are made absolute against the current\n"
        "directory (blimpd opens them). A balloon is installed when the config file\n"
        "has one, or when --balloon-mib, --deflate-on-oom or --stats-interval is given.\n"
        "Example:\n"
        "  blimpctl vm create web --kernel vmlinux --mem-mib 512 --balloon-mib 0 \\\n"
        "      --stats-interval 1"},
       VmCreate},
      {{"vm start", "ID", "Boot a created VM.", ""}, VmStart},
      {{"vm stop", "ID", "Stop a VM (it stays listed as stopped).", ""}, VmStop},
      {{"vm pause", "ID", "Pause a running VM's vCPUs (its memory and devices stay).",
        "The balloon still takes calls; the guest acts on them once resumed."},
       VmPause},
      {{"vm resume", "ID", "Let a paused VM run again.", ""}, VmResume},
      {{"vm delete", "ID", "Stop a VM if needed and forget it.", ""}, VmDelete},
      {{"vm get", "ID", "Show one VM: state, config, balloon, VMM process.", ""}, VmGet},
      {{"vm list", "", "List the VMs: id, state, vCPUs, memory, balloon target/actual, RSS.",
        ""},
       VmList},
      {{"vm console", "ID [--run-dir DIR]", "Attach to the VM's serial console.",
        "Bytes go both ways between this terminal and <run-dir>/vms/<id>/console.sock;\n"
        "the terminal is put in raw mode while attached. Detach with Ctrl-] (the VM\n"
        "keeps running). Output is shown from the moment of attaching."},
       VmConsole},
  };
}

}  // namespace blimp::client
