// vm snapshot|restore|migrate.
#include "absl/strings/str_cat.h"
#include "api/validate.h"
#include "client/commands.h"
#include "client/format.h"

namespace blimp::client {
namespace {

std::string Mib(uint64_t bytes) { return absl::StrCat(bytes >> 20, " MiB"); }

int VmSnapshot(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  std::string state_path, memory_path;
  FlagSet flags;
  flags.String("snapshot-path", &state_path, "the new state file", "PATH");
  flags.String("mem-file-path", &memory_path, "the new memory file (sparse)", "PATH");
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  if (state_path.empty() || memory_path.empty()) {
    return env.UsageError("--snapshot-path and --mem-file-path are required");
  }
  blimp::v1::CreateSnapshotRequest request;
  request.set_vm_id(positional[0]);
  request.mutable_params()->set_snapshot_type("Full");
  request.mutable_params()->set_snapshot_path(Absolute(state_path));
  request.mutable_params()->set_mem_file_path(Absolute(memory_path));
  blimp::v1::SnapshotInfo info;
  grpc::Status status =
      env.vms().CreateSnapshot(env.Context(absl::Minutes(5)).get(), request, &info);
  if (!status.ok()) {
    return env.ServerError(status, absl::StrCat("snapshot VM '", positional[0], "'"));
  }
  env.Print(info, absl::StrCat("snapshot of VM '", positional[0], "': ",
                               Mib(info.memory_written_bytes()), " of ", Mib(info.memory_bytes()),
                               " of memory written\n"));
  return kExitOk;
}

int VmRestore(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  std::string state_path, memory_path;
  bool resume = false;
  FlagSet flags;
  flags.String("snapshot-path", &state_path, "the snapshot's state file", "PATH");
  flags.String("mem-file-path", &memory_path, "the snapshot's memory file", "PATH");
  flags.Bool("resume", &resume, "run the VM at once (else it is created paused)");
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  if (absl::Status valid = api::ValidateVmId(positional[0]); !valid.ok()) {
    return env.UsageError(std::string(valid.message()));
  }
  if (state_path.empty() || memory_path.empty()) {
    return env.UsageError("--snapshot-path and --mem-file-path are required");
  }
  blimp::v1::CreateVmRequest request;
  request.set_vm_id(positional[0]);
  blimp::v1::SnapshotLoadParams& load = *request.mutable_snapshot();
  load.set_snapshot_path(Absolute(state_path));
  load.mutable_mem_backend()->set_backend_type("File");
  load.mutable_mem_backend()->set_backend_path(Absolute(memory_path));
  load.set_resume_vm(resume);
  blimp::v1::Vm vm;
  grpc::Status status = env.vms().CreateVm(env.Context(absl::Minutes(5)).get(), request, &vm);
  if (!status.ok()) {
    return env.ServerError(status, absl::StrCat("restore VM '", positional[0], "'"));
  }
  env.Print(vm, absl::StrCat("restored VM '", vm.vm_id(), "' (", StateName(vm.state()), ")\n"));
  return kExitOk;
}

int VmMigrate(Env& env, const CommandHelp& help, const std::vector<std::string>& args) {
  std::string target, new_id;
  FlagSet flags;
  flags.String("to", &target, "the target blimpd's gRPC address", "HOST:PORT|unix:PATH");
  flags.String("as", &new_id, "the VM's id there (default: the same)", "ID");
  std::vector<std::string> positional;
  if (auto rc = env.Parse(help, flags, true, args, {"ID"}, &positional)) return *rc;
  if (target.empty()) return env.UsageError("--to is required");
  blimp::v1::MigrateVmRequest request;
  request.set_vm_id(positional[0]);
  request.set_target(target);
  request.set_target_vm_id(new_id);
  blimp::v1::MigrateVmResponse response;
  grpc::Status status =
      env.vms().MigrateVm(env.Context(absl::Minutes(15)).get(), request, &response);
  if (!status.ok()) {
    return env.ServerError(status, absl::StrCat("migrate VM '", positional[0], "'"));
  }
  env.Print(response,
            absl::StrCat("migrated VM '", positional[0], "' to ", target, " as '",
                         response.vm().vm_id(), "' (", StateName(response.vm().state()), "): ",
                         Mib(response.memory_sent_bytes()), " of ", Mib(response.memory_bytes()),
                         " of memory sent; snapshot ", response.snapshot_ms(), " ms, transfer ",
                         response.transfer_ms(), " ms, downtime ", response.downtime_ms(),
                         " ms\n"));
  return kExitOk;
}

}  // namespace

std::vector<Command> SnapshotCommands() {
  return {
      {{"vm snapshot", "ID --snapshot-path PATH --mem-file-path PATH",
        "Write a paused VM's state and memory into two new files.",
        "The memory file is sparse: pages the guest never touched or its balloon\n"
        "gave back are holes. Existing files are never replaced. Pause first:\n"
        "  blimpctl vm pause web && blimpctl vm snapshot web --snapshot-path web.state \\\n"
        "      --mem-file-path web.mem"},
       VmSnapshot},
      {{"vm restore", "ID --snapshot-path PATH --mem-file-path PATH [--resume]",
        "Create a VM from a snapshot (paused unless --resume).",
        "blimpd copies both files into the VM's folder first (holes stay holes), so\n"
        "the VM never depends on the files given."},
       VmRestore},
      {{"vm migrate", "ID --to HOST:PORT [--as ID]",
        "Move a running or paused VM to another blimpd.",
        "Pauses it, streams its state and only its resident memory to the target,\n"
        "restores it there, deletes it here and resumes it there. On a failure before\n"
        "the target holds it, it runs here again. Over TCP blimpd uses its TLS\n"
        "certificate (--tls-*), or plain gRPC to a loopback address only."},
       VmMigrate},
  };
}

}  // namespace blimp::client
