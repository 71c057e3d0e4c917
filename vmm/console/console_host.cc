#include "vmm/console/console_host.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/errno_status.h"
#include "base/status_macros.h"
#include "glog/logging.h"

namespace blimp::vmm {
namespace {

absl::Status MakePipe(base::UniqueFd& read_end, base::UniqueFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return base::ErrnoStatus("pipe2");
  read_end.Reset(fds[0]);
  write_end.Reset(fds[1]);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConsoleHost>> ConsoleHost::Start(ConsoleOptions options) {
  std::unique_ptr<ConsoleHost> host(new ConsoleHost());
  if (options.counters == nullptr) options.counters = std::make_shared<ConsoleCounters>();
  host->counters_ = options.counters;
  ASSIGN_OR_RETURN(host->loop_, base::EventLoop::Create());
  base::UniqueFd output_read, input_write;
  RETURN_IF_ERROR(MakePipe(output_read, host->uart_output_));
  RETURN_IF_ERROR(MakePipe(host->uart_input_, input_write));
  ASSIGN_OR_RETURN(host->console_, Console::Create(*host->loop_, std::move(output_read),
                                                   std::move(input_write), std::move(options)));
  host->loop_thread_ = std::thread([loop = host->loop_.get()] {
    absl::Status status = loop->Run();
    if (!status.ok()) LOG(ERROR) << "console event loop: " << status;
  });
  return host;
}

ConsoleHost::~ConsoleHost() {
  // Closing the UART's end first lets Close() read everything it wrote.
  uart_output_.Reset();
  if (console_) console_->Close();
  if (loop_thread_.joinable()) {
    loop_->Stop();
    loop_thread_.join();
  }
}

}  // namespace blimp::vmm
