#include "base/grpc_invalid_request.h"

#include <memory>
#include <string>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::base {
namespace {

// GetVm knows one VM, "a": enough to see real statuses pass unchanged.
class SyncVms : public blimp::v1::VmService::Service {
  grpc::Status GetVm(grpc::ServerContext*, const blimp::v1::GetVmRequest* request,
                     blimp::v1::Vm* vm) override {
    if (request->vm_id() != "a") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no VM");
    vm->set_vm_id("a");
    return grpc::Status::OK;
  }
};

class CallbackVms : public blimp::v1::VmService::CallbackService {
  grpc::ServerUnaryReactor* GetVm(grpc::CallbackServerContext* context,
                                  const blimp::v1::GetVmRequest* request,
                                  blimp::v1::Vm* vm) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    vm->set_vm_id(request->vm_id());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// A real server on a loopback port, with or without the interceptor, and a
// client that sends raw bytes.
class Served {
 public:
  Served(grpc::Service* service, bool intercept) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service);
    if (intercept) UseInvalidRequestInterceptor(&builder);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    EXPECT_NE(port, 0);
    stub_ = std::make_unique<grpc::GenericStub>(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  ~Served() { server_->Shutdown(std::chrono::system_clock::now()); }

  grpc::Status Call(const std::string& method, const std::string& bytes) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    absl::Notification done;
    stub_->UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                     [&](grpc::Status s) {
                       status = std::move(s);
                       done.Notify();
                     });
    if (!done.WaitForNotificationWithTimeout(absl::Seconds(20))) {
      context.TryCancel();
      done.WaitForNotification();  // The deadline ends it in any case.
      ADD_FAILURE() << "call did not finish";
    }
    return status;
  }

 private:
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

constexpr char kGetVm[] = "/blimp.v1.VmService/GetVm";
// Field 1 (vm_id) says 16 bytes follow; 3 do.
const std::string kTruncated("\x0a\x10" "abc", 5);
// Field 1 holds bytes that are not UTF-8 (proto3 strings must be).
const std::string kNotUtf8("\x0a\x02\xff\xfe", 4);
// A varint that never ends.
const std::string kGarbage("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11);

std::string Request(const std::string& vm_id) {
  blimp::v1::GetVmRequest request;
  request.set_vm_id(vm_id);
  return request.SerializeAsString();
}

TEST(GrpcInvalidRequestTest, WithoutItGrpcAnswersInternal) {
  SyncVms sync;
  Served plain(&sync, /*intercept=*/false);
  EXPECT_EQ(plain.Call(kGetVm, kTruncated).error_code(), grpc::StatusCode::INTERNAL);
  CallbackVms callback;
  Served plain_callback(&callback, /*intercept=*/false);
  EXPECT_EQ(plain_callback.Call(kGetVm, kTruncated).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST(GrpcInvalidRequestTest, MalformedRequestsAreInvalidArgument) {
  SyncVms sync;
  Served served(&sync, /*intercept=*/true);
  for (const std::string& bad : {kTruncated, kNotUtf8, kGarbage}) {
    grpc::Status status = served.Call(kGetVm, bad);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(),
              "malformed request to /blimp.v1.VmService/GetVm: the bytes are not a valid "
              "blimp.v1.GetVmRequest (protobuf parse failed)");
  }
}

TEST(GrpcInvalidRequestTest, CallbackServicesToo) {
  CallbackVms callback;
  Served served(&callback, /*intercept=*/true);
  EXPECT_EQ(served.Call(kGetVm, kGarbage).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(served.Call(kGetVm, Request("x")).ok());
}

TEST(GrpcInvalidRequestTest, WellFormedRequestsAndTheirStatusesAreUntouched) {
  SyncVms sync;
  Served served(&sync, /*intercept=*/true);
  EXPECT_TRUE(served.Call(kGetVm, Request("a")).ok());
  // No bytes is a valid (empty) request: vm_id "", not found.
  EXPECT_EQ(served.Call(kGetVm, "").error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status missing = served.Call(kGetVm, Request("b"));
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.error_message(), "no VM");
  // A method the service does not implement stays UNIMPLEMENTED.
  EXPECT_EQ(served.Call("/blimp.v1.VmService/ListVms", "").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(served.Call("/blimp.v1.VmService/NoSuchMethod", "").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace blimp::base
