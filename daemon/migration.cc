#include "daemon/migration.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/validate.h"
#include "base/errno_status.h"
#include "base/grpc_status.h"
#include "base/host_memory.h"
#include "base/status_macros.h"
#include "base/unique_fd.h"
#include "daemon/listen_address.h"
#include "daemon/sparse_file.h"
#include "glog/logging.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"
#include "vmm/snapshot/snapshot_file.h"

namespace blimp::daemon {
namespace {

namespace v1 = blimp::v1;

constexpr uint64_t kPageBytes = 4096;
constexpr uint64_t kMiB = 1 << 20;
// The state file: the VmState and the file's own few header bytes.
constexpr uint64_t kMaxStateFileBytes = vmm::snapshot::kMaxStateBytes + 4096;

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

std::chrono::system_clock::time_point Deadline(absl::Duration timeout) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout);
}

absl::Status WithContext(const absl::Status& status, absl::string_view context) {
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

// Cancels a ReceiveVm stream that has been silent for `timeout`: a blocked
// Read then returns false, so a stalled sender never holds the id, a
// thread and a half-written folder for long.
class IdleCanceller {
 public:
  IdleCanceller(grpc::ServerContext& context, absl::Duration timeout)
      : context_(context), timeout_(timeout), thread_([this] { Watch(); }) {}
  ~IdleCanceller() { Disarm(); }
  // From now on nothing is cancelled (the stream is complete: the restore
  // that follows may take longer than the idle timeout). Idempotent.
  void Disarm() {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }
  void Touch() {
    absl::MutexLock lock(&mu_);
    last_ = absl::Now();
  }
  bool fired() {
    absl::MutexLock lock(&mu_);
    return fired_;
  }

 private:
  void Watch() {
    absl::MutexLock lock(&mu_);
    while (!done_) {
      const absl::Time due = last_ + timeout_;
      if (absl::Now() >= due) {
        fired_ = true;
        context_.TryCancel();
        return;
      }
      mu_.AwaitWithDeadline(absl::Condition(&done_), due);
    }
  }

  grpc::ServerContext& context_;
  const absl::Duration timeout_;
  absl::Mutex mu_;
  absl::Time last_ ABSL_GUARDED_BY(mu_) = absl::Now();
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool fired_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // Last: starts once the rest is set.
};

absl::Status CheckHeader(const v1::MigrationHeader& header) {
  RETURN_IF_ERROR(api::ValidateVmId(header.vm_id()));
  if (header.state_bytes() == 0 || header.state_bytes() > kMaxStateFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("state_bytes ", header.state_bytes(),
                                                   " is not a snapshot state's size (1..",
                                                   kMaxStateFileBytes, ")"));
  }
  if (header.memory_bytes() == 0 || header.memory_bytes() % kMiB != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory_bytes ", header.memory_bytes(), " is not a whole number of MiB of guest RAM"));
  }
  return base::CheckMemoryFitsHost(header.memory_bytes() / kMiB);
}

base::UniqueFd CreateNew(const std::string& path) {
  return base::UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
}

// Writes the rest of a ReceiveVm stream, after its header, into `into`.
absl::Status ReceiveFiles(grpc::ServerReaderInterface<v1::MigrationChunk>& reader,
                          const v1::MigrationHeader& header, const api::SnapshotFiles& into,
                          IdleCanceller& idle) {
  base::UniqueFd state = CreateNew(into.state_path);
  base::UniqueFd memory = CreateNew(into.memory_path);
  if (!state.valid() || !memory.valid()) return base::ErrnoStatus("create the snapshot files");
  if (::ftruncate(memory.get(), static_cast<off_t>(header.memory_bytes())) != 0) {
    return base::ErrnoStatus("ftruncate the memory file");
  }
  uint64_t state_got = 0, memory_got = 0;
  v1::MigrationChunk chunk;
  while (reader.Read(&chunk)) {
    idle.Touch();
    switch (chunk.chunk_case()) {
      case v1::MigrationChunk::kState: {
        const std::string& data = chunk.state();
        if (data.size() > header.state_bytes() - state_got) {
          return absl::InvalidArgumentError(absl::StrCat(
              "more state than the header's state_bytes ", header.state_bytes()));
        }
        RETURN_IF_ERROR(WriteAt(state.get(), data.data(), data.size(), state_got));
        state_got += data.size();
        break;
      }
      case v1::MigrationChunk::kMemory: {
        const v1::MemoryData& data = chunk.memory();
        if (data.offset() % kPageBytes != 0 || data.data().empty() ||
            data.offset() > header.memory_bytes() ||
            data.data().size() > header.memory_bytes() - data.offset()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "memory chunk at ", data.offset(), " of ", data.data().size(),
              " bytes is not page aligned, empty or past memory_bytes ", header.memory_bytes()));
        }
        RETURN_IF_ERROR(
            WriteAt(memory.get(), data.data().data(), data.data().size(), data.offset()));
        memory_got += data.data().size();
        break;
      }
      case v1::MigrationChunk::kEnd:
        if (state_got != header.state_bytes()) {
          return absl::InvalidArgumentError(absl::StrCat("the stream ended with ", state_got, " of ",
                                                         header.state_bytes(), " state bytes"));
        }
        if (chunk.end().memory_sent_bytes() != memory_got) {
          return absl::DataLossError(absl::StrCat("the sender sent ",
                                                  chunk.end().memory_sent_bytes(),
                                                  " memory bytes, ", memory_got, " arrived"));
        }
        return absl::OkStatus();
      case v1::MigrationChunk::kHeader:
        return absl::InvalidArgumentError("a second header");
      case v1::MigrationChunk::CHUNK_NOT_SET:
        return absl::InvalidArgumentError("an empty chunk");
    }
  }
  if (idle.fired()) return absl::DeadlineExceededError("the sender stalled");
  return absl::AbortedError("the stream ended before its end marker");
}

}  // namespace

absl::StatusOr<v1::Vm> Migration::ReceiveVm(
    grpc::ServerContext& context, grpc::ServerReaderInterface<v1::MigrationChunk>& reader) {
  {
    absl::MutexLock lock(&mu_);
    if (receiving_ >= options_.max_receives) {
      return absl::ResourceExhaustedError(
          absl::StrCat("this blimpd already receives ", receiving_, " VMs"));
    }
    ++receiving_;
  }
  absl::Cleanup done = [this] {
    absl::MutexLock lock(&mu_);
    --receiving_;
  };
  IdleCanceller idle(context, options_.idle_timeout);
  v1::MigrationChunk first;
  if (!reader.Read(&first)) return absl::AbortedError("the stream ended before its header");
  if (!first.has_header()) return absl::InvalidArgumentError("the first chunk must be the header");
  const v1::MigrationHeader header = first.header();
  RETURN_IF_ERROR(CheckHeader(header));
  const absl::Time begin = absl::Now();
  absl::StatusOr<v1::Vm> vm = supervisor_.RestoreVm(
      header.vm_id(), /*resume=*/false, [&](const api::SnapshotFiles& into) {
        absl::Status received = ReceiveFiles(reader, header, into, idle);
        idle.Disarm();
        return received;
      });
  if (!vm.ok()) {
    LOG(WARNING) << "receiving VM '" << header.vm_id() << "': " << vm.status();
    return WithContext(vm.status(), absl::StrCat("receiving VM '", header.vm_id(), "'"));
  }
  LOG(INFO) << "VM '" << header.vm_id() << "' received (paused) in "
            << absl::FormatDuration(absl::Now() - begin);
  return vm;
}

absl::Status Migration::CheckTarget(const std::string& target) const {
  if (target.empty()) return absl::InvalidArgumentError("target is required (HOST:PORT or unix:PATH)");
  if (absl::StartsWith(target, "unix:")) return absl::OkStatus();
  if (options_.tls) return absl::OkStatus();
  absl::StatusOr<bool> loopback = IsLoopbackListenAddress(target);
  if (!loopback.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("target: ", loopback.status().message()));
  }
  if (*loopback) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "target ", target, " is not a loopback address and this blimpd has no TLS "
      "(--tls-cert, --tls-key, --tls-client-ca): a VM's memory never crosses a network in "
      "clear text"));
}

std::shared_ptr<grpc::Channel> Migration::Dial(const std::string& target) const {
  const bool tls = options_.tls && !absl::StartsWith(target, "unix:");
  return grpc::CreateChannel(target, tls ? options_.tls : grpc::InsecureChannelCredentials());
}

absl::StatusOr<v1::Vm> Migration::Send(v1::VmService::Stub& stub, const std::string& target,
                                       const std::string& target_vm_id,
                                       const FolderSnapshot& snapshot,
                                       v1::MigrateVmResponse& response) {
  base::UniqueFd state(::open(snapshot.files.state_path.c_str(), O_RDONLY | O_CLOEXEC));
  base::UniqueFd memory(::open(snapshot.files.memory_path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat state_st, memory_st;
  if (!state.valid() || !memory.valid() || ::fstat(state.get(), &state_st) != 0 ||
      ::fstat(memory.get(), &memory_st) != 0) {
    return base::ErrnoStatus("open the snapshot");
  }
  grpc::ClientContext context;
  context.set_deadline(Deadline(options_.transfer_timeout));
  v1::Vm received;
  std::unique_ptr<grpc::ClientWriter<v1::MigrationChunk>> writer =
      stub.ReceiveVm(&context, &received);
  // A refused write means the target ended the stream: Finish says why.
  bool open = true;
  auto send = [&](const v1::MigrationChunk& chunk) {
    if (open) open = writer->Write(chunk);
    return open ? absl::OkStatus() : absl::AbortedError("the target ended the stream");
  };

  v1::MigrationChunk chunk;
  chunk.mutable_header()->set_vm_id(target_vm_id);
  chunk.mutable_header()->set_state_bytes(state_st.st_size);
  chunk.mutable_header()->set_memory_bytes(memory_st.st_size);
  absl::Status sent = send(chunk);
  std::string buffer;
  auto read_at = [&](int fd, uint64_t offset, size_t size) -> absl::Status {
    buffer.resize(size);
    const ssize_t got = ::pread(fd, buffer.data(), size, static_cast<off_t>(offset));
    if (got != static_cast<ssize_t>(size)) return base::ErrnoStatus("read the snapshot");
    return absl::OkStatus();
  };
  for (uint64_t offset = 0; sent.ok() && offset < static_cast<uint64_t>(state_st.st_size);) {
    const size_t size = std::min<uint64_t>(kMigrationChunkBytes, state_st.st_size - offset);
    sent = read_at(state.get(), offset, size);
    if (!sent.ok()) break;
    chunk.set_state(buffer);
    sent = send(chunk);
    offset += size;
  }
  uint64_t memory_sent = 0;
  if (sent.ok()) {
    sent = ForEachDataRange(memory.get(), [&](uint64_t offset, uint64_t length) -> absl::Status {
      for (uint64_t done = 0; done < length;) {
        const size_t size = std::min<uint64_t>(kMigrationChunkBytes, length - done);
        RETURN_IF_ERROR(read_at(memory.get(), offset + done, size));
        chunk.mutable_memory()->set_offset(offset + done);
        chunk.mutable_memory()->set_data(buffer);
        RETURN_IF_ERROR(send(chunk));
        done += size;
        memory_sent += size;
      }
      return absl::OkStatus();
    });
  }
  if (sent.ok()) {
    chunk.mutable_end()->set_memory_sent_bytes(memory_sent);
    sent = send(chunk);
  }
  if (open) writer->WritesDone();
  if (!sent.ok() && open) context.TryCancel();  // Our own failure: the target drops it all.
  const absl::Status finished = base::FromGrpcStatus(writer->Finish());
  response.set_memory_bytes(memory_st.st_size);
  response.set_memory_sent_bytes(memory_sent);
  response.set_state_bytes(state_st.st_size);
  if (!finished.ok()) {
    // UNAVAILABLE would read as "blimpd cannot be reached" to our caller:
    // this blimpd answers, the target did not.
    const absl::StatusCode code = absl::IsUnavailable(finished) ? absl::StatusCode::kAborted
                                                                : finished.code();
    return absl::Status(code, absl::StrCat("target ", target, ": ", finished.message()));
  }
  if (!sent.ok()) return sent;
  return received;
}

absl::StatusOr<v1::MigrateVmResponse> Migration::MigrateOut(const v1::MigrateVmRequest& request) {
  const std::string& vm_id = request.vm_id();
  const std::string target_vm_id =
      request.target_vm_id().empty() ? vm_id : request.target_vm_id();
  RETURN_IF_ERROR(api::ValidateVmId(vm_id));
  if (absl::Status valid = api::ValidateVmId(target_vm_id); !valid.ok()) {
    return WithContext(valid, "target_vm_id");
  }
  RETURN_IF_ERROR(CheckTarget(request.target()));
  {
    absl::MutexLock lock(&mu_);
    if (!migrating_.insert(vm_id).second) {
      return absl::FailedPreconditionError(
          absl::StrCat("VM '", vm_id, "' is already being migrated"));
    }
  }
  absl::Cleanup done = [this, &vm_id] {
    absl::MutexLock lock(&mu_);
    migrating_.erase(vm_id);
  };
  ASSIGN_OR_RETURN(v1::Vm before, supervisor_.GetVm(vm_id));
  if (before.state() != v1::VM_STATE_RUNNING && before.state() != v1::VM_STATE_PAUSED) {
    return absl::FailedPreconditionError(absl::StrCat("VM '", vm_id, "' is ",
                                                      v1::VmState_Name(before.state()),
                                                      ": only a running or paused VM migrates"));
  }
  const bool was_running = before.state() == v1::VM_STATE_RUNNING;
  const std::string what = absl::StrCat("migrating VM '", vm_id, "' to ", request.target());
  // Before the target holds the VM: it goes on here as it was.
  auto stay = [&](const absl::Status& why) {
    std::string outcome = was_running ? "; it runs here again" : "; it stays here, paused";
    if (was_running) {
      absl::StatusOr<v1::Vm> resumed = supervisor_.SetPaused(vm_id, false);
      if (!resumed.ok()) {
        outcome = absl::StrCat("; and it could not be resumed here: ", resumed.status().message());
      }
    }
    LOG(WARNING) << what << ": " << why << outcome;
    return absl::Status(why.code(), absl::StrCat(what, ": ", why.message(), outcome));
  };

  v1::MigrateVmResponse response;
  const absl::Time paused_at = absl::Now();
  if (was_running) RETURN_IF_ERROR(WithContext(supervisor_.SetPaused(vm_id, true).status(), what));
  absl::StatusOr<FolderSnapshot> snapshot = supervisor_.SnapshotInFolder(vm_id);
  if (!snapshot.ok()) return stay(snapshot.status());
  const absl::Time snapshotted_at = absl::Now();
  response.set_snapshot_ms(Millis(snapshotted_at - paused_at));
  // One channel for the stream and the resume: no second handshake in the
  // downtime.
  std::unique_ptr<v1::VmService::Stub> stub = v1::VmService::NewStub(Dial(request.target()));
  absl::StatusOr<v1::Vm> there = Send(*stub, request.target(), target_vm_id, *snapshot, response);
  RemoveFolderSnapshot(snapshot->files);
  response.set_transfer_ms(Millis(absl::Now() - snapshotted_at));
  if (!there.ok()) return stay(there.status());

  // The target holds it, paused: this copy goes first, so two never run.
  absl::Status deleted = supervisor_.DeleteVm(vm_id);
  if (!deleted.ok()) LOG(WARNING) << what << ": deleting the source: " << deleted;
  *response.mutable_vm() = *there;
  if (was_running) {
    grpc::ClientContext context;
    context.set_deadline(Deadline(options_.rpc_timeout));
    v1::ResumeVmRequest resume;
    resume.set_vm_id(target_vm_id);
    absl::Status resumed = base::FromGrpcStatus(stub->ResumeVm(&context, resume, response.mutable_vm()));
    if (!resumed.ok()) {
      return absl::Status(resumed.code(),
                          absl::StrCat(what, ": the VM moved but did not resume there (",
                                       resumed.message(), "); it is paused there as '",
                                       target_vm_id, "' (ResumeVm)"));
    }
    response.set_downtime_ms(Millis(absl::Now() - paused_at));
  }
  LOG(INFO) << what << ": done; " << (response.memory_sent_bytes() >> 20) << " of "
            << (response.memory_bytes() >> 20) << " MiB of memory sent, snapshot "
            << response.snapshot_ms() << " ms, transfer " << response.transfer_ms()
            << " ms, downtime " << response.downtime_ms() << " ms";
  return response;
}

}  // namespace blimp::daemon
