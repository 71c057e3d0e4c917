// blimpd's standard gRPC services, seen by a client that has no generated
// code for them (as grpc_health_probe and grpcurl are): the health service
// answers SERVING and server reflection lists Blimp's services.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"

namespace blimp::tests {
namespace {

grpc::ByteBuffer Bytes(const std::string& data) {
  grpc::Slice slice(data);
  return grpc::ByteBuffer(&slice, 1);
}

std::string String(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

std::shared_ptr<grpc::Channel> Channel(const DaemonProcess& daemon) {
  return grpc::CreateChannel("unix:" + daemon.run_dir() + "/blimp.grpc.sock",
                             grpc::InsecureChannelCredentials());
}

TEST(GrpcServicesTest, HealthCheckSaysServing) {
  auto daemon = DaemonProcess::Start();
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  grpc::GenericStub stub(Channel(**daemon));
  grpc::ClientContext context;
  grpc::ByteBuffer request = Bytes(""), response;  // HealthCheckRequest{service: ""}
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = s;
                   done.Notify();
                 });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(String(response), std::string("\x08\x01", 2));  // status: SERVING
}

TEST(GrpcServicesTest, ReflectionListsBlimpServices) {
  auto daemon = DaemonProcess::Start();
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  grpc::GenericStub stub(Channel(**daemon));
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  auto next = [&](intptr_t want) {
    return cq.Next(&tag, &ok) && ok && reinterpret_cast<intptr_t>(tag) == want;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(next(1));
  grpc::ByteBuffer request = Bytes(std::string("\x3a\x00", 2));  // list_services: ""
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(next(2));
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  ASSERT_TRUE(next(3));
  std::string listed = String(response);
  EXPECT_NE(listed.find("blimp.v1.VmService"), std::string::npos);
  EXPECT_NE(listed.find("blimp.v1.BalloonService"), std::string::npos);
  EXPECT_NE(listed.find("grpc.health.v1.Health"), std::string::npos);
  call->WritesDone(reinterpret_cast<void*>(4));
  ASSERT_TRUE(next(4));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace blimp::tests
