#include "api/json_strict.h"

#include <string>

#include "absl/strings/str_cat.h"

#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/blimp/v1/config.pb.h"
#include "proto/blimp/v1/vm_service.pb.h"

namespace blimp::api {
namespace {

using google::protobuf::Descriptor;

template <typename T>
absl::Status Check(const std::string& json) {
  return CheckStrictJson(json, *T::descriptor());
}

// `json` is refused for T with a message holding each of `words`.
template <typename T>
void ExpectRefused(const std::string& json, std::initializer_list<const char*> words) {
  absl::Status status = Check<T>(json);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << json;
  for (const char* word : words) {
    EXPECT_NE(status.message().find(word), std::string::npos)
        << json << " -> " << status << " (want '" << word << "')";
  }
}

using blimp::v1::Balloon;
using blimp::v1::BalloonStats;
using blimp::v1::BalloonUpdate;
using blimp::v1::BootSource;
using blimp::v1::HintingStart;
using blimp::v1::ListVmsResponse;
using blimp::v1::MachineConfig;
using blimp::v1::VmConfig;

TEST(JsonStrictTest, AcceptsWhatTheContractWrites) {
  EXPECT_TRUE(Check<VmConfig>(
                  " {\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": "
                  "\"console=ttyS0 \\\"q\\\" \\u00e9 \\ud83d\\ude00 \xc3\xa9\"},\n"
                  "\t\"machine-config\": {\"vcpu_count\": 32, \"mem_size_mib\": 0, "
                  "\"smt\": false},\r\n \"balloon\": {\"amount_mib\": 4294967295, "
                  "\"deflate_on_oom\": true}} ")
                  .ok());
  EXPECT_TRUE(Check<HintingStart>("{}").ok());
  EXPECT_TRUE(Check<BalloonStats>(R"({"swap_in": 18446744073709551615})").ok());
  // Repeated messages and enums (blimpctl reads ToJson's output of these).
  EXPECT_TRUE(Check<ListVmsResponse>(
                  R"({"vms":[{"vm_id":"a","state":"VM_STATE_RUNNING","vmm_pid":-1},)"
                  R"({"vm_id":"b","config":{"machine-config":{"vcpu_count":1}}}]})")
                  .ok());
  EXPECT_TRUE(Check<ListVmsResponse>(R"({"vms":[]})").ok());
}

TEST(JsonStrictTest, TheTopLevelIsOneObject) {
  for (const char* bad : {"", "   ", "[]", "null", "1", "\"x\"", "{", "{} {}", "{} x",
                          "\xef\xbb\xbf{}"}) {
    EXPECT_EQ(Check<Balloon>(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(JsonStrictTest, MalformedSyntaxIsRefusedWithItsPosition) {
  ExpectRefused<Balloon>(R"({"amount_mib": 1,})", {"expected a key", "byte"});
  ExpectRefused<Balloon>(R"({"amount_mib" 1})", {"':'", "amount_mib"});
  ExpectRefused<Balloon>(R"({"amount_mib": 1 "deflate_on_oom": true})", {"','"});
  ExpectRefused<Balloon>(R"({amount_mib: 1})", {"key in double quotes"});
  ExpectRefused<Balloon>(R"({"amount_mib": 01})", {"','"});
  ExpectRefused<Balloon>(R"({"amount_mib": 1.})", {"malformed number"});
  ExpectRefused<Balloon>(R"({"amount_mib": 1e})", {"malformed number"});
  ExpectRefused<Balloon>(R"({"amount_mib": -})", {"malformed number"});
  ExpectRefused<Balloon>(R"({"deflate_on_oom": tru})", {"true or false"});
}

TEST(JsonStrictTest, QuotedIntegersAreRefused) {
  ExpectRefused<MachineConfig>(R"({"vcpu_count": "1"})",
                               {"MachineConfig", "vcpu_count", "without quotes"});
  ExpectRefused<VmConfig>(R"({"balloon": {"amount_mib": "64"}})",
                          {"Balloon", "balloon.amount_mib", "uint32"});
  ExpectRefused<BalloonStats>(R"({"total_memory": "5"})", {"total_memory", "uint64"});
}

TEST(JsonStrictTest, IntegersHaveNoFractionExponentOrMinusZero) {
  for (const char* bad : {"1e2", "1E2", "1e+2", "64.0", "0.5", "1.5e3"}) {
    ExpectRefused<BalloonUpdate>(absl::StrCat(R"({"amount_mib": )", bad, "}"),
                                 {"amount_mib", "no fraction or exponent"});
  }
  ExpectRefused<BalloonUpdate>(R"({"amount_mib": -0})", {"amount_mib", "-0"});
  ExpectRefused<ListVmsResponse>(R"({"vms":[{"vmm_pid": -0}]})", {"vms[0].vmm_pid", "-0"});
}

TEST(JsonStrictTest, IntegersStayInTheirTypesRange) {
  EXPECT_TRUE(Check<BalloonUpdate>(R"({"amount_mib": 4294967295})").ok());
  ExpectRefused<BalloonUpdate>(R"({"amount_mib": 4294967296})",
                               {"amount_mib", "out of range", "4294967295"});
  ExpectRefused<BalloonUpdate>(R"({"amount_mib": -1})", {"amount_mib", "out of range"});
  ExpectRefused<BalloonStats>(R"({"swap_in": 18446744073709551616})",
                              {"swap_in", "out of range for uint64"});
  ExpectRefused<BalloonStats>(R"({"swap_in": -1})", {"swap_in", "out of range"});
  // int32: both ends.
  EXPECT_TRUE(Check<ListVmsResponse>(R"({"vms":[{"vmm_pid": -2147483648}]})").ok());
  ExpectRefused<ListVmsResponse>(R"({"vms":[{"vmm_pid": -2147483649}]})", {"out of range"});
  ExpectRefused<ListVmsResponse>(R"({"vms":[{"vmm_pid": 2147483648}]})", {"out of range"});
  // A megabyte of digits: refused, and the message stays short.
  absl::Status huge = Check<BalloonUpdate>(
      absl::StrCat(R"({"amount_mib": )", std::string(1 << 20, '9'), "}"));
  EXPECT_EQ(huge.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(huge.message().size(), 200u) << huge;
}

TEST(JsonStrictTest, DuplicatedKeysAreRefusedAtEveryLevel) {
  ExpectRefused<VmConfig>(R"({"machine-config":{"vcpu_count":1},"machine-config":{}})",
                          {"duplicate key 'machine-config'", "VmConfig"});
  ExpectRefused<VmConfig>(R"({"machine-config":{"vcpu_count":1,"vcpu_count":1}})",
                          {"duplicate key 'machine-config.vcpu_count'", "MachineConfig"});
  ExpectRefused<ListVmsResponse>(R"({"vms":[{"vm_id":"a"},{"vm_id":"b","vm_id":"c"}]})",
                                 {"duplicate key 'vms[1].vm_id'"});
  // The same key spelled with an escape is the same key.
  ExpectRefused<Balloon>(R"({"amount_mib":1,"amount\u005fmib":2})", {"duplicate key"});
  // Also inside values of well-known types.
  EXPECT_EQ(CheckStrictJson(R"({"a":1,"a":2})", *google::protobuf::Struct::descriptor())
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JsonStrictTest, OnlyContractNamesAreFields) {
  ExpectRefused<Balloon>(R"({"amount": 1})", {"unknown field 'amount'", "Balloon"});
  ExpectRefused<BalloonUpdate>(R"({"amountMib": 1})", {"unknown field 'amountMib'"});
  ExpectRefused<VmConfig>(R"({"boot_source": {}})", {"unknown field 'boot_source'"});
  ExpectRefused<VmConfig>(R"({"bootSource": {}})", {"unknown field 'bootSource'"});
  ExpectRefused<VmConfig>(R"({"balloon": {"deflate_on_oom": true, "x": 1}})",
                          {"unknown field 'balloon.x'", "Balloon"});
}

TEST(JsonStrictTest, BooleansAreTrueOrFalse) {
  for (const char* bad : {"\"true\"", "\"yes\"", "1", "0", "True"}) {
    ExpectRefused<Balloon>(absl::StrCat(R"({"deflate_on_oom": )", bad, "}"),
                           {"Balloon field 'deflate_on_oom'"});
  }
}

TEST(JsonStrictTest, NullIsRefused) {
  ExpectRefused<Balloon>(R"({"deflate_on_oom": null})", {"deflate_on_oom", "null"});
  ExpectRefused<BootSource>(R"({"initrd_path": null})", {"initrd_path", "leave the field out"});
  ExpectRefused<VmConfig>(R"({"balloon": null})", {"balloon", "null"});
  ExpectRefused<ListVmsResponse>(R"({"vms": [null]})", {"vms[0]", "null"});
}

TEST(JsonStrictTest, EachFieldTakesItsOwnKindOfValue) {
  ExpectRefused<BootSource>(R"({"kernel_image_path": 1})", {"kernel_image_path", "string"});
  ExpectRefused<BootSource>(R"({"kernel_image_path": ["/k"]})", {"string", "an array"});
  ExpectRefused<VmConfig>(R"({"boot-source": "/k"})", {"boot-source", "an object"});
  ExpectRefused<ListVmsResponse>(R"({"vms": {}})", {"vms", "expected an array"});
  ExpectRefused<ListVmsResponse>(R"({"vms": [1]})", {"vms[0]", "expected an object"});
  ExpectRefused<ListVmsResponse>(R"({"vms": [{"state": 2}]})", {"vms[0].state", "string"});
  ExpectRefused<MachineConfig>(R"({"vcpu_count": true})", {"vcpu_count", "a boolean"});
}

TEST(JsonStrictTest, StringsAreStrictJsonAndUtf8) {
  // Raw control characters (JSON wants them escaped), also in keys.
  ExpectRefused<BootSource>("{\"kernel_image_path\": \"/k\x01\"}",
                            {"control character 0x01", "kernel_image_path"});
  ExpectRefused<BootSource>("{\"boot_args\": \"a\nb\"}", {"control character 0x0a"});
  ExpectRefused<BootSource>(std::string("{\"boot_args\": \"a\0b\"}", 18), {"0x00"});
  ExpectRefused<BootSource>(R"({"boot_args": "\x"})", {"invalid escape"});
  ExpectRefused<BootSource>(R"({"boot_args": "\u12"})", {"4 hex digits"});
  ExpectRefused<BootSource>(R"({"boot_args": "\ud800"})", {"surrogate"});
  ExpectRefused<BootSource>(R"({"boot_args": "\udc00"})", {"surrogate"});
  ExpectRefused<BootSource>(R"({"boot_args": "abc)", {"unterminated"});
  for (const char* bad : {"\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    ExpectRefused<BootSource>(absl::StrCat("{\"boot_args\": \"", bad, "\"}"), {"UTF-8"});
  }
  // Escaped, control characters (even NUL) are JSON: validate.h refuses
  // them where they matter (paths).
  EXPECT_TRUE(Check<BootSource>(R"({"kernel_image_path": "/k\u0000x\n"})").ok());
}

TEST(JsonStrictTest, NestingIsBounded) {
  const Descriptor& value = *google::protobuf::Struct::descriptor();
  auto nested = [](int depth) {
    return absl::StrCat("{\"a\":", std::string(depth - 1, '['), std::string(depth - 1, ']'),
                        "}");
  };
  EXPECT_TRUE(CheckStrictJson(nested(kMaxJsonDepth), value).ok());
  absl::Status deep = CheckStrictJson(nested(kMaxJsonDepth + 1), value);
  EXPECT_EQ(deep.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(deep.message().find("nested deeper than"), std::string::npos) << deep;
  // A million levels: refused without exhausting the stack.
  EXPECT_FALSE(CheckStrictJson(nested(1000000), value).ok());
}

// Kinds the contract's messages do not use (maps, doubles, int64, repeated
// scalars), in a message built here.
class OtherKindsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
      name: "t.proto" package: "t" syntax: "proto3"
      message_type {
        name: "T"
        field { name: "m" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".t.T.MEntry" }
        field { name: "d" number: 2 label: LABEL_OPTIONAL type: TYPE_DOUBLE }
        field { name: "i" number: 3 label: LABEL_OPTIONAL type: TYPE_INT64 }
        field { name: "b" number: 4 label: LABEL_REPEATED type: TYPE_BOOL }
        nested_type {
          name: "MEntry"
          field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
          field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_UINT32 }
          options { map_entry: true }
        }
      })pb", &file));
    ASSERT_NE(pool_.BuildFile(file), nullptr);
    t_ = pool_.FindMessageTypeByName("t.T");
    ASSERT_NE(t_, nullptr);
  }
  absl::Status Check(const std::string& json) { return CheckStrictJson(json, *t_); }

  google::protobuf::DescriptorPool pool_;
  const Descriptor* t_ = nullptr;
};

TEST_F(OtherKindsTest, MapsHaveUniqueKeysAndTypedValues) {
  EXPECT_TRUE(Check(R"({"m": {"a": 1, "b": 4294967295}})").ok());
  EXPECT_NE(Check(R"({"m": {"a": 1, "a": 2}})").message().find("duplicate key 'm.a'"),
            std::string::npos);
  EXPECT_NE(Check(R"({"m": {"a": "1"}})").message().find("m.a"), std::string::npos);
  EXPECT_NE(Check(R"({"m": {"a": null}})").message().find("null"), std::string::npos);
  EXPECT_NE(Check(R"({"m": []})").message().find("map"), std::string::npos);
}

TEST_F(OtherKindsTest, DoublesTakeAnyNumberInt64ItsRange) {
  EXPECT_TRUE(Check(R"({"d": 1e2, "i": -9223372036854775808})").ok());
  EXPECT_TRUE(Check(R"({"d": -0.5E-3})").ok());
  EXPECT_FALSE(Check(R"({"d": "NaN"})").ok());
  EXPECT_NE(Check(R"({"i": 9223372036854775808})").message().find("out of range for int64"),
            std::string::npos);
  EXPECT_NE(Check(R"({"i": "5"})").message().find("without quotes"), std::string::npos);
}

TEST_F(OtherKindsTest, RepeatedScalarsAreArraysOfThatKind) {
  EXPECT_TRUE(Check(R"({"b": [true, false]})").ok());
  EXPECT_TRUE(Check(R"({"b": []})").ok());
  EXPECT_NE(Check(R"({"b": [true, 1]})").message().find("b[1]"), std::string::npos);
  EXPECT_NE(Check(R"({"b": true})").message().find("expected an array"), std::string::npos);
  EXPECT_NE(Check(R"({"b": [true,]})").message().find("b[1]"), std::string::npos);
}

}  // namespace
}  // namespace blimp::api
