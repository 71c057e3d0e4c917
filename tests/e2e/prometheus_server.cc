#include "tests/e2e/prometheus_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/e2e/host_tools.h"

namespace blimp::tests {
namespace {

constexpr char kListening[] = "msg=\"Listening on\" address=127.0.0.1:";
constexpr char kReady[] = "Server is ready to receive web requests.";

std::string ReadFile(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PrometheusServer>> PrometheusServer::Start(
    int target_port, absl::Duration interval, absl::Duration ready_timeout) {
  absl::StatusOr<std::string> prometheus = FindTool("prometheus");
  if (!prometheus.ok()) return prometheus.status();
  std::unique_ptr<PrometheusServer> server(new PrometheusServer());
  char dir[] = "/tmp/blimp-prometheus-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return base::ErrnoStatus("mkdtemp");
  server->dir_ = dir;  // From here the destructor removes it, whatever fails.
  // scrape_timeout may not exceed the interval (its default is 10 s).
  const std::string every = absl::StrCat(absl::ToInt64Milliseconds(interval), "ms");
  std::ofstream(server->dir_ + "/prometheus.yml")
      << "global:\n  scrape_interval: " << every << "\n  scrape_timeout: " << every
      << "\n  evaluation_interval: " << every << "\nscrape_configs:\n  - job_name: blimpd\n"
      << "    static_configs:\n      - targets: ['127.0.0.1:" << target_port << "']\n";
  std::vector<std::string> args = {*prometheus,
                                   "--config.file=prometheus.yml",
                                   "--storage.tsdb.path=data",
                                   "--web.listen-address=127.0.0.1:0"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log = server->log_path();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return base::ErrnoStatus("fork");
  if (pid == 0) {
    // Never outlive the test, even one killed at its time-out.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (out < 0 || ::chdir(dir) != 0) ::_exit(127);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  server->pid_ = pid;
  absl::StatusOr<int> port = server->WaitReady(ready_timeout);
  if (!port.ok()) return port.status();
  server->port_ = *port;
  return server;
}

absl::StatusOr<int> PrometheusServer::WaitReady(absl::Duration timeout) {
  for (absl::Time deadline = absl::Now() + timeout;; absl::SleepFor(absl::Milliseconds(20))) {
    const std::string text = ReadFile(log_path());
    const size_t at = text.find(kListening);
    int port = 0;
    if (at != std::string::npos && text.find(kReady) != std::string::npos) {
      const size_t start = at + sizeof(kListening) - 1;
      const size_t end = text.find_first_not_of("0123456789", start);
      if (absl::SimpleAtoi(text.substr(start, end - start), &port)) return port;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("prometheus exited (status ", status, "): ", text));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "prometheus not ready within ", absl::FormatDuration(timeout), ": ", text));
    }
  }
}

PrometheusServer::~PrometheusServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

std::string PrometheusServer::Log() const { return ReadFile(log_path()); }

absl::StatusOr<std::vector<double>> PrometheusServer::Query(const std::string& promql) const {
  if (promql.find('\'') != std::string::npos) {
    return absl::InvalidArgumentError("a single quote in the query: " + promql);
  }
  absl::StatusOr<std::string> curl = FindTool("curl");
  if (!curl.ok()) return curl.status();
  CommandResult answer = RunCommand(absl::StrCat(*curl, " -sS --max-time 5 -G --data-urlencode '",
                                                 "query=", promql, "' http://127.0.0.1:", port_,
                                                 "/api/v1/query"));
  if (answer.exit_code != 0) {
    return absl::UnavailableError(absl::StrCat("curl exited ", answer.exit_code, ": ",
                                               answer.output));
  }
  google::protobuf::Struct json;
  if (!google::protobuf::util::JsonStringToMessage(answer.output, &json).ok()) {
    return absl::InternalError("not JSON: " + answer.output);
  }
  const auto& fields = json.fields();
  if (!fields.count("status") || fields.at("status").string_value() != "success" ||
      !fields.count("data")) {
    return absl::InternalError("query failed: " + answer.output);
  }
  const auto& data = fields.at("data").struct_value().fields();
  if (!data.count("resultType") || data.at("resultType").string_value() != "vector" ||
      !data.count("result")) {
    return absl::InternalError("not an instant vector: " + answer.output);
  }
  std::vector<double> values;
  for (const google::protobuf::Value& series : data.at("result").list_value().values()) {
    const auto& sample = series.struct_value().fields();
    double value = 0;
    // "value": [<unix time>, "<value as a string>"].
    if (!sample.count("value") || sample.at("value").list_value().values_size() != 2 ||
        !absl::SimpleAtod(sample.at("value").list_value().values(1).string_value(), &value)) {
      return absl::InternalError("bad sample in " + answer.output);
    }
    values.push_back(value);
  }
  return values;
}

}  // namespace blimp::tests
