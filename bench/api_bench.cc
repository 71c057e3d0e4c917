// API load generator for blimpd: N client threads issue GET
// /balloon/statistics or PATCH /balloon (gRPC or REST) across several VMs
// for a fixed time; prints latency percentiles and throughput as JSON.
//
//   api_bench --grpc unix:RUN/blimp.grpc.sock --rest RUN/blimp.sock
//     --vms a,b,c,d --transport grpc|rest --op stats|patch --clients 16 --seconds 3
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "tests/e2e/http_client.h"

ABSL_FLAG(std::string, grpc, "", "blimpd's gRPC address (unix:PATH)");
ABSL_FLAG(std::string, rest, "", "blimpd's REST unix socket");
ABSL_FLAG(std::string, vms, "", "comma-separated VM ids (running, with statistics on)");
ABSL_FLAG(std::string, transport, "grpc", "grpc or rest");
ABSL_FLAG(std::string, op, "stats", "stats (GET statistics) or patch (PATCH target)");
ABSL_FLAG(int, clients, 1, "concurrent clients");
ABSL_FLAG(double, seconds, 3, "how long to run");

namespace {

using blimp::v1::BalloonService;

// One request; true if it succeeded.
bool Call(BalloonService::Stub* stub, const std::string& vm, bool patch, int n) {
  const std::string transport = absl::GetFlag(FLAGS_transport);
  if (transport == "rest") {
    auto result = patch ? blimp::tests::HttpRequest(
                              absl::GetFlag(FLAGS_rest), "PATCH", "/vms/" + vm + "/balloon",
                              absl::StrCat(R"({"amount_mib": )", n % 32, "}"))
                        : blimp::tests::HttpRequest(absl::GetFlag(FLAGS_rest), "GET",
                                                    "/vms/" + vm + "/balloon/statistics");
    return result.ok() && result->status < 300;
  }
  grpc::ClientContext context;
  if (patch) {
    blimp::v1::PatchBalloonRequest request;
    request.set_vm_id(vm);
    request.mutable_update()->set_amount_mib(n % 32);
    google::protobuf::Empty empty;
    return stub->PatchBalloon(&context, request, &empty).ok();
  }
  blimp::v1::GetBalloonStatisticsRequest request;
  request.set_vm_id(vm);
  blimp::v1::BalloonStats stats;
  return stub->GetBalloonStatistics(&context, request, &stats).ok();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::vector<std::string> vms = absl::StrSplit(absl::GetFlag(FLAGS_vms), ',');
  const bool patch = absl::GetFlag(FLAGS_op) == "patch";
  const int clients = absl::GetFlag(FLAGS_clients);
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_grpc), grpc::InsecureChannelCredentials());
  auto stub = BalloonService::NewStub(channel);
  const absl::Time end = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (int n = 0; absl::Now() < end; ++n) {
        absl::Time start = absl::Now();
        if (!Call(stub.get(), vms[(c + n) % vms.size()], patch, n)) ++failures;
        latencies[c].push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0 : all[std::min(all.size() - 1, size_t(p * all.size()))]; };
  std::printf(R"({"requests": %zu, "failures": %d, "p50_us": %.0f, "p99_us": %.0f, "rps": %.0f})"
              "\n",
              all.size(), failures.load(), pct(0.5), pct(0.99),
              all.size() / absl::GetFlag(FLAGS_seconds));
  return failures.load() == 0 ? 0 : 1;
}
