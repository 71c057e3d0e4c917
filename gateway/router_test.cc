#include "gateway/router.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/testing/fake_vms.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blimp::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The seed's curl bodies as the shell hands them over (a backslash-newline
// inside double quotes disappears; the first newline stays).
constexpr char kSeedPutBalloon[] =
    "{\n        \"amount_mib\": 64,         \"deflate_on_oom\": true,         "
    "\"stats_polling_interval_s\": 1     }";
constexpr char kSeedPatchBalloon[] =
    "{\n        \"amount_mib\": 32,         \"stats_polling_interval_s\": 1     }";
constexpr char kSeedPatchStatistics[] = "{ \"stats_polling_interval_s\": 5 }";

vmm::BalloonConfig Balloon(uint32_t amount, uint32_t interval = 1, bool hinting = false) {
  vmm::BalloonConfig b;
  b.amount_mib = amount;
  b.stats_polling_interval_s = interval;
  b.free_page_hinting = hinting;
  return b;
}

class SingleVmRouterTest : public ::testing::Test {
 protected:
  void Make(std::optional<vmm::BalloonConfig> balloon) {
    vm_ = std::make_unique<testing::FakeVmHost>("vm0", 256, balloon);
    router_ = std::make_unique<Router>(Router::ForSingleVm("vm0", *vm_->api));
  }
  HttpResponse Do(const std::string& method, const std::string& path,
                  const std::string& body = "") {
    return router_->Handle({method, path, body});
  }
  // A 400/404/... with {"fault_message": ...} containing `text`.
  void ExpectFault(const HttpResponse& r, int status, const std::string& text) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_THAT(r.body, StartsWith("{\"fault_message\":\""));
    EXPECT_THAT(r.body, HasSubstr(text));
  }
  void ExpectNoContent(const HttpResponse& r) {
    EXPECT_EQ(r.status, 204) << r.body;
    EXPECT_EQ(r.body, "");
  }

  std::unique_ptr<testing::FakeVmHost> vm_;
  std::unique_ptr<Router> router_;
};

TEST_F(SingleVmRouterTest, SeedCommandsBeforeAndAfterBoot) {
  Make(std::nullopt);
  ExpectNoContent(Do("PUT", "/balloon", kSeedPutBalloon));
  HttpResponse get = Do("GET", "/balloon");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.content_type, "application/json");
  EXPECT_EQ(get.body,
            "{\"amount_mib\":64,\"deflate_on_oom\":true,\"stats_polling_interval_s\":1,"
            "\"free_page_reporting\":false,\"free_page_hinting\":false}");
  // Pre-boot: PATCH and statistics are refused.
  ExpectFault(Do("PATCH", "/balloon", "{\"amount_mib\": 32}"), 400, "before starting");
  ExpectFault(Do("GET", "/balloon/statistics"), 400, "before starting");
  ExpectFault(Do("PATCH", "/balloon/statistics", kSeedPatchStatistics), 400, "before starting");

  ExpectNoContent(Do("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"));
  EXPECT_EQ(Do("GET", "/").body,
            "{\"app_name\":\"blimp\",\"id\":\"vm0\",\"state\":\"Running\","
            "\"vmm_version\":\"0.1.0\"}");

  // The seed's PATCH /balloon carries stats_polling_interval_s: rejected.
  ExpectFault(Do("PATCH", "/balloon", kSeedPatchBalloon), 400, "BalloonUpdate");
  ExpectFault(Do("PATCH", "/balloon", kSeedPatchStatistics), 400, "BalloonUpdate");
  ExpectNoContent(Do("PATCH", "/balloon", "{\"amount_mib\": 32}"));
  EXPECT_THAT(Do("GET", "/balloon").body, HasSubstr("\"amount_mib\":32,"));

  HttpResponse stats = Do("GET", "/balloon/statistics");
  EXPECT_EQ(stats.status, 200);
  EXPECT_EQ(stats.body,
            "{\"target_pages\":8192,\"actual_pages\":0,\"target_mib\":32,\"actual_mib\":0}");
  vm_->fake->EditBalloon([](vmm::BalloonSnapshot& s) { s.stats[4] = 12345; });  // free_memory
  EXPECT_THAT(Do("GET", "/balloon/statistics").body, HasSubstr("\"free_memory\":12345"));
  ExpectNoContent(Do("PATCH", "/balloon/statistics", kSeedPatchStatistics));
  ExpectFault(Do("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 0}"), 400,
              "");

  // Post-boot: the pre-boot objects are refused.
  ExpectFault(Do("PUT", "/balloon", kSeedPutBalloon), 400, "after starting");
  ExpectFault(Do("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 512}"), 400,
              "after starting");
  ExpectFault(Do("PATCH", "/balloon", "{\"amount_mib\": 300}"), 400, "256 MiB");

  ExpectNoContent(Do("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"));
  EXPECT_THAT(Do("GET", "/").body, HasSubstr("\"state\":\"Stopped\""));
}

TEST_F(SingleVmRouterTest, PreBootObjects) {
  Make(std::nullopt);
  EXPECT_THAT(Do("GET", "/").body, HasSubstr("\"state\":\"Not started\""));
  ExpectNoContent(Do("PUT", "/boot-source",
                     "{\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0\"}"));
  ExpectNoContent(Do("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 512}"));
  HttpResponse machine = Do("GET", "/machine-config");
  EXPECT_EQ(machine.status, 200);
  EXPECT_EQ(machine.body, "{\"vcpu_count\":2,\"mem_size_mib\":512,\"smt\":false}");
  ExpectFault(Do("PUT", "/balloon", "{\"amount_mib\": 600, \"deflate_on_oom\": false}"), 400,
              "too large");
  HttpResponse config = Do("GET", "/vm/config");
  EXPECT_EQ(config.status, 200);
  EXPECT_THAT(config.body, StartsWith("{\"boot-source\":{\"kernel_image_path\":\"/k\","));
  EXPECT_THAT(config.body, HasSubstr("\"machine-config\":{\"vcpu_count\":2,"));
  ExpectFault(Do("PUT", "/actions", "{\"action_type\": \"Reboot\"}"), 400, "Reboot");
  ExpectFault(Do("PUT", "/actions", "{}"), 400, "action_type");
  ExpectFault(Do("PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 512}"), 400,
              "vcpu");
}

TEST_F(SingleVmRouterTest, NoBalloonIsDeviceNotFound) {
  Make(std::nullopt);
  ExpectFault(Do("GET", "/balloon"), 400, "not found");
  ExpectNoContent(Do("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"));
  ExpectFault(Do("PATCH", "/balloon", "{\"amount_mib\": 1}"), 400, "not found");
  ExpectFault(Do("GET", "/balloon/statistics"), 400, "not found");
}

TEST_F(SingleVmRouterTest, Hinting) {
  Make(Balloon(0, 0, true));
  ExpectFault(Do("PATCH", "/balloon/hinting/start"), 400, "before starting");
  ExpectNoContent(Do("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"));
  ExpectFault(Do("GET", "/balloon/statistics"), 400, "not enabled");
  ExpectNoContent(Do("PATCH", "/balloon/hinting/start"));  // Empty body.
  EXPECT_EQ(Do("GET", "/balloon/hinting/status").body, "{\"host_cmd\":2}");
  ExpectNoContent(Do("PATCH", "/balloon/hinting/start", "{\"acknowledge_on_stop\": false}"));
  vm_->fake->EditBalloon([](vmm::BalloonSnapshot& s) { s.hinting.guest_cmd = 3; });
  HttpResponse status = Do("GET", "/balloon/hinting/status");
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.body, "{\"host_cmd\":3,\"guest_cmd\":3}");
  ExpectFault(Do("PATCH", "/balloon/hinting/start", "{\"ack\": true}"), 400, "HintingStart");
  ExpectNoContent(Do("PATCH", "/balloon/hinting/stop"));
  EXPECT_THAT(Do("GET", "/balloon/hinting/status").body, StartsWith("{\"host_cmd\":1"));
}

TEST_F(SingleVmRouterTest, BadRequests) {
  Make(std::nullopt);
  ExpectFault(Do("PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"x\": 1}"),
              400, "Balloon");
  ExpectFault(Do("PUT", "/balloon", "{\"amount_mib\": 1, "), 400, "invalid Balloon JSON");
  ExpectFault(Do("PUT", "/balloon", "{\"amount_mib\": \"lots\", \"deflate_on_oom\": true}"), 400,
              "invalid Balloon JSON");
  ExpectFault(Do("PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": 3}"), 400,
              "invalid Balloon JSON");
  ExpectFault(Do("PUT", "/balloon", ""), 400, "Balloon");
  ExpectFault(Do("PUT", "/balloon", "{\"amount_mib\": 1}"), 400, "deflate_on_oom");
  ExpectFault(Do("PUT", "/balloon", std::string(kMaxBodyBytes + 1, ' ')), 413, "larger");
  ExpectFault(Do("GET", "/nope"), 404, "no such path");
  ExpectFault(Do("GET", "/balloon/nope"), 404, "no such path");
  ExpectFault(Do("GET", "/vms/vm0/balloon"), 404, "no such path");  // Daemon path.
  ExpectFault(Do("GET", "/metrics"), 404, "no such path");
  ExpectFault(Do("GET", "/openapi.json"), 404, "no such path");  // Daemon path.
  ExpectFault(Do("GET", "/balloon/"), 400, "empty segment");
  ExpectFault(Do("GET", "/balloon/../balloon"), 400, "'..'");

  HttpResponse wrong = Do("DELETE", "/balloon");
  ExpectFault(wrong, 405, "DELETE");
  ASSERT_EQ(wrong.headers.size(), 1u);
  EXPECT_EQ(wrong.headers[0].first, "Allow");
  EXPECT_EQ(wrong.headers[0].second, "PUT, GET, PATCH");
  const std::pair<const char*, const char*> kAllowed[] = {
      {"/boot-source", "PUT"},          {"/machine-config", "PUT, GET"},
      {"/actions", "PUT"},              {"/", "GET"},
      {"/balloon/statistics", "GET, PATCH"}, {"/balloon/hinting/start", "PATCH"},
      {"/balloon/hinting/status", "GET"},    {"/balloon/hinting/stop", "PATCH"},
      {"/vm/config", "GET"}};
  for (const auto& [path, allow] : kAllowed) {
    HttpResponse r = Do("POST", path, "{}");
    EXPECT_EQ(r.status, 405) << path;
    ASSERT_EQ(r.headers.size(), 1u) << path;
    EXPECT_EQ(r.headers[0].second, allow) << path;
  }
}

// Router options whose GET /metrics answers `body`.
RouterOptions MetricsBody(std::string body) {
  RouterOptions options;
  options.metrics = [body] { return body; };
  return options;
}

class DaemonRouterTest : public ::testing::Test {
 protected:
  DaemonRouterTest() : router_(Router::ForDaemon(daemon_, MetricsBody("# metrics\n"))) {}

  HttpResponse Do(const std::string& method, const std::string& path,
                  const std::string& body = "") {
    return router_.Handle({method, path, body});
  }
  void Create(const std::string& id, bool balloon) {
    std::string config =
        "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
        "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 256}";
    if (balloon) {
      config += ", \"balloon\": {\"amount_mib\": 16, \"deflate_on_oom\": false, "
                "\"stats_polling_interval_s\": 1}";
    }
    HttpResponse r = Do("PUT", "/vms/" + id, config + "}");
    ASSERT_EQ(r.status, 204) << r.body;
  }

  testing::FakeDaemonApi daemon_;
  Router router_;
};

TEST_F(DaemonRouterTest, LanesAreVmIds) {
  EXPECT_EQ(router_.Lane({"GET", "/vms/a/balloon", ""}), "a");
  EXPECT_EQ(router_.Lane({"PUT", "/vms/b", ""}), "b");
  EXPECT_EQ(router_.Lane({"GET", "/vms", ""}), "");
  EXPECT_EQ(router_.Lane({"GET", "/metrics", ""}), "");
  EXPECT_EQ(router_.Lane({"GET", "/vms/%2e%2e/x", ""}), "");  // Bad paths: the daemon lane.
  testing::FakeVmHost vm("vm0", 256, std::nullopt);
  Router single = Router::ForSingleVm("vm0", *vm.api);
  EXPECT_EQ(single.Lane({"GET", "/balloon", ""}), single.Lane({"PUT", "/actions", ""}));
}

TEST_F(DaemonRouterTest, VmLifecycle) {
  EXPECT_EQ(Do("GET", "/vms").body, "{\"vms\":[]}");
  Create("a", true);
  Create("b", false);
  HttpResponse again = Do("PUT", "/vms/a", "{}");
  EXPECT_EQ(again.status, 400);
  EXPECT_THAT(again.body, HasSubstr("already exists"));
  HttpResponse bad_config = Do("PUT", "/vms/c", "{\"kernel\": 1}");
  EXPECT_EQ(bad_config.status, 400);
  EXPECT_THAT(bad_config.body, HasSubstr("VmConfig"));

  HttpResponse list = Do("GET", "/vms");
  EXPECT_EQ(list.status, 200);
  EXPECT_THAT(list.body, HasSubstr("\"vm_id\":\"a\""));
  EXPECT_THAT(list.body, HasSubstr("\"vm_id\":\"b\""));
  HttpResponse vm = Do("GET", "/vms/a");
  EXPECT_EQ(vm.status, 200);
  EXPECT_THAT(vm.body, StartsWith("{\"vm_id\":\"a\",\"state\":\"VM_STATE_CREATED\""));

  EXPECT_EQ(Do("PUT", "/vms/a/actions", "{\"action_type\": \"InstanceStart\"}").status, 204);
  EXPECT_THAT(Do("GET", "/vms/a/").body, HasSubstr("empty segment"));
  EXPECT_EQ(Do("GET", "/vms/a/balloon").status, 200);
  EXPECT_EQ(Do("PATCH", "/vms/a/balloon", "{\"amount_mib\": 8}").status, 204);
  HttpResponse stats = Do("GET", "/vms/a/balloon/statistics");
  EXPECT_EQ(stats.status, 200);
  EXPECT_THAT(stats.body, StartsWith("{\"target_pages\":2048,"));
  EXPECT_EQ(Do("GET", "/vms/a/machine-config").body,
            "{\"vcpu_count\":1,\"mem_size_mib\":256,\"smt\":false}");

  // No balloon: device not found is 400; no VM is 404.
  HttpResponse no_device = Do("GET", "/vms/b/balloon");
  EXPECT_EQ(no_device.status, 400);
  EXPECT_THAT(no_device.body, HasSubstr("not found"));
  HttpResponse no_vm = Do("GET", "/vms/nope/balloon");
  EXPECT_EQ(no_vm.status, 404);
  EXPECT_THAT(no_vm.body, HasSubstr("no VM 'nope'"));
  EXPECT_EQ(Do("GET", "/vms/nope").status, 404);
  EXPECT_EQ(Do("PUT", "/vms/nope/actions", "{\"action_type\": \"InstanceStart\"}").status, 404);
  EXPECT_EQ(Do("PUT", "/vms/nope/boot-source", "{\"kernel_image_path\": \"/k\"}").status, 404);

  EXPECT_EQ(Do("DELETE", "/vms/b").status, 204);
  EXPECT_EQ(Do("GET", "/vms/b").status, 404);
  EXPECT_EQ(Do("DELETE", "/vms/b").status, 404);
}

TEST_F(DaemonRouterTest, PathsAndMethods) {
  EXPECT_EQ(Do("GET", "/").status, 404);
  EXPECT_EQ(Do("GET", "/balloon").status, 404);  // Single-VM path.
  EXPECT_EQ(Do("GET", "/vmsx").status, 404);
  EXPECT_EQ(Do("GET", "/vms/a/nope").status, 404);
  HttpResponse post = Do("POST", "/vms");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers.at(0).second, "GET");
  HttpResponse patch = Do("PATCH", "/vms/a");
  EXPECT_EQ(patch.status, 405);
  EXPECT_EQ(patch.headers.at(0).second, "PUT, GET, DELETE");
  EXPECT_EQ(Do("GET", "/vms/a/actions").status, 405);
  EXPECT_EQ(Do("PUT", "/metrics").status, 405);
  EXPECT_EQ(daemon_.calls.load(), 0);
}

TEST_F(DaemonRouterTest, OpenApiDocumentOnlyWhenGiven) {
  HttpResponse missing = Do("GET", "/openapi.json");
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(missing.body, HasSubstr("no such path"));
  RouterOptions options;
  options.openapi_json = "{\"openapi\": \"3.1.0\"}";
  Router router = Router::ForDaemon(daemon_, options);
  HttpResponse r = router.Handle({"GET", "/openapi.json", ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{\"openapi\": \"3.1.0\"}");
  HttpResponse put = router.Handle({"PUT", "/openapi.json", "{}"});
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.headers.at(0).second, "GET");
  EXPECT_EQ(daemon_.calls.load(), 0);
}

TEST_F(DaemonRouterTest, UnsafeVmIdsCallNothing) {
  const char* kPaths[] = {
      "/vms/..",          "/vms/../etc",       "/vms/a%2Fb",     "/vms/a%2fb/balloon",
      "/vms/%2e%2e",      "/vms/%2E%2E/balloon", "/vms/.",       "/vms/.hidden",
      "/vms/a%00b",       "/vms/a%5cb",        "/vms/a%zz",      "/vms/a%2",
      "/vms/a$b",         "/vms/a%20b",        "/vms//balloon",  "/vms/../../etc/passwd",
  };
  for (const char* path : kPaths) {
    for (const char* method : {"GET", "PUT", "DELETE"}) {
      HttpResponse r = Do(method, path, "{}");
      EXPECT_EQ(r.status, 400) << method << " " << path << ": " << r.body;
      EXPECT_THAT(r.body, StartsWith("{\"fault_message\":"));
    }
  }
  const std::string long_id(65, 'a');
  EXPECT_EQ(Do("GET", "/vms/" + long_id).status, 400);
  EXPECT_EQ(daemon_.calls.load(), 0);
}

TEST_F(DaemonRouterTest, MetricsIsTheGivenBodyOrNotServed) {
  HttpResponse r = Do("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, "# metrics\n");
  EXPECT_EQ(Do("GET", "/metrics/x").status, 404);
  HttpResponse without = Router::ForDaemon(daemon_).Handle({"GET", "/metrics", ""});
  EXPECT_EQ(without.status, 404);
  EXPECT_THAT(without.body, HasSubstr("no such path"));
}

// A VmApi whose every call fails with `error` (a VM that does not answer,
// has gone, or fails).
class ErrorApi final : public api::VmApi {
 public:
  explicit ErrorApi(absl::Status error) : error_(std::move(error)) {}

  absl::StatusOr<blimp::v1::Vm> CreateVm(const std::string&, const blimp::v1::VmConfig&) override {
    return error_;
  }
  absl::Status PutBootSource(const std::string&, const blimp::v1::BootSource&) override {
    return error_;
  }
  absl::Status PutMachineConfig(const std::string&, const blimp::v1::MachineConfig&) override {
    return error_;
  }
  absl::StatusOr<blimp::v1::Vm> StartVm(const std::string&) override { return error_; }
  absl::StatusOr<blimp::v1::Vm> StopVm(const std::string&) override { return error_; }
  absl::StatusOr<blimp::v1::Vm> PauseVm(const std::string&) override { return error_; }
  absl::StatusOr<blimp::v1::Vm> ResumeVm(const std::string&) override { return error_; }
  absl::StatusOr<blimp::v1::SnapshotInfo> CreateSnapshot(
      const std::string&, const blimp::v1::SnapshotCreateParams&) override {
    return error_;
  }
  absl::StatusOr<blimp::v1::Vm> LoadSnapshot(const std::string&,
                                             const blimp::v1::SnapshotLoadParams&) override {
    return error_;
  }
  absl::Status DeleteVm(const std::string&) override { return error_; }
  absl::StatusOr<blimp::v1::Vm> GetVm(const std::string&) override { return error_; }
  std::vector<blimp::v1::Vm> ListVms() override { return {}; }
  std::vector<api::VmMetrics> CollectMetrics() override { return {}; }
  absl::Status PutBalloon(const std::string&, const blimp::v1::Balloon&) override {
    return error_;
  }
  absl::StatusOr<blimp::v1::Balloon> GetBalloon(const std::string&) override { return error_; }
  absl::Status PatchBalloon(const std::string&, const blimp::v1::BalloonUpdate&) override {
    return error_;
  }
  absl::StatusOr<blimp::v1::BalloonStats> GetBalloonStatistics(const std::string&) override {
    return error_;
  }
  absl::Status PatchBalloonStatistics(const std::string&,
                                      const blimp::v1::BalloonStatsUpdate&) override {
    return error_;
  }
  absl::Status StartBalloonHinting(const std::string&, const blimp::v1::HintingStart&) override {
    return error_;
  }
  absl::StatusOr<blimp::v1::HintingStatus> GetBalloonHintingStatus(const std::string&) override {
    return error_;
  }
  absl::Status StopBalloonHinting(const std::string&) override { return error_; }
  absl::StatusOr<blimp::v1::BalloonMetrics> GetBalloonMetrics(const std::string&) override {
    return error_;
  }

 private:
  const absl::Status error_;
};

TEST(RouterFailureTest, VmTroubleIsA5xxWithTheReason) {
  const std::pair<absl::Status, int> kCases[] = {
      {absl::DeadlineExceededError("blimp-vmm for VM 'a' did not answer within 5s"), 504},
      {absl::UnavailableError("VM 'a': its blimp-vmm has gone"), 503},
      {absl::InternalError("boom"), 500},
      {absl::UnimplementedError("not here"), 501},
  };
  for (const auto& [error, http] : kCases) {
    ErrorApi api(error);
    Router single = Router::ForSingleVm("vm0", api);
    Router daemon = Router::ForDaemon(api);
    for (const HttpResponse& r :
         {single.Handle({"GET", "/", ""}), single.Handle({"GET", "/balloon", ""}),
          daemon.Handle({"GET", "/vms/a/balloon/statistics", ""}),
          daemon.Handle({"PUT", "/vms/a/actions", "{\"action_type\": \"InstanceStart\"}"})}) {
      EXPECT_EQ(r.status, http) << error;
      EXPECT_EQ(r.body, absl::StrCat("{\"fault_message\":\"", error.message(), "\"}"));
    }
  }
}

}  // namespace
}  // namespace blimp::gateway
