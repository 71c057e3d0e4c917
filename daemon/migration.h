// MigrateVm and ReceiveVm: a VM moved between two blimpd over the public
// gRPC API (daemon/README.md, "Migration").
//
// The source pauses the VM, snapshots it into its own folder and streams
// ReceiveVm: a header, the snapshot state, then only the data ranges of the
// sparse memory file (pages the guest never touched or the balloon gave back
// are holes: neither written nor sent), then an end marker with the byte
// count. The target writes the files into the new VM's folder and restores
// it paused. Only then does the source delete its copy and resume the
// target's: there are never two running copies. Until the target has the
// VM, any failure resumes it on the source as it was.
#ifndef BLIMP_DAEMON_MIGRATION_H_
#define BLIMP_DAEMON_MIGRATION_H_

#include <memory>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/sync_stream.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/supervisor.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::daemon {

struct MigrationOptions {
  // Dialing the target: TLS (tls_flags.h TcpSecurity::migration), or null
  // for plain gRPC, allowed only to loopback and unix: targets.
  std::shared_ptr<grpc::ChannelCredentials> tls;
  absl::Duration transfer_timeout = absl::Minutes(10);  // The whole stream.
  absl::Duration rpc_timeout = absl::Seconds(10);       // ResumeVm on the target.
  // ReceiveVm: a sender that sends nothing for this long is cut off.
  absl::Duration idle_timeout = absl::Seconds(30);
  // ReceiveVm streams at once; more are RESOURCE_EXHAUSTED.
  int max_receives = 4;
};

// Bytes of memory (or state) per chunk: well below gRPC's 4 MiB message cap.
inline constexpr size_t kMigrationChunkBytes = 1 << 20;

class Migration {
 public:
  Migration(Supervisor& supervisor, MigrationOptions options)
      : supervisor_(supervisor), options_(std::move(options)) {}

  // The source's side.
  absl::StatusOr<blimp::v1::MigrateVmResponse> MigrateOut(
      const blimp::v1::MigrateVmRequest& request);
  // The target's side of one ReceiveVm stream.
  absl::StatusOr<blimp::v1::Vm> ReceiveVm(
      grpc::ServerContext& context, grpc::ServerReaderInterface<blimp::v1::MigrationChunk>& reader);

 private:
  absl::Status CheckTarget(const std::string& target) const;
  // Streams the folder snapshot to the target; the VM there, paused.
  absl::StatusOr<blimp::v1::Vm> Send(blimp::v1::VmService::Stub& stub, const std::string& target,
                                     const std::string& target_vm_id,
                                     const FolderSnapshot& snapshot,
                                     blimp::v1::MigrateVmResponse& response);
  std::shared_ptr<grpc::Channel> Dial(const std::string& target) const;

  Supervisor& supervisor_;
  const MigrationOptions options_;
  absl::Mutex mu_;
  int receiving_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> migrating_ ABSL_GUARDED_BY(mu_);  // MigrateOut running for them.
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_MIGRATION_H_
